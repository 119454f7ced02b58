"""The clearing year's turn: January's prepayment re-set and the year-end clearing deadline.

Thin adapter over ``core.prepayment.january_reset`` and ``core.calendar.year_end``: it
reads the running positions and period states from PostgreSQL, and writes the re-set
prepayments in one transaction (re-running it gives the same rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from contracts.money import from_fen, to_fen
from services.clearing.core.calendar import YearEnd, year_end
from services.clearing.core.periods import CHINA, Status, parse_scope
from services.clearing.core.prepayment import (
    Thresholds,
    YearlyPrepayment,
    january_reset,
    q4_periods,
    reset_due,
)


def china_today() -> dt.date:
    """Today's date in China time (what every clearing deadline is counted in)."""
    return dt.datetime.now(CHINA).date()


async def reset_prepayments(
    conn: asyncpg.Connection,
    year: int,
    scope: str,
    thresholds: Thresholds = Thresholds(),
    *,
    write: bool = True,
) -> list[YearlyPrepayment]:
    """Size every flow of ``scope`` for ``year`` from last year's fourth-quarter positions
    (and re-set to zero the flows that held a prepayment last year without Q4 traffic);
    with ``write``, upsert them all in one transaction."""
    parse_scope(scope)
    months = list(q4_periods(year))
    rows = await conn.fetch(
        """SELECT period, payer, payee, sum(fund_pay_sumamt) AS fund FROM clearing_positions
           WHERE scope = $1 AND period = ANY($2::text[]) GROUP BY period, payer, payee""",
        scope, months,
    )  # fmt: skip
    q4: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        q4.setdefault((r["payer"], r["payee"]), {})[r["period"]] = to_fen(r["fund"])
    previous = [
        (r["payer"], r["payee"])
        for r in await conn.fetch(
            "SELECT payer, payee FROM prepayments WHERE year = $1 AND scope = $2", year - 1, scope
        )
    ]
    plan = january_reset(year, q4, previous, thresholds)
    if write and plan:
        async with conn.transaction():
            await conn.executemany(
                """INSERT INTO prepayments (year, scope, payer, payee, amount, yellow_bp, red_bp)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (year, scope, payer, payee) DO UPDATE SET amount = EXCLUDED.amount,
                       yellow_bp = EXCLUDED.yellow_bp, red_bp = EXCLUDED.red_bp, set_at = now()""",
                [
                    (p.year, scope, p.payer, p.payee, from_fen(p.amount_fen),
                     thresholds.yellow_bp, thresholds.red_bp)
                    for p in plan
                ],
            )  # fmt: skip
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


async def reset_states(conn: asyncpg.Connection, year: int) -> list[ResetState]:
    """Every scope that held prepayments last year or has this year's: is the re-set made?"""
    rows = await conn.fetch(
        """SELECT scope, count(*) FILTER (WHERE year = $1 - 1) AS last,
                  count(*) FILTER (WHERE year = $1) AS now
           FROM prepayments WHERE year IN ($1 - 1, $1) GROUP BY scope ORDER BY scope""",
        year,
    )
    return [ResetState(year, r["scope"], reset_due(year), r["last"], r["now"]) for r in rows]


async def year_end_status(conn: asyncpg.Connection, today: dt.date) -> list[YearEnd]:
    """Earlier years with periods not SETTLED (a period with positions and no state is OPEN)."""
    rows = await conn.fetch(
        """SELECT p.period, p.scope, coalesce(c.status, 'OPEN') AS status
           FROM (SELECT DISTINCT period, scope FROM clearing_positions
                 UNION SELECT period, scope FROM clearing_periods) p
           LEFT JOIN clearing_periods c ON c.period = p.period AND c.scope = p.scope
           WHERE substr(p.period, 1, 4)::int < $1""",
        today.year,
    )
    statuses: dict[tuple[str, str], Status] = {(r["period"], r["scope"]): r["status"] for r in rows}
    return year_end(today, statuses)
