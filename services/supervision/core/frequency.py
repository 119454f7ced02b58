"""Frequency: more than N settlements of the listed types for a person within M days.

The trailing window ends at each new settlement's day: [day − M + 1, day]. Its
finding's window starts at the first settlement counted, so one burst is one
alert (a later settlement inside an already-alerted window raises nothing).
"""

from __future__ import annotations

import datetime as dt

from contracts.supervision import Frequency
from services.supervision.core.model import Finding
from services.supervision.core.state import ClaimRec


def check(
    rule: Frequency, person: str, claims: tuple[ClaimRec, ...], new: ClaimRec
) -> Finding | None:
    types = {str(m) for m in rule.med_types}
    if new.med_type not in types:
        return None
    start = new.day - dt.timedelta(days=rule.window_days - 1)
    counted = sorted(
        (c for c in claims if c.med_type in types and start <= c.day <= new.day),
        key=lambda c: (c.day, c.setl_id),
    )
    if len(counted) <= rule.max_settlements:
        return None
    return Finding(
        rule_id=rule.rule_id,
        subject=person,
        window_start=counted[0].day,
        window_end=new.day,
        setl_ids=tuple(c.setl_id for c in counted),
        mdtrt_ids=tuple(sorted({c.mdtrt_id for c in counted})),
        fixmedins_codes=tuple(sorted({c.fixmedins_code for c in counted})),
        fen=sum(c.medfee_fen for c in counted),
        detail=f"{len(counted)} settlements in {rule.window_days} days "
        f"(at most {rule.max_settlements})",
    )
