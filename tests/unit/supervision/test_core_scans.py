"""The person core's scans made cheaper in session 23 (H3) give what the plain scans gave.

``duplicate.check`` reads the day's rows in one pass over the person's lines (it scanned the
lines once per day touched) and ``PersonState.expired`` keeps a collection with nothing to
drop as it is (it rebuilt every collection on every event). The references below are the
former code, verbatim: the properties hold the new code to them on arbitrary lines,
states and horizons.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from contracts.supervision import DuplicateBilling
from services.supervision.core import duplicate
from services.supervision.core.model import Finding
from services.supervision.core.state import ClaimRec, LineRec, PersonState, Raised, Stay

DAY = st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 12))
ITEMS = st.sampled_from(["A", "B", "C", "D"])
LINES = st.builds(
    LineRec,
    st.sampled_from(["M1", "M2", "M3"]),
    st.sampled_from(["H1", "H2"]),
    st.sampled_from(["11", "21"]),
    st.text(alphabet="0123", max_size=3),
    ITEMS,
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal(3), places=1),
    st.integers(0, 10_000),
    DAY,
)
RULE = DuplicateBilling.model_validate(
    {"rule_id": "DUP-T", "severity": "violation", "kind": "duplicate_billing",
     "item_max_per_day": {"A": 1, "B": 2, "C": 1}, "_source": "illustrative"}
)  # fmt: skip


def _check_per_day(
    rule: DuplicateBilling, person: str, lines: tuple[LineRec, ...], new: tuple[LineRec, ...]
) -> list[Finding]:
    """``duplicate.check`` before session 23: one scan of ``lines`` per day touched."""
    limits = rule.item_max_per_day
    touched: dict[dt.date, set[str]] = {}
    for x in new:
        if x.item in limits:
            touched.setdefault(x.day, set()).add(x.item)
    out = []
    for day in sorted(touched):
        items = touched[day]
        hits = duplicate._offending(limits, [x for x in lines if x.day == day and x.item in items])
        if hits:
            out.append(duplicate._finding(rule, person, day, hits))
    return out


@given(st.lists(LINES, max_size=30), st.lists(LINES, max_size=8))
def test_duplicate_check_equals_the_per_day_scan(old: list[LineRec], new: list[LineRec]) -> None:
    lines = (*old, *new)
    got = duplicate.check(RULE, "P", lines, tuple(new))
    assert got == _check_per_day(RULE, "P", lines, tuple(new))


def _expired_rebuilt(state: PersonState, horizon_days: int, seen_max: int) -> PersonState:
    """``PersonState.expired`` before session 23: every collection filtered anew."""
    if state.latest is None:
        return state
    cut = state.latest - dt.timedelta(days=horizon_days)
    return PersonState(
        stays=tuple(s for s in state.stays if (s.end or s.begin) >= cut),
        lines=tuple(x for x in state.lines if x.day >= cut),
        claims=tuple(c for c in state.claims if c.day >= cut),
        raised=tuple(r for r in state.raised if r.window_end >= cut),
        seen=state.seen[-seen_max:],
        latest=state.latest,
    )


STATES = st.builds(
    PersonState,
    stays=st.lists(
        st.builds(
            Stay, st.just("M1"), st.just("H1"), st.just("21"), DAY, st.none() | DAY, st.just(())
        ),
        max_size=4,
    ).map(tuple),
    lines=st.lists(LINES, max_size=10).map(tuple),
    claims=st.lists(
        st.builds(
            ClaimRec,
            st.text(max_size=2),
            st.just("M1"),
            st.just("H1"),
            st.just("11"),
            DAY,
            st.integers(0, 99),
        ),
        max_size=4,
    ).map(tuple),
    raised=st.lists(st.builds(Raised, st.just("R"), DAY, DAY), max_size=4).map(tuple),
    seen=st.lists(st.text(max_size=2), max_size=8).map(tuple),
    latest=st.none() | DAY,
)


@given(STATES, st.integers(0, 12), st.integers(1, 8))
def test_expired_equals_the_rebuilt_state(state: PersonState, horizon: int, seen_max: int) -> None:
    got = state.expired(horizon, seen_max)
    want = _expired_rebuilt(state, horizon, seen_max)
    assert got == want
    if got == state:  # nothing to drop: the state itself, no copy
        assert got is state
