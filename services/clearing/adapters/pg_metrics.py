"""What the clearing worker's gauges show, read from PostgreSQL: per open period and
(payer, payee) pair, the fund payments cleared so far and the prepayment in force.

Why a query every few seconds and not a count per batch: positions are sums over every
landed settlement (and a reversal subtracts), and a prepayment is set from the CLI; the
tables are the truth, the gauges a view of them. One GROUP BY over the open periods'
positions (a few thousand pairs at most: 32 provinces squared per scope)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import asyncpg

PAIRS_SQL = """
SELECT p.scope, p.period, p.payer, p.payee, sum(p.fund_pay_sumamt) AS fund,
       pp.amount, pp.yellow_bp, pp.red_bp
  FROM clearing_positions p
  LEFT JOIN clearing_periods c USING (period, scope)
  LEFT JOIN LATERAL (
        SELECT x.amount, x.yellow_bp, x.red_bp FROM prepayments x
         WHERE x.scope = p.scope AND x.payer = p.payer AND x.payee = p.payee
           AND x.year <= substr(p.period, 1, 4)::int
         ORDER BY x.year DESC LIMIT 1) pp ON true
 WHERE coalesce(c.status, 'OPEN') IN ('OPEN', 'CLOSING')
 GROUP BY p.scope, p.period, p.payer, p.payee, pp.amount, pp.yellow_bp, pp.red_bp
"""
"""The prepayment in force for a period is the pair's latest up to the period's year (last
year's stays in force until January's re-set is made: core/prepayment.py)."""


@dataclass(frozen=True, slots=True)
class PairFigure:
    scope: str
    period: str
    payer: str
    payee: str
    fund: Decimal
    prepayment: Decimal | None
    yellow_bp: int | None
    red_bp: int | None

    @property
    def labels(self) -> tuple[str, str, str, str]:
        return (self.scope, self.period, self.payer, self.payee)

    @property
    def usage(self) -> float | None:
        """Cleared fund payments / prepayment (``None`` without a positive prepayment)."""
        if self.prepayment is None or self.prepayment <= 0:
            return None
        return float(self.fund / self.prepayment)


async def open_pairs(pool: asyncpg.Pool) -> list[PairFigure]:
    rows = await pool.fetch(PAIRS_SQL)
    return [
        PairFigure(
            r["scope"], r["period"], r["payer"], r["payee"], r["fund"], r["amount"],
            r["yellow_bp"], r["red_bp"],
        )
        for r in rows
    ]  # fmt: skip
