"""Audit deductions (审核扣款, DOMAIN.md sections 6 and 8, Arts. 43, 54-59).

The treatment side's audit rejects part of a settlement's fund payment; the home side does
not pay it. A deduction is applied to the clearing period that is OPEN when it arrives, at
or after the month the settlement itself was cleared in: while that month is open it goes
there; once it has closed (a closed statement never changes) it goes to the next open month,
marked as belonging to the earlier one — as a late settlement does (``periods.assign``).

Pure: the rules that accept or refuse a deduction, given what clearing knows of the
settlement and of earlier deductions. Refusals are ``ClearingError`` types with stable codes;
the command handler turns them into a rejected ack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.pools import PoolingRegions
from services.clearing.core import periods as P
from services.clearing.core.errors import ClearingError


class DeductionError(ClearingError):
    code = "E_DEDUCTION"


class UnknownSettlement(DeductionError):
    """No cleared settlement has this ``setl_id`` (never seen, a local one, or a reversal's id)."""

    code = "E_DEDUCTION_UNKNOWN_SETTLEMENT"


class SettlementReversed(DeductionError):
    """The settlement was reversed: nothing of it is paid, so nothing can be deducted."""

    code = "E_DEDUCTION_REVERSED"


class AmountTooLarge(DeductionError):
    """Above what is left of the settlement's fund payment after earlier deductions."""

    code = "E_DEDUCTION_AMOUNT"


class NotTreatmentSide(DeductionError):
    """Only the treatment side's agency audits its institutions' costs."""

    code = "E_DEDUCTION_AGENCY"


class DeductionIdReused(DeductionError):
    """The agency used this ``deduction_id`` before for another deduction; the first stands."""

    code = "E_DEDUCTION_ID_REUSED"


@dataclass(frozen=True, slots=True)
class ClearedSettlement:
    """What clearing knows of a settlement it cleared (its entry), and whether it was reversed."""

    setl_id: str
    period: str
    """The clearing month the settlement itself was placed in."""
    scope: str
    home: str
    treatment: str
    payer: str
    payee: str
    fund_fen: int
    reversed: bool


@dataclass(frozen=True, slots=True)
class Deduction:
    """An accepted deduction as stored: where it is cleared and which month it belongs to."""

    participant: str
    deduction_id: str
    setl_id: str
    amount_fen: int
    reason: str
    period: str
    origin_period: str
    scope: str
    payer: str
    payee: str
    body_sha256: str
    kind: str = "deduction"
    """``return``: given back with a later reversal of its settlement (pair turned round)."""

    @property
    def late(self) -> bool:
        return self.period != self.origin_period


def treatment_sides(s: ClearedSettlement, pools: PoolingRegions | None) -> frozenset[str]:
    """The agencies that may deduct: the treatment division's own, its pooling region's, and
    the participant paid on the statement (the province nationally). Never the home side:
    a cleared flow's home and treatment pools (and provinces, nationally) differ."""
    sides = {s.treatment, s.payee}
    if pools is not None:
        sides.add(pools.pool_of(s.treatment))
    return frozenset(sides)


def accept(
    *,
    participant: str,
    deduction_id: str,
    amount_fen: int,
    reason: str,
    body_sha256: str,
    settlement: ClearedSettlement | None,
    setl_id: str,
    deducted_fen: int,
    statuses: Mapping[str, P.Status],
    pools: PoolingRegions | None = None,
) -> Deduction:
    """The deduction to store, or a typed refusal.

    ``deducted_fen``: the settlement's earlier deductions; ``statuses``: the periods of the
    settlement's scope (a period without one is OPEN). Checks, in order: the settlement is
    known and a settlement (not a reversal), not reversed, the agency is its treatment side,
    and the amount fits in what is left of the fund payment.
    """
    if settlement is None:
        raise UnknownSettlement(f"no cleared settlement {setl_id}")
    if settlement.reversed:
        raise SettlementReversed(f"settlement {setl_id} was reversed")
    if participant not in treatment_sides(settlement, pools):
        raise NotTreatmentSide(
            f"agency AG{participant} is not the treatment side of {setl_id} "
            f"(treated in {settlement.treatment})"
        )
    left = settlement.fund_fen - deducted_fen
    if amount_fen > left:
        raise AmountTooLarge(
            f"deduction {_yuan(amount_fen)} exceeds what is left of {setl_id}'s fund payment: "
            f"{_yuan(left)} of {_yuan(settlement.fund_fen)}"
        )
    at = P.assign(settlement.period, statuses)
    return Deduction(
        participant, deduction_id, setl_id, amount_fen, reason, at.period, at.natural_period,
        settlement.scope, settlement.payer, settlement.payee, body_sha256,
    )  # fmt: skip


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def same_deduction(stored: Deduction, body_sha256: str) -> bool:
    """A deduction id seen before: the same body is a repeat (applied once), another is refused."""
    if stored.body_sha256 != body_sha256:
        raise DeductionIdReused(
            f"deduction {stored.deduction_id} of AG{stored.participant} was issued before "
            "with another body; the first stands"
        )
    return True
