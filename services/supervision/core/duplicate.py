"""Duplicate billing: a supervised item for one person on one day billed by two
institutions, or in one visit more often than the item's daily limit.

Only the items the pack lists are supervised (a consultation or a bed-day is
once a day; a drug's quantity is the days' supply rule's business).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from contracts.supervision import DuplicateBilling
from services.supervision.core.model import Finding
from services.supervision.core.state import LineRec


def check(
    rule: DuplicateBilling, person: str, lines: tuple[LineRec, ...], new: tuple[LineRec, ...]
) -> list[Finding]:
    """One finding per day of the new lines that breaks the rule; ``lines`` includes ``new``."""
    limits = rule.item_max_per_day
    touched: dict[dt.date, set[str]] = {}
    for x in new:
        if x.item in limits:
            touched.setdefault(x.day, set()).add(x.item)
    if not touched:
        return []
    # one pass over the person's lines for every day touched (was one per day), and only
    # the items the new lines bill that day: an item's verdict reads its own rows
    rows: dict[dt.date, list[LineRec]] = {day: [] for day in touched}
    for x in lines:
        items = touched.get(x.day)
        if items is not None and x.item in items:
            rows[x.day].append(x)
    out = []
    for day in sorted(touched):
        hits = _offending(limits, rows[day])
        if hits:
            out.append(_finding(rule, person, day, hits))
    return out


def _offending(limits: dict[str, int], day_lines: list[LineRec]) -> list[LineRec]:
    bad: list[LineRec] = []
    items = sorted({x.item for x in day_lines})
    for item in items:
        rows = [x for x in day_lines if x.item == item]
        institutions = {x.fixmedins_code for x in rows}
        per_visit: dict[str, Decimal] = {}
        for x in rows:
            per_visit[x.mdtrt_id] = per_visit.get(x.mdtrt_id, Decimal(0)) + x.cnt
        if len(institutions) > 1 or any(c > limits[item] for c in per_visit.values()):
            bad.extend(rows)
    return bad


def _finding(rule: DuplicateBilling, person: str, day: dt.date, hits: list[LineRec]) -> Finding:
    items = sorted({x.item for x in hits})
    return Finding(
        rule_id=rule.rule_id,
        subject=person,
        window_start=day,
        window_end=day,
        setl_ids=(),
        mdtrt_ids=tuple(sorted({x.mdtrt_id for x in hits})),
        fixmedins_codes=tuple(sorted({x.fixmedins_code for x in hits})),
        fen=sum(x.fen for x in hits),
        detail=f"items {', '.join(items[:5])} billed beyond their daily limit on {day}",
    )
