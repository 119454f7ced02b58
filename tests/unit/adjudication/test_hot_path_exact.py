"""The hot path's shortcuts (issue 21) give exactly what the straightforward code gave.

Each shortcut replaced a general operation on the per-record path by a cheaper one that
holds only under a condition it checks; these tests compare both over the edges where the
condition flips (edge years, every UTC offset, sub-fen amounts) and fail if a dataclass
rebuilt field by field gains a field the rebuild would drop.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import fields, replace
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.common import EARLIEST, LATEST, plausible
from contracts.money import to_fen
from services.adjudication.core.adjudicator import SHANGHAI, business_date
from services.adjudication.core.person import PersonState, record_filing, with_visit
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.visit import VisitState, discharge, with_lines
from services.runtime.gc_tuning import YOUNG_THRESHOLD, tune_gc

OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
EDGE_YEARS = st.sampled_from([1, 1899, 1900, 1901, 2026, 2198, 2199, 2200, 9999])


def _inside(instant: dt.datetime) -> bool:
    """What ``plausible`` decided before its fast path: the full comparison."""
    try:
        return EARLIEST <= instant < LATEST
    except (OverflowError, TypeError):
        return False


@settings(max_examples=400, deadline=None)
@given(
    year=EDGE_YEARS,
    day=st.integers(min_value=0, max_value=364),
    seconds=st.integers(min_value=0, max_value=86_399),
    tz=OFFSETS,
)
def test_plausible_decides_as_the_full_comparison(
    year: int, day: int, seconds: int, tz: dt.timezone
) -> None:
    try:
        instant = dt.datetime(year, 1, 1, tzinfo=tz) + dt.timedelta(days=day, seconds=seconds)
    except OverflowError:
        return
    if _inside(instant):
        assert plausible(instant) is instant
    else:
        with pytest.raises(ValueError):
            plausible(instant)


def test_plausible_refuses_a_naive_time_in_any_year() -> None:
    """The fast path needs an offset: a naive time is refused as the comparison refused it."""
    for year in (1899, 2026, 2199):
        with pytest.raises(ValueError):
            plausible(dt.datetime(year, 6, 1))


@settings(max_examples=400, deadline=None)
@given(
    when=st.datetimes(
        min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2198, 12, 31), timezones=OFFSETS
    )
)
def test_business_date_is_the_shanghai_date(when: dt.datetime) -> None:
    assert business_date(when) == when.astimezone(SHANGHAI).date()


def test_business_date_fast_path_covers_shanghai_offsets_of_other_tzinfo_types() -> None:
    """A +08:00 offset from pydantic's own tzinfo type (what a decoded message carries)."""
    from pydantic import TypeAdapter

    when = TypeAdapter(dt.datetime).validate_json('"2026-12-31T23:30:00+08:00"')
    assert type(when.tzinfo) is not dt.timezone
    assert business_date(when) == dt.date(2026, 12, 31)
    utc = TypeAdapter(dt.datetime).validate_json('"2026-12-31T16:30:00Z"')
    assert business_date(utc) == dt.date(2027, 1, 1)


def _to_fen_before(value: Decimal) -> int:
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{value} has more than two decimal places")
    return int(fen)


@settings(max_examples=500, deadline=None)
@given(
    units=st.integers(min_value=-(10**18), max_value=10**18),
    places=st.integers(min_value=-3, max_value=6),
)
def test_to_fen_equals_the_decimal_arithmetic(units: int, places: int) -> None:
    value = Decimal(units).scaleb(-places)
    try:
        expected = _to_fen_before(value)
    except ValueError:
        with pytest.raises(ValueError):
            to_fen(value)
        return
    assert to_fen(value) == expected
    assert type(to_fen(value)) is int


def _visit() -> VisitState:
    """Every field away from its default, so a dropped field shows."""
    return VisitState(
        mdtrt_id="M1", psn_no="P1", insuplc_admdvs="330900", fixmedins_code="H33010200001",
        mdtrtarea_admvs="310118", med_type="21", insutype="310", begndate=dt.date(2026, 1, 2),
        diseases=("I10",), status="discharged",
        lines=(FeeLine("1", "X", Decimal("2"), 100, 200, dt.date(2026, 1, 2)),),
        admission_deductible_fen=7,
    )  # fmt: skip


def test_with_lines_is_replace() -> None:
    visit = _visit()
    lines = (FeeLine("2", "Y", Decimal("1"), 300, 300, None),)
    assert with_lines(visit, lines) == replace(visit, lines=lines)
    assert [f.name for f in fields(VisitState)] == [
        "mdtrt_id", "psn_no", "insuplc_admdvs", "fixmedins_code", "mdtrtarea_admvs",
        "med_type", "insutype", "begndate", "diseases", "status", "lines",
        "admission_deductible_fen",
    ], "a new VisitState field: add it to with_lines and discharge"  # fmt: skip
    assert discharge(visit) == replace(visit, status="discharged")
    assert discharge(replace(visit, status="open")) == replace(visit, status="discharged")


def test_with_visit_is_replace() -> None:
    state = PersonState(
        visits={"M0": _visit()}, years={2026: object()}, settlements={"S": object()},  # type: ignore[dict-item]
        account_spent_fen=5, filings={"F": object()},  # type: ignore[dict-item]
    )  # fmt: skip
    visit = replace(_visit(), mdtrt_id="M2")
    built = with_visit(state, visit)
    assert built == replace(state, visits={**state.visits, "M2": visit})
    assert state.visits.keys() == {"M0"}, "the stored state is not modified"
    assert [f.name for f in fields(PersonState)] == [
        "visits", "years", "settlements", "account_spent_fen", "filings",
    ], "a new PersonState field: add it to with_visit and record_filing"  # fmt: skip
    filing = SimpleNamespace(filing_id="G")
    built = record_filing(state, filing)  # type: ignore[arg-type]
    assert built == replace(state, filings={**state.filings, "G": filing})  # type: ignore[dict-item]
    assert state.filings.keys() == {"F"}, "the stored state is not modified"


def test_tune_gc_raises_the_threshold_and_freezes() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
