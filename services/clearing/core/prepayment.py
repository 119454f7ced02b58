"""Prepayment funds (预付金, 经办规程 Arts. 18–27) and their usage warnings.

Size: 2 × the monthly average of the flow's fund payments in last year's Q4
(a parameter). Usage = this month's clearing amount ÷ prepayment; a yellow
warning at 70 %, red at 90 % (parameters). A warning is raised once per
crossing — when usage moves from below a threshold to at or above it — never
once per settlement; falling back below re-arms it.
"""

from __future__ import annotations

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
