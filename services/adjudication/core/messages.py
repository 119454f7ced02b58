"""Contract messages in, contract messages out: the core's edge.

Why in the core: the stream processor and the offline runner must map a
hospital's visit message to the same transition and a settlement to the same
published message, byte for byte; one pure mapping guarantees it. Amounts
cross here between the wire's ``16,2`` yuan and the core's integer fen.
"""

from __future__ import annotations

from contracts.filing import FilingCreated, FilingRevoked, PersonStatus, RegistrationMessage
from contracts.money import to_fen
from contracts.reference import FilingState, InsuredPerson
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
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.setl_id import derive_setl_id
from services.adjudication.core.visit import VisitState


def command_for(msg: VisitMessage) -> Command:
    """The core command a visit message asks for (``TypeError`` for an unknown class).

    Each message type takes exactly one branch (``test_messages.py``), so their order is
    free: the commonest first, as a missed ``isinstance`` on a pydantic model's class is an
    ABC check (~0.1 µs); a settlement request passed five of them."""
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
        pre = type(msg) is PresettleRequested or (  # an exact type: no ABC check
            type(msg) is not SettlementRequested and isinstance(msg, PresettleRequested)
        )
        return Settle(request, pre=pre)
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
    if isinstance(msg, Discharged):
        return Discharge(msg.mdtrt_id)
    if isinstance(msg, ReversalRequested):
        setl_id = msg.setl_id or derive_setl_id(msg.fixmedins_code, msg.orig_medins_setl_id or "")
        return Reverse(setl_id, msg.inf_time)
    if isinstance(msg, FeesWithdrawn):
        return WithdrawFees(msg.mdtrt_id, msg.feedetl_sns or None)
    if isinstance(msg, VisitCancelled):
        return CancelVisit(msg.mdtrt_id)
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
