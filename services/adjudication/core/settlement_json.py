"""A settlement or reversal straight to the canonical bytes of its contract message.

Why not through ``settled_message``: building the ``Settled`` model re-validates some
forty values the core has just computed, whose identities ``check_identities`` has
already asserted on this very result, and dumping it turns every amount into a Decimal
and back; the stream task needs each result twice (the ledger feed and the sender's
ack). This writes the same JSON from the integers in one ``orjson`` call, about twenty
times cheaper. What the core does not guarantee by construction is still checked, with
plain comparisons: the formats of strings that come from reference data or a person
record, the wire bounds of every amount, the codes' enums, and the fund rows adding up
the way the contract counts them. A failure is a yidi bug (``WireViolation``), as a
``ValidationError`` from the model was. ``settled_message`` / ``reversed_message`` stay
the reference: the offline runner uses them, and a test compares both paths' bytes for
every settlement, pre-settlement and reversal of a simulated day.
"""

from __future__ import annotations

import datetime as dt
import re
from operator import attrgetter
from typing import Any, get_args

import orjson
from pydantic_core import to_jsonable_python

from contracts.codes import ClrType, ClrWay, FundPayType, Insutype, MedType, RefdSetlFlag
from contracts.settlement import Reversed, Route, SetlDetail, SetlInfo, Settled
from services.adjudication.core.breakdown import AMOUNT_FIELDS
from services.adjudication.core.money import fen_to_yuan
from services.adjudication.core.settlement import Reversal, Settlement, YearPart

SETTLED_TYPE = Settled.ce_type
REVERSED_TYPE = Reversed.ce_type
MAX_FEN = 10**16
"""``Money`` on the wire: at most 14 integer digits and 2 places, never negative."""
MAX_DETAILS = 20
MAX_SHORT_TEXT = 200
MAX_CODE = 50
_CODE = re.compile(r"[0-9A-Za-z.\-_]+")
_INSUTYPES = frozenset(m.value for m in Insutype)
_MED_TYPES = frozenset(m.value for m in MedType)
_CLR_TYPES = frozenset(m.value for m in ClrType)
_CLR_WAYS = frozenset(m.value for m in ClrWay)
_FUND_TYPES = frozenset(m.value for m in FundPayType)
_PERSONAL_ACCOUNT = FundPayType.PERSONAL_ACCOUNT.value
_ROUTES: frozenset[str] = frozenset(get_args(Route))


_CENTS = tuple(f".{cents:02d}" for cents in range(100))
_NORMAL = RefdSetlFlag.NORMAL.value
_REFUND = RefdSetlFlag.REFUND.value
_SETLINFO_FIELDS = (
    *AMOUNT_FIELDS, "mdtrt_id", "setl_id", "psn_no", "insutype", "psn_type", "med_type",
    "setl_time", "medins_setl_id", "clr_optins", "clr_way", "clr_type",
)  # fmt: skip
_RESULT_FIELDS = (
    "setlinfo", "setldetail", "fixmedins_code", "insuplc_admdvs", "mdtrtarea_admvs",
    "setl_date", "route", "policy_version", "catalog_version", "policy_carried", "year_parts",
    "pre_settlement", "refd_setl_flag", "orig_setl_id",
)  # fmt: skip
_SETLINFO: dict[str, Any] = dict.fromkeys(sorted(_SETLINFO_FIELDS))
_BODY: dict[str, Any] = dict.fromkeys(sorted(_RESULT_FIELDS))
"""Every object's keys in sorted order, values to be filled in (assigning to a key keeps its
place): the canonical form's sorted keys without ``OPT_SORT_KEYS`` (a settlement's JSON 4.0
-> 1.3 µs). A key assigned that is not here would land last: the byte-equality tests fail."""


class WireViolation(ValueError):
    """A computed result the settlement contract would refuse: a yidi bug, never input's."""


def settled_json(s: Settlement) -> bytes:
    """``canonical_bytes(settled_message(s))``, without the models."""
    body = _result(s, s.setl_id, time_json(s.setl_time), s.setl_date)
    body["refd_setl_flag"] = _NORMAL
    body["orig_setl_id"] = None
    return orjson.dumps(body)


def reversed_json(r: Reversal) -> bytes:
    """``canonical_bytes(reversed_message(r))``, without the models."""
    body = _result(r.original, r.setl_id, time_json(r.setl_time), r.setl_date)
    body["refd_setl_flag"] = _REFUND
    body["orig_setl_id"] = r.orig_setl_id
    return orjson.dumps(body)


_CST = dt.timedelta(hours=8)


def time_json(when: dt.datetime) -> Any:
    """What to hand ``orjson`` for an aware time so that it writes pydantic's text. A +08:00
    time (nearly every request's) as it is: orjson writes it as pydantic does, without the
    text built first; any other offset as pydantic's text (``Z`` for UTC, an offset's
    seconds). A date needs nothing: orjson writes every date as its ``isoformat``.
    ``tests/unit/adjudication/test_settlement_times.py`` holds both (hypothesis)."""
    return when if when.utcoffset() == _CST else to_jsonable_python(when)


def _yuan(fen: int) -> str:
    """Non-negative fen as the wire's two-place yuan (what ``Money`` dumps: "0.05", "12.30")."""
    return f"{fen // 100}{_CENTS[fen % 100]}"  # 2x the speed of formatting the cents


def _amounts(values: tuple[int, ...], what: str) -> None:
    if min(values) < 0 or max(values) >= MAX_FEN:
        raise WireViolation(f"an amount of {what} is outside the wire's 16,2")


def _code(value: str, field: str) -> str:
    if len(value) > MAX_CODE or _CODE.fullmatch(value) is None:
        raise WireViolation(f"{field} is not a code")
    return value


def _member(value: str, allowed: frozenset[str], field: str) -> str:
    if value not in allowed:
        raise WireViolation(f"{field} {value!r} is not a known code")
    return value


def _check_identities(s: Settlement) -> None:
    """``SetlInfo``'s identities, as the contract checks them (the core asserted them when it
    computed the result; a result restored from the changelog is checked again here)."""
    b = s.breakdown
    funds = b.hifp_pay + b.cvlserv_pay + b.hifes_pay + b.hifmi_pay + b.hifob_pay + b.maf_pay
    parts = b.fulamt_ownpay_amt + b.overlmt_selfpay + b.preselfpay_amt + b.inscp_scp_amt
    if (
        b.fund_pay_sumamt != funds + b.oth_pay
        or b.psn_part_amt != b.medfee_sumamt - b.fund_pay_sumamt - b.hosp_part_amt
        or b.psn_part_amt != b.acct_pay + b.psn_cash_pay
        or b.medfee_sumamt != parts
    ):
        raise WireViolation(f"settlement {s.setl_id} breaks an identity of setlinfo")


_AMOUNTS_OF = attrgetter(*AMOUNT_FIELDS)
"""Every ``Breakdown`` amount, in ``AMOUNT_FIELDS`` order: each is the ``setlinfo`` field of
the same name."""


def _result(s: Settlement, setl_id: str, setl_time: Any, setl_date: dt.date) -> dict[str, Any]:
    """Every field but the flag and ``orig_setl_id``: what a settlement and its reversal share."""
    b = s.breakdown
    _check_identities(s)
    if len(s.details) > MAX_DETAILS:
        raise WireViolation(f"{len(s.details)} setldetail rows")
    details = []
    funds = 0
    for d in s.details:
        if len(d.setl_proc_info) > MAX_SHORT_TEXT:
            raise WireViolation("setl_proc_info is too long")
        _member(d.fund_pay_type, _FUND_TYPES, "fund_pay_type")
        _amounts((d.inscp_scp_amt, d.crt_payb_lmt_amt, d.fund_payamt), "setldetail")
        if d.fund_pay_type != _PERSONAL_ACCOUNT:
            funds += d.fund_payamt
        details.append(
            {  # sorted keys (see ``_SETLINFO``)
                "crt_payb_lmt_amt": _yuan(d.crt_payb_lmt_amt),
                "fund_pay_type": d.fund_pay_type,
                "fund_payamt": _yuan(d.fund_payamt),
                "inscp_scp_amt": _yuan(d.inscp_scp_amt),
                "setl_proc_info": d.setl_proc_info,
            }
        )
    if details and funds != b.fund_pay_sumamt:
        raise WireViolation("setldetail fund rows do not add up to fund_pay_sumamt")
    amounts: tuple[int, ...] = _AMOUNTS_OF(b)
    _amounts(amounts, "setlinfo")
    setlinfo = _SETLINFO.copy()
    cents = _CENTS  # ``_yuan`` inline: ``map`` would call into a new frame per amount
    setlinfo.update(
        zip(AMOUNT_FIELDS, [f"{fen // 100}{cents[fen % 100]}" for fen in amounts], strict=True)
    )
    setlinfo["mdtrt_id"] = s.mdtrt_id
    setlinfo["setl_id"] = setl_id
    setlinfo["psn_no"] = s.psn_no
    setlinfo["insutype"] = _member(s.insutype, _INSUTYPES, "insutype")
    setlinfo["psn_type"] = _code(s.psn_type, "psn_type")
    setlinfo["med_type"] = _member(s.med_type, _MED_TYPES, "med_type")
    setlinfo["setl_time"] = setl_time
    setlinfo["medins_setl_id"] = s.medins_setl_id
    setlinfo["clr_optins"] = s.clr_optins
    setlinfo["clr_way"] = _member(s.clr_way, _CLR_WAYS, "clr_way")
    setlinfo["clr_type"] = _member(s.clr_type, _CLR_TYPES, "clr_type")
    body = _BODY.copy()
    body["setlinfo"] = setlinfo
    body["setldetail"] = details
    body["fixmedins_code"] = s.fixmedins_code
    body["insuplc_admdvs"] = s.insuplc_admdvs
    body["mdtrtarea_admvs"] = s.mdtrtarea_admvs
    body["setl_date"] = setl_date
    body["route"] = _member(s.route, _ROUTES, "route")
    body["policy_version"] = _code(s.policy_version, "policy_version")
    body["catalog_version"] = _code(s.catalog_version, "catalog_version")
    body["policy_carried"] = s.policy_carried
    body["year_parts"] = [_year_part(p) for p in s.year_parts]
    body["pre_settlement"] = s.pre_settlement
    return body


def _year_part(p: YearPart) -> dict[str, Any]:
    _amounts((p.medfee_sumamt, p.act_pay_dedc, p.fund_pay_sumamt), "year_parts")
    return {  # sorted keys (see ``_SETLINFO``)
        "act_pay_dedc": _yuan(p.act_pay_dedc),
        "fund_pay_sumamt": _yuan(p.fund_pay_sumamt),
        "medfee_sumamt": _yuan(p.medfee_sumamt),
        "policy_carried": p.policy_carried,
        "policy_version": _code(p.policy_version, "year_parts.policy_version"),
        "year": p.year,
    }


# -- the reference: the contract models (the fast path above must equal their canonical bytes)


def _setlinfo(s: Settlement, setl_id: str, setl_time: dt.datetime) -> SetlInfo:
    b = s.breakdown

    def y(fen: int) -> str:
        return str(fen_to_yuan(fen))

    return SetlInfo.model_validate(
        {
            "mdtrt_id": s.mdtrt_id,
            "setl_id": setl_id,
            "psn_no": s.psn_no,
            "insutype": Insutype(s.insutype),
            "psn_type": s.psn_type,
            "med_type": MedType(s.med_type),
            "setl_time": setl_time,
            "medfee_sumamt": y(b.medfee_sumamt),
            "fulamt_ownpay_amt": y(b.fulamt_ownpay_amt),
            "overlmt_selfpay": y(b.overlmt_selfpay),
            "preselfpay_amt": y(b.preselfpay_amt),
            "inscp_scp_amt": y(b.inscp_scp_amt),
            "act_pay_dedc": y(b.act_pay_dedc),
            "hifp_pay": y(b.hifp_pay),
            "pool_prop_selfpay": y(b.pool_prop_selfpay),
            "cvlserv_pay": y(b.cvlserv_pay),
            "hifes_pay": y(b.hifes_pay),
            "hifmi_pay": y(b.hifmi_pay),
            "hifob_pay": y(b.hifob_pay),
            "maf_pay": y(b.maf_pay),
            "oth_pay": y(b.oth_pay),
            "fund_pay_sumamt": y(b.fund_pay_sumamt),
            "psn_part_amt": y(b.psn_part_amt),
            "acct_pay": y(b.acct_pay),
            "psn_cash_pay": y(b.psn_cash_pay),
            "hosp_part_amt": y(b.hosp_part_amt),
            "balc": y(b.balc),
            "acct_mulaid_pay": y(b.acct_mulaid_pay),
            "medins_setl_id": s.medins_setl_id,
            "clr_optins": s.clr_optins,
            "clr_way": ClrWay(s.clr_way),
            "clr_type": ClrType(s.clr_type),
        }
    )


def _result_fields(s: Settlement) -> dict[str, object]:
    return {
        "setldetail": tuple(
            SetlDetail(
                fund_pay_type=FundPayType(d.fund_pay_type),
                inscp_scp_amt=str(fen_to_yuan(d.inscp_scp_amt)),
                crt_payb_lmt_amt=str(fen_to_yuan(d.crt_payb_lmt_amt)),
                fund_payamt=str(fen_to_yuan(d.fund_payamt)),
                setl_proc_info=d.setl_proc_info,
            )
            for d in s.details
        ),
        "fixmedins_code": s.fixmedins_code,
        "insuplc_admdvs": s.insuplc_admdvs,
        "mdtrtarea_admvs": s.mdtrtarea_admvs,
        "route": s.route,
        "policy_version": s.policy_version,
        "catalog_version": s.catalog_version,
        "policy_carried": s.policy_carried,
        "year_parts": tuple(
            {
                "year": p.year,
                "policy_version": p.policy_version,
                "policy_carried": p.policy_carried,
                "medfee_sumamt": str(fen_to_yuan(p.medfee_sumamt)),
                "act_pay_dedc": str(fen_to_yuan(p.act_pay_dedc)),
                "fund_pay_sumamt": str(fen_to_yuan(p.fund_pay_sumamt)),
            }
            for p in s.year_parts
        ),
        "pre_settlement": s.pre_settlement,
    }


def settled_message(s: Settlement) -> Settled:
    """The ledger-feed message of a settlement or pre-settlement."""
    return Settled.model_validate(
        {
            "setlinfo": _setlinfo(s, s.setl_id, s.setl_time),
            "setl_date": s.setl_date,
            "refd_setl_flag": RefdSetlFlag.NORMAL,
            **_result_fields(s),
        }
    )


def reversed_message(r: Reversal) -> Reversed:
    """The reversal: the original's amounts under the reversal's id, time and date."""
    return Reversed.model_validate(
        {
            "setlinfo": _setlinfo(r.original, r.setl_id, r.setl_time),
            "setl_date": r.setl_date,
            "refd_setl_flag": RefdSetlFlag.REFUND,
            "orig_setl_id": r.orig_setl_id,
            **_result_fields(r.original),
        }
    )
