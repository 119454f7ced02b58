"""Audit deductions (审核扣款): a treatment-side agency's deduction applied to the period open
when it arrives. The rules are ``core/deductions.py``; this is the orchestration over the
clearing unit of work."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import structlog

from contracts.clearing import AuditDeduction
from contracts.money import to_fen
from contracts.pools import PoolingRegions
from events.wire.codec import canonical_bytes
from services.clearing.core.deductions import Deduction, accept, same_deduction
from services.clearing.ports import ClearingUnitOfWork, DeductionMeta

log = structlog.get_logger("yidi.clearing")


@dataclass(frozen=True, slots=True)
class Applied:
    deduction: Deduction
    new: bool
    """False: the same deduction (same id, same body) was applied before; nothing changed."""


def body_hash(message: AuditDeduction) -> str:
    """The deduction's identity for repeats: its canonical body, whatever envelope it came in."""
    return hashlib.sha256(canonical_bytes(message)).hexdigest()


async def deduct(
    uow: ClearingUnitOfWork,
    message: AuditDeduction,
    ce_id: str,
    pools: PoolingRegions | None = None,
) -> Applied:
    """Apply one deduction, or raise its typed refusal (``core.deductions``).

    Needs one transaction under the *exclusive* clearing lock: the period it lands in is
    read as a close would read it, so a deduction never lands in a month that is freezing
    (a CLOSING month is no longer open: the deduction goes to the next one), and two
    deductions of one settlement never both fit in what only one of them leaves."""
    digest = body_hash(message)
    async with uow.transaction("exclusive") as repo:
        stored = await repo.deduction(message.participant, message.deduction_id)
        if stored is not None:
            same_deduction(stored, digest)
            return Applied(stored, False)
        settlement = await repo.cleared_settlement(message.setl_id)
        statuses = (
            {}
            if settlement is None
            else (await repo.period_states([settlement.scope])).statuses[settlement.scope]
        )
        d = accept(
            participant=message.participant, deduction_id=message.deduction_id,
            amount_fen=to_fen(message.amount), reason=str(message.reason), body_sha256=digest,
            settlement=settlement, setl_id=message.setl_id,
            deducted_fen=await repo.deducted_fen(message.setl_id), statuses=statuses,
            pools=pools,
        )  # fmt: skip
        await repo.add_deduction(
            d, DeductionMeta(ce_id, message.issued_at, message.alert_id, message.memo)
        )
    log.info("clearing_deduction_applied", deduction_id=d.deduction_id, period=d.period,
             origin_period=d.origin_period, scope=d.scope, payer=d.payer, payee=d.payee,
             reason=d.reason)  # fmt: skip
    return Applied(d, True)
