"""Contract messages in, contract messages out: the core's edge.

Why in the core: the stream processor and the offline runner must map a
hospital's visit message to the same transition and a settlement to the same
published message, byte for byte; one pure mapping guarantees it. Amounts
cross here between the wire's ``16,2`` yuan and the core's integer fen.
"""

from __future__ import annotations

import datetime as dt

from contracts.codes import ClrType, ClrWay, FundPayType, Insutype, MedType, RefdSetlFlag
from contracts.filing import FilingCreated, FilingRevoked, PersonStatus, RegistrationMessage
from contracts.money import to_fen
from contracts.reference import FilingState, InsuredPerson
from contracts.settlement import Reversed, SetlDetail, SetlInfo, Settled
from contracts.visit import (
    Discharged,
    FeesUploaded,
    FeesWithdrawn,
    PresettleRequested,
    ReversalRequested,
    SettlementRequested,
    VisitCancelled,
    VisitMessage,
    VisitRegistered,
)
from services.adjudication.core.adjudicator import SettleRequest, business_date
from services.adjudication.core.commands import (
    CancelVisit,
    Command,
    Discharge,
    RecordFiling,
    RegisterVisit,
    Reverse,
    RevokeFiling,
    Settle,
    UploadFees,
    WithdrawFees,
)
from services.adjudication.core.money import fen_to_yuan
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.setl_id import derive_setl_id
from services.adjudication.core.settlement import Reversal, Settlement
from services.adjudication.core.visit import VisitState


def command_for(msg: VisitMessage) -> Command:
    """The core command a visit message asks for (``TypeError`` for an unknown class)."""
    if isinstance(msg, VisitRegistered):
        return RegisterVisit(
            VisitState(
                mdtrt_id=msg.mdtrt_id,
                psn_no=msg.psn_no,
                insuplc_admdvs=msg.insuplc_admdvs,
                fixmedins_code=msg.fixmedins_code,
                mdtrtarea_admvs=msg.mdtrtarea_admvs,
                med_type=str(msg.med_type),
                insutype=str(msg.insutype),
                begndate=business_date(msg.begntime),
                diseases=msg.dise_codg,
            )
        )
    if isinstance(msg, FeesUploaded):
        lines = tuple(
            FeeLine(
                line.feedetl_sn,
                line.med_list_codg,
                line.cnt,
                to_fen(line.pric),
                to_fen(line.det_item_fee_sumamt),
                business_date(line.fee_ocur_time),
            )
            for line in msg.feedetail
        )
        return UploadFees(msg.mdtrt_id, lines)
    if isinstance(msg, FeesWithdrawn):
        return WithdrawFees(msg.mdtrt_id, msg.feedetl_sns or None)
    if isinstance(msg, Discharged):
        return Discharge(msg.mdtrt_id)
    if isinstance(msg, VisitCancelled):
        return CancelVisit(msg.mdtrt_id)
    if isinstance(msg, SettlementRequested):  # PresettleRequested is a subclass
        request = SettleRequest(
            psn_no=msg.psn_no,
            mdtrt_id=msg.mdtrt_id,
            fixmedins_code=msg.fixmedins_code,
            medins_setl_id=msg.medins_setl_id,
            medfee_sumamt_fen=to_fen(msg.medfee_sumamt),
            setl_time=msg.inf_time,
            insutype=str(msg.insutype),
            acct_used_flag=msg.acct_used_flag == "1",
            mid_setl_flag=msg.mid_setl_flag == "1",
        )
        return Settle(request, pre=isinstance(msg, PresettleRequested))
    if isinstance(msg, ReversalRequested):
        setl_id = msg.setl_id or derive_setl_id(msg.fixmedins_code, msg.orig_medins_setl_id or "")
        return Reverse(setl_id, msg.inf_time)
    raise TypeError(f"no command for {type(msg).__name__}")


def registration_command(msg: RegistrationMessage) -> Command | InsuredPerson:
    """The command a registration message asks for; a person status (1101) is returned
    as the person record, which the adapter keeps in its own table."""
    if isinstance(msg, PersonStatus):
        return msg.person
    if isinstance(msg, FilingCreated):
        filing = FilingState(
            filing_id=msg.filing_id,
            psn_no=msg.psn_no,
            insuplc_admdvs=msg.insuplc_admdvs,
            kind=msg.filing_type.policy_kind,
            mdtrtarea_admvs=msg.mdtrtarea_admvs,
            begndate=msg.begndate,
            enddate=msg.enddate,
        )
        return RecordFiling(filing)
    if isinstance(msg, FilingRevoked):
        return RevokeFiling(msg.filing_id, msg.revoked_on)
    raise TypeError(f"no command for {type(msg).__name__}")


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
