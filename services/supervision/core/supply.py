"""Quantity / days' supply: pharmacy quantities of an item within M days beyond what the
pack allows for that window (e.g. 30 days' supply of a chronic drug per 30 days)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from contracts.supervision import DaysSupply
from services.supervision.core.model import Finding
from services.supervision.core.state import LineRec


def check(
    rule: DaysSupply, person: str, lines: tuple[LineRec, ...], new: tuple[LineRec, ...]
) -> list[Finding]:
    """``lines`` includes ``new``; at most one finding per item the new lines touch."""
    types = {str(m) for m in rule.med_types}
    out = []
    touched = sorted(
        {(x.item, x.day) for x in new if x.item in rule.max_units and x.med_type in types}
    )
    done: set[str] = set()
    for item, day in touched:
        if item in done:
            continue
        start = day - dt.timedelta(days=rule.window_days - 1)
        rows = sorted(
            (x for x in lines if x.item == item and x.med_type in types and start <= x.day <= day),
            key=lambda x: (x.day, x.mdtrt_id, x.sn),
        )
        total = sum((x.cnt for x in rows), start=Decimal(0))
        if total <= rule.max_units[item]:
            continue
        done.add(item)
        out.append(
            Finding(
                rule_id=rule.rule_id,
                subject=person,
                window_start=rows[0].day,
                window_end=day,
                setl_ids=(),
                mdtrt_ids=tuple(sorted({x.mdtrt_id for x in rows})),
                fixmedins_codes=tuple(sorted({x.fixmedins_code for x in rows})),
                fen=sum(x.fen for x in rows),
                detail=f"item {item}: {total} units in {rule.window_days} days "
                f"(at most {rule.max_units[item]})",
            )
        )
    return out
