"""Overlapping stays: one person an inpatient in two institutions at the same time.

Stays are half-open day intervals [admission, discharge): a transfer that
discharges and admits on the same day is not an overlap; an undischarged
stay is open-ended. Only a system that sees every region finds this.
"""

from __future__ import annotations

from contracts.supervision import OverlappingStays
from services.supervision.core.model import Finding
from services.supervision.core.state import Stay


def check(
    rule: OverlappingStays, person: str, stays: tuple[Stay, ...], new: Stay
) -> Finding | None:
    inpatient = {str(m) for m in rule.inpatient_med_types}
    if new.med_type not in inpatient:
        return None
    others = [
        s
        for s in stays
        if s.mdtrt_id != new.mdtrt_id
        and s.med_type in inpatient
        and s.fixmedins_code != new.fixmedins_code
        and _overlap(s, new)
    ]
    if not others:
        return None
    first = min(others, key=lambda s: (s.begin, s.mdtrt_id))
    start = max(first.begin, new.begin)
    return Finding(
        rule_id=rule.rule_id,
        subject=person,
        window_start=start,
        window_end=start,
        setl_ids=(),
        mdtrt_ids=tuple(sorted({first.mdtrt_id, new.mdtrt_id})),
        fixmedins_codes=tuple(sorted({first.fixmedins_code, new.fixmedins_code})),
        fen=0,
        detail=f"inpatient at {first.fixmedins_code} and {new.fixmedins_code} on {start}",
    )


def _overlap(a: Stay, b: Stay) -> bool:
    if a.end is not None and a.end <= b.begin:
        return False
    return not (b.end is not None and b.end <= a.begin)
