"""Prepayments (预付金) and the clearing year's turn: sizing one flow, January's re-set of
every flow, whether the re-set is made, and the year-end clearing deadline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.clearing.core.calendar import YearEnd, year_end
from services.clearing.core.periods import CHINA, parse_scope
from services.clearing.core.prepayment import (
    Thresholds,
    YearlyPrepayment,
    january_reset,
    prepayment_size,
    q4_periods,
    reset_due,
)
from services.clearing.ports import ClearingUnitOfWork, PeriodRow


def china_today() -> dt.date:
    """Today's date in China time (what every clearing deadline is counted in)."""
    return dt.datetime.now(CHINA).date()


async def set_prepayment(
    uow: ClearingUnitOfWork,
    year: int,
    scope: str,
    payer: str,
    payee: str,
    amount_fen: int | None,
    thresholds: Thresholds = Thresholds(),
) -> int:
    """Set one flow's prepayment for ``year``; without an amount, size it as 2 × last year's
    Q4 monthly average of the flow's cleared fund payments (a month without traffic counts
    as zero). Returns the amount (fen). One transaction, no lock."""
    parse_scope(scope)
    async with uow.transaction() as repo:
        if amount_fen is None:
            months = q4_periods(year)
            fund = (await repo.q4_fund(scope, months, (payer, payee))).get((payer, payee), {})
            amount_fen = prepayment_size([fund.get(m, 0) for m in months], thresholds)
        await repo.set_prepayments(year, scope, {(payer, payee): amount_fen}, thresholds)
    return amount_fen


async def reset_prepayments(
    uow: ClearingUnitOfWork,
    year: int,
    scope: str,
    thresholds: Thresholds = Thresholds(),
    *,
    write: bool = True,
) -> list[YearlyPrepayment]:
    """Size every flow of ``scope`` for ``year`` from last year's fourth-quarter positions
    (and re-set to zero the flows that held a prepayment last year without Q4 traffic);
    with ``write``, upsert them all in one transaction (re-running gives the same rows)."""
    parse_scope(scope)
    async with uow.transaction() as repo:
        q4 = await repo.q4_fund(scope, q4_periods(year))
        previous = await repo.prepayment_flows(year - 1, scope)
        plan = january_reset(year, q4, previous, thresholds)
        if write and plan:
            amounts = {(p.payer, p.payee): p.amount_fen for p in plan}
            await repo.set_prepayments(year, scope, amounts, thresholds)
    return plan


@dataclass(frozen=True, slots=True)
class ResetState:
    """Whether ``year``'s January re-set has been made, per scope."""

    year: int
    scope: str
    due: dt.date
    flows_last_year: int
    flows_set: int

    def state(self, today: dt.date) -> str:
        """``done``, ``not needed`` (no prepayment last year), ``due`` or ``OVERDUE``."""
        if self.flows_set:
            return "done"
        if not self.flows_last_year:
            return "not needed"
        return "OVERDUE" if today > self.due else "due"


async def reset_states(uow: ClearingUnitOfWork, year: int) -> list[ResetState]:
    """Every scope that held prepayments last year or has this year's: is the re-set made?"""
    async with uow.transaction() as repo:
        counts = await repo.prepayment_counts(year)
    return [ResetState(year, scope, reset_due(year), last, now) for scope, last, now in counts]


async def year_end_status(uow: ClearingUnitOfWork, today: dt.date) -> list[YearEnd]:
    """Earlier years with periods not SETTLED (a period with positions and no state is OPEN)."""
    async with uow.transaction() as repo:
        statuses = await repo.statuses_before(today.year)
    return year_end(today, statuses)


@dataclass(frozen=True, slots=True)
class Overview:
    """``yidi clearing status``: the periods past OPEN, the year-end rule, the re-set."""

    today: dt.date
    periods: list[PeriodRow]
    years: list[YearEnd]
    resets: list[ResetState]


async def overview(uow: ClearingUnitOfWork, today: dt.date) -> Overview:
    async with uow.transaction(snapshot=True) as repo:
        periods = await repo.periods()
    return Overview(
        today, periods, await year_end_status(uow, today), await reset_states(uow, today.year)
    )
