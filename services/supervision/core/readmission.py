"""Decomposed hospitalization (分解住院): readmission for the same diagnosis within N days.

A stay discharged on day D and a new admission (not an emergency type) on a
day in [D, D + window_days] sharing a diagnosis code is one finding; its
window is [D, readmission day]. Same-day transfers count too: splitting a
stay into two bills is the pattern.
"""

from __future__ import annotations

from contracts.supervision import DecomposedHospitalization
from services.supervision.core.model import Finding
from services.supervision.core.state import Stay


def check(
    rule: DecomposedHospitalization, person: str, stays: tuple[Stay, ...], new: Stay
) -> Finding | None:
    inpatient = {str(m) for m in rule.inpatient_med_types}
    if new.med_type not in inpatient or new.med_type in {str(m) for m in rule.emergency_med_types}:
        return None
    codes = set(new.diagnoses)
    earlier = [
        s
        for s in stays
        if s.mdtrt_id != new.mdtrt_id
        and s.med_type in inpatient
        and s.end is not None
        and s.end <= new.begin
        and (new.begin - s.end).days <= rule.window_days
        and codes & set(s.diagnoses)
    ]
    if not earlier:
        return None
    prev = max(earlier, key=lambda s: (s.end, s.mdtrt_id))
    assert prev.end is not None
    shared = sorted(codes & set(prev.diagnoses))
    return Finding(
        rule_id=rule.rule_id,
        subject=person,
        window_start=prev.end,
        window_end=new.begin,
        setl_ids=(),
        mdtrt_ids=(prev.mdtrt_id, new.mdtrt_id),
        fixmedins_codes=tuple(sorted({prev.fixmedins_code, new.fixmedins_code})),
        fen=0,
        detail=f"readmitted {(new.begin - prev.end).days} days after discharge, same diagnosis "
        f"{shared[0]}",
    )
