"""Decoded messages -> the core's compact events (``None``: nothing a rule reads).

Dates are Asia/Shanghai business dates of the message's own times (admission,
discharge, fee, settlement), never the time the record arrived.
"""

from __future__ import annotations

import datetime as dt

from contracts.common import Contract, person_key
from contracts.money import to_fen
from contracts.settlement import Reversed, Settled
from contracts.visit import (
    Discharged,
    FeesUploaded,
    FeesWithdrawn,
    VisitCancelled,
    VisitRegistered,
    business_day,
)
from services.supervision.core.model import (
    Admission,
    Cancel,
    Claim,
    Discharge,
    Fees,
    Line,
    Reversal,
    SettlementEvent,
    VisitEvent,
    Withdraw,
)
from services.supervision.fee_lines import PreparedFees


def visit_event(m: Contract) -> VisitEvent | None:
    """A fee upload read by ``fee_lines.prepare`` carries its core lines already."""
    if type(m) is PreparedFees:
        return Fees(
            person_key(m.insuplc_admdvs, m.psn_no), m.mdtrt_id, m.fixmedins_code, m.feedetail
        )
    if isinstance(m, VisitRegistered):
        return Admission(
            person_key(m.insuplc_admdvs, m.psn_no), m.mdtrt_id, m.fixmedins_code,
            m.mdtrtarea_admvs, str(m.med_type), business_day(m.begntime), tuple(m.dise_codg),
        )  # fmt: skip
    if isinstance(m, Discharged):
        return Discharge(
            person_key(m.insuplc_admdvs, m.psn_no), m.mdtrt_id, business_day(m.endtime)
        )
    if isinstance(m, VisitCancelled):
        return Cancel(person_key(m.insuplc_admdvs, m.psn_no), m.mdtrt_id)
    if isinstance(m, FeesUploaded):
        # an upload's lines mostly share a few fee times: each converted once
        days: dict[dt.datetime, dt.date] = {}
        lines = tuple(
            Line(
                x.feedetl_sn,
                x.med_list_codg,
                x.cnt,
                to_fen(x.det_item_fee_sumamt),
                days[t] if (t := x.fee_ocur_time) in days else days.setdefault(t, business_day(t)),
            )
            for x in m.feedetail
        )
        return Fees(person_key(m.insuplc_admdvs, m.psn_no), m.mdtrt_id, m.fixmedins_code, lines)
    if isinstance(m, FeesWithdrawn):
        return Withdraw(person_key(m.insuplc_admdvs, m.psn_no), m.mdtrt_id, tuple(m.feedetl_sns))
    return None


def settlement_event(m: Contract) -> SettlementEvent | None:
    if isinstance(m, Settled) and not m.pre_settlement:
        info = m.setlinfo
        return Claim(
            person_key(m.insuplc_admdvs, info.psn_no), info.setl_id, info.mdtrt_id,
            m.fixmedins_code, m.mdtrtarea_admvs, str(info.med_type), m.setl_date,
            to_fen(info.medfee_sumamt), to_fen(info.fund_pay_sumamt),
        )  # fmt: skip
    if isinstance(m, Reversed) and m.orig_setl_id is not None:
        return Reversal(
            person_key(m.insuplc_admdvs, m.setlinfo.psn_no), m.orig_setl_id, m.setl_date
        )
    return None
