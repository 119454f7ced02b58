"""Corrections of closed statements: what a statement issued against what its settlements
give now, carried once into the first period open after its own month."""

from __future__ import annotations

from services.clearing.core import periods as P
from services.clearing.core.corrections import CorrectionLine, correction_lines
from services.clearing.core.statement import build, pair_amounts
from services.clearing.ports import ClearingRepository

ISSUED: tuple[P.Status, ...] = ("CLOSED", "CONFIRMED", "SETTLED")


async def correction_due(
    repo: ClearingRepository, period: str, scope: str
) -> tuple[CorrectionLine, ...]:
    """A closed period's statement against what its settlements give now (the running
    positions of the month, which a rebuild re-derives under today's rule), less what
    earlier statements already carried. Empty for a period without a statement."""
    issued = await repo.issued_pairs(period, scope)
    if issued is None:
        return ()
    recomputed = pair_amounts(
        build(
            period, scope, await repo.position_totals(period, scope), {},
            await repo.deduction_totals(period, scope),
        )
    )  # fmt: skip
    carried = await repo.carried_from(period, scope)
    return correction_lines(period, issued, recomputed, carried)


async def carried_into(
    repo: ClearingRepository, period: str, scope: str, *, closing: bool = False
) -> tuple[CorrectionLine, ...]:
    """The corrections of earlier closed periods that ``period`` carries: those whose first
    open period after their own month is ``period`` (``closing``: it is being closed now,
    so it still counts as open)."""
    statuses = dict((await repo.period_states([scope])).statuses[scope])
    if closing:
        statuses[period] = "OPEN"
    lines: list[CorrectionLine] = []
    for origin in sorted(p for p, st in statuses.items() if st in ISSUED and p < period):
        if P.assign(P.next_period(origin), statuses).period == period:
            lines.extend(await correction_due(repo, origin, scope))
    return tuple(lines)


async def carried_to(repo: ClearingRepository, period: str, scope: str) -> str:
    """The period a closed ``period``'s correction would be carried into now."""
    states = await repo.period_states([scope])
    return P.assign(P.next_period(period), states.statuses[scope]).period
