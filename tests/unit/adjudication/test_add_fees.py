"""``visit.add_fees``' shortcut (new, unique line numbers appended as they are) against the
general reading it skips: a dict by line number, an identical re-send a no-op, a changed
line a conflict. Hypothesis draws line numbers from a small alphabet so that repeats within
an upload, repeats of the visit's lines (equal or not) and duplicates among the visit's own
lines (which ``add_fees`` never leaves, but a hand-built state might hold) all occur."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.adjudication.core import visit as visits
from services.adjudication.core.errors import FeeLineConflict
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.visit import VisitState

lines_of = st.lists(
    st.builds(
        FeeLine,
        st.sampled_from(["1", "2", "3", "4", "5"]),
        st.sampled_from(["A", "B"]),
        st.sampled_from([Decimal(1), Decimal("1.00")]),
        st.integers(0, 2),
        st.integers(0, 2),
        st.none() | st.just(dt.date(2026, 1, 1)),
    ),
    max_size=6,
).map(tuple)


def general(visit: VisitState, lines: Iterable[FeeLine]) -> VisitState:
    """``add_fees`` before the shortcut (the dict by line number), for comparison."""
    by_sn = {line.feedetl_sn: line for line in visit.lines}
    for line in lines:
        known = by_sn.get(line.feedetl_sn)
        if known is not None and known != line:
            raise FeeLineConflict(f"line {line.feedetl_sn} of visit {visit.mdtrt_id} differs")
        by_sn[line.feedetl_sn] = line
    return visits.with_lines(visit, tuple(by_sn.values()))


def opened(lines: tuple[FeeLine, ...]) -> VisitState:
    return VisitState(
        "m", "p", "310000", "H1", "310000", "11", "310", dt.date(2026, 1, 1), (), "open", lines
    )


@given(lines_of, lines_of, st.booleans())
def test_add_fees_is_the_dict_by_line_number(
    before: tuple[FeeLine, ...], added: tuple[FeeLine, ...], as_list: bool
) -> None:
    visit = opened(before)
    upload: Iterable[FeeLine] = list(added) if as_list else added
    try:
        want = general(visit, upload)
    except FeeLineConflict:
        with pytest.raises(FeeLineConflict):
            visits.add_fees(visit, upload)
        return
    got = visits.add_fees(visit, upload)
    assert got == want
    assert all(map(lambda a, b: a is b, got.lines, want.lines))  # the same objects, in order
    assert len(got.lines) == len(want.lines)


def test_an_upload_of_new_lines_keeps_the_earlier_objects_first() -> None:
    first = (FeeLine("1", "A", Decimal(1), 1, 1), FeeLine("2", "A", Decimal(1), 1, 1))
    second = (FeeLine("3", "B", Decimal(2), 2, 4),)
    visit = visits.add_fees(visits.add_fees(opened(()), first), second)
    assert visit.lines == first + second
    assert visit.lines[0] is first[0] and visit.lines[2] is second[0]
