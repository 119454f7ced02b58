"""Prepayment funds (预付金, 经办规程 Arts. 18–27) and their usage warnings.

Size: 2 × the monthly average of the flow's fund payments in last year's Q4
(a parameter). Usage = this month's clearing amount ÷ prepayment; a yellow
warning at 70 %, red at 90 % (parameters). A warning is raised once per
crossing — when usage moves from below a threshold to at or above it — never
once per settlement; falling back below re-arms it.

Every January the prepayments are re-set (``january_reset``) from the fourth quarter
just ended, paid by the end of February (``reset_due``); until a flow's re-set is
made, the prepayment of the year before stays in force (the treatment side still
holds it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Level = Literal["yellow", "red"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    yellow_bp: int = 7000
    red_bp: int = 9000
    size_multiple: int = 2


def prepayment_size(q4_monthly_fund_fen: list[int], t: Thresholds = Thresholds()) -> int:
    """``size_multiple`` × the average monthly fund payment of last year's Q4 (rounded half up)."""
    if not q4_monthly_fund_fen:
        return 0
    total = sum(q4_monthly_fund_fen) * t.size_multiple
    n = len(q4_monthly_fund_fen)
    return (2 * total + n) // (2 * n)


def level_of(used_fen: int, prepayment_fen: int, t: Thresholds = Thresholds()) -> Level | None:
    if prepayment_fen <= 0:
        return None
    if used_fen * 10_000 >= t.red_bp * prepayment_fen:
        return "red"
    if used_fen * 10_000 >= t.yellow_bp * prepayment_fen:
        return "yellow"
    return None


def crossings(
    before_fen: int, after_fen: int, prepayment_fen: int, t: Thresholds = Thresholds()
) -> list[Level]:
    """Thresholds crossed upwards by moving usage from ``before`` to ``after`` (both may be crossed)."""
    order: list[Level] = ["yellow", "red"]
    rank = {None: 0, "yellow": 1, "red": 2}
    was, now = (
        rank[level_of(before_fen, prepayment_fen, t)],
        rank[level_of(after_fen, prepayment_fen, t)],
    )
    return order[was:now] if now > was else []


def warnings_due(
    previous: Level | None, used_fen: int, prepayment_fen: int, t: Thresholds = Thresholds()
) -> tuple[Level | None, list[Level]]:
    """(the level now, the levels to warn about): only upward moves from the last level seen
    warn, so a burst of settlements above a threshold raises one warning, not one each."""
    now = level_of(used_fen, prepayment_fen, t)
    order: list[Level] = ["yellow", "red"]
    rank = {None: 0, "yellow": 1, "red": 2}
    return now, order[rank[previous] : rank[now]] if rank[now] > rank[previous] else []


def q4_periods(year: int) -> tuple[str, str, str]:
    """The months a ``year``'s prepayment is sized from: October-December of the year before."""
    return (f"{year - 1}-10", f"{year - 1}-11", f"{year - 1}-12")


def reset_due(year: int) -> dt.date:
    """The January re-set of ``year``'s prepayments is paid by the end of February."""
    return dt.date(year, 3, 1) - dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class YearlyPrepayment:
    """One flow's prepayment for a year, sized from last year's fourth quarter."""

    year: int
    payer: str
    payee: str
    amount_fen: int
    q4_fen: tuple[int, int, int]


def january_reset(
    year: int,
    q4: Mapping[tuple[str, str], Mapping[str, int]],
    previous: Iterable[tuple[str, str]] = (),
    t: Thresholds = Thresholds(),
) -> list[YearlyPrepayment]:
    """Every flow's prepayment for ``year`` (DOMAIN.md section 6, Arts. 18-27).

    ``q4`` maps (payer, payee) to its cleared fund payments by period (``YYYY-MM`` -> fen)
    of the months ``q4_periods(year)``; a month without traffic counts as zero, so the
    average is always over three months. A flow that held a prepayment last year
    (``previous``) but had no fourth-quarter traffic is re-set to zero: the treatment side
    returns it. Sorted by (payer, payee).
    """
    months = q4_periods(year)
    flows = set(q4) | set(previous)
    out = []
    for payer, payee in sorted(flows):
        by_month = q4.get((payer, payee), {})
        values = (
            by_month.get(months[0], 0),
            by_month.get(months[1], 0),
            by_month.get(months[2], 0),
        )
        out.append(YearlyPrepayment(year, payer, payee, prepayment_size(list(values), t), values))
    return out
