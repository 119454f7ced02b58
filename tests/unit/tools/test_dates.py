"""``yidi simulate --date --days``: any day, several days, and the year-boundary cases."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.reference import load_reference
from services.entry.bootstrap import sender_ids
from services.tools.simulator.build import Built
from services.tools.simulator.run import plan_messages

REFERENCE = Path(__file__).resolve().parents[3] / "deploy" / "reference"
CHINA = dt.timezone(dt.timedelta(hours=8))


def _plan(day: dt.date, days: int, visits: int = 40) -> list[Built]:
    codec = Codec(demo_registry(sender_ids(load_reference(REFERENCE))))
    return plan_messages(REFERENCE, codec, visits, 11, "t", day=day, days=days)


def test_several_days_from_any_date_have_unique_ids_and_their_own_dates() -> None:
    messages = _plan(dt.date(2027, 3, 14), 3)
    visit_days = Counter(
        b.step.at.astimezone(CHINA).date() for b in messages if b.step.kind == "register"
    )
    assert set(visit_days) == {dt.date(2027, 3, 14), dt.date(2027, 3, 15), dt.date(2027, 3, 16)}
    originals = [b for b in messages if b.step.duplicate_of is None and b.bad is None]
    assert len({b.ce_id for b in originals}) == len(originals)
    registered = [b.step.mdtrt_id for b in originals if b.step.kind == "register"]
    assert len(set(registered)) == len(registered)
    persons = [b.step.person.psn_no for b in originals if b.step.kind == "person"]
    assert len(set(persons)) == len(persons)  # each person introduced once
    assert not any(b.step.person.psn_no[12] == "8" for b in originals)  # no boundary cases


def test_a_range_across_31_december_adds_stays_across_the_boundary() -> None:
    messages = _plan(dt.date(2026, 12, 30), 4)
    boundary = [
        b
        for b in messages
        if b.step.person.psn_no[12] == "8" and b.bad is None and b.step.duplicate_of is None
    ]
    stays: dict[str, set[dt.date]] = {}
    for b in boundary:
        if b.step.kind == "fees" and b.step.category == "inpatient":
            stays.setdefault(b.step.mdtrt_id, set()).add(b.step.at.astimezone(CHINA).date())
    assert stays
    for dates in stays.values():
        assert min(dates).year == 2026 and max(dates) == dt.date(2027, 1, 1)
    settle_days = {
        b.step.at.astimezone(CHINA).date()
        for b in boundary
        if b.step.kind == "settle" and b.step.category == "inpatient"
    }
    assert settle_days == {dt.date(2027, 1, 2)}
    outpatient = Counter(
        b.step.at.astimezone(CHINA).date()
        for b in boundary
        if b.step.kind == "settle" and b.step.category == "outpatient"
    )
    assert outpatient[dt.date(2026, 12, 31)] == 3 * outpatient[dt.date(2027, 1, 1)] > 0
