"""The changelog's visit and settled-record JSON assembled around remembered fee lines
(``core/state_json.py``) is byte for byte what ``TypeAdapter.dump_json`` writes.

Hypothesis draws arbitrary values (any text, dates, decimals, 64-bit integers), and the
remembered lines a write extends: the lines written last time as a prefix of the new
ones (an upload), the very same tuple (a settlement), a tuple that is not a prefix, equal
lines that are not the same objects. Settled records come from a simulated run, with
their lines, counters and earlier years replaced by drawn ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.core import state_json
from services.adjudication.core.person import (
    _EARLIER,
    PersonState,
    SettledRecord,
    StateWriter,
    YearDelta,
    state_to_json,
)
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.settlement import Settlement, YearPart
from services.adjudication.core.visit import VisitState
from services.adjudication.handler import PersonRow
from services.adjudication.reference import DEFAULT_REFERENCE_DIR, load_reference
from services.entry.bootstrap import sender_ids
from services.tools.bench.task import adjudication_engine, simulated_records

VISIT = TypeAdapter(VisitState)
SETTLED = TypeAdapter(SettledRecord)
LINES = TypeAdapter(tuple[FeeLine, ...])
REF = load_reference()
CODEC = Codec(demo_registry(sender_ids(REF)))

text = st.text(st.characters(codec="utf-8"), max_size=12)
ints = st.integers(-(2**63), 2**63 - 1)
decimals = st.decimals(allow_nan=False, allow_infinity=False) | st.decimals(places=4)
lines_of = st.lists(
    st.builds(FeeLine, text, text, decimals, ints, ints, st.none() | st.dates()),
    max_size=6,
).map(tuple)


def visits(lines: st.SearchStrategy[tuple[FeeLine, ...]]) -> st.SearchStrategy[VisitState]:
    return st.builds(
        VisitState,
        text, text, text, text, text, text, text, st.dates(),
        st.lists(text, max_size=3).map(tuple),
        st.sampled_from(["open", "discharged", "settled", "cancelled"]),
        lines,
        ints,
    )  # fmt: skip


def test_the_writers_know_every_field() -> None:
    """A field added to a class fails here until the writer writes it."""
    assert tuple(f.name for f in fields(FeeLine)) == state_json.LINE_FIELDS
    assert tuple(f.name for f in fields(VisitState)) == state_json.VISIT_FIELDS
    assert tuple(f.name for f in fields(SettledRecord)) == state_json.SETTLED_FIELDS


@given(visits(lines_of))
def test_a_visit_written_afresh_is_the_adapters_bytes(visit: VisitState) -> None:
    kept: state_json.LinesMemo = {}
    assert state_json.visit_json(visit, {}, kept) == VISIT.dump_json(visit)
    assert kept == {visit.mdtrt_id: (visit.lines, LINES.dump_json(visit.lines))}


@given(visits(lines_of), lines_of, st.sampled_from(["prefix", "same", "other", "equal"]))
def test_a_visit_extending_remembered_lines_is_the_adapters_bytes(
    visit: VisitState, more: tuple[FeeLine, ...], how: str
) -> None:
    before = visit.lines
    if how == "prefix":  # an upload: the earlier lines, the same objects, then new ones
        after = before + more
    elif how == "same":  # unchanged lines (a discharge, a settlement's record)
        after = before
    elif how == "other":
        after = more
    else:  # equal lines, other objects (a line re-sent identically replaces its twin)
        after = tuple(replace(line) for line in before) + more
    visit = replace(visit, lines=after)
    previous = {visit.mdtrt_id: (before, LINES.dump_json(before))}
    assert state_json.visit_json(visit, previous, {}) == VISIT.dump_json(visit)
    assert state_json.lines_json(after, previous[visit.mdtrt_id]) == LINES.dump_json(after)


@pytest.fixture(scope="module")
def settled_records() -> list[SettledRecord]:
    """Every settled record a small simulated run leaves in its persons' rows."""
    engine = adjudication_engine(CODEC, REF)
    engine.run(simulated_records(DEFAULT_REFERENCE_DIR, CODEC, 200, 5, "state-json"), 50)
    found: list[SettledRecord] = []
    for store in engine.stores.values():
        for raw in store.values():
            found.extend(PersonRow.from_json(raw).state.settlements.values())
    assert len(found) > 50
    return found


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(
    st.data(),
    lines_of,
    st.dictionaries(text, ints, max_size=4),
    st.lists(st.builds(YearDelta, ints, st.dictionaries(text, ints, max_size=3), ints), max_size=2),
    st.booleans(),
    st.booleans(),
)
def test_a_settled_record_is_the_adapters_bytes(
    settled_records: list[SettledRecord],
    data: st.DataObject,
    lines: tuple[FeeLine, ...],
    delta: dict[str, int],
    earlier: list[YearDelta],
    reversed_: bool,
    remembered: bool,
) -> None:
    record = data.draw(st.sampled_from(settled_records))
    assert state_json.settled_json(record, {}, _EARLIER) == SETTLED.dump_json(record)
    record = replace(
        record, lines=lines, delta=delta, earlier_years=tuple(earlier), reversed=reversed_
    )
    mdtrt_id = record.settlement.mdtrt_id
    previous = {mdtrt_id: (lines[:1], LINES.dump_json(lines[:1]))} if remembered else {}
    assert state_json.settled_json(record, previous, _EARLIER) == SETTLED.dump_json(record)


@given(st.lists(visits(lines_of), max_size=3, unique_by=lambda v: v.mdtrt_id), lines_of)
def test_a_writer_across_uploads_writes_state_to_json(
    opened: list[VisitState], more: tuple[FeeLine, ...]
) -> None:
    """One writer, three writes of one person: as opened, after an upload to every visit,
    after a (simulated) settlement emptied them; each write equals ``state_to_json``."""
    writer = StateWriter()
    state = PersonState(visits={v.mdtrt_id: v for v in opened})
    assert writer.dump(state) == state_to_json(state)
    state = PersonState(
        visits={k: replace(v, lines=v.lines + more) for k, v in state.visits.items()}
    )
    assert writer.dump(state) == state_to_json(state)
    state = PersonState(visits={k: replace(v, lines=()) for k, v in state.visits.items()})
    assert writer.dump(state) == state_to_json(state)


def test_an_amount_outside_64_bits_is_refused_not_written_differently() -> None:
    """orjson writes 64-bit integers only (fen amounts are bounded far below that): beyond,
    the write raises instead of producing bytes the adapter would not."""
    visit = VisitState(
        "m", "p", "1", "H", "1", "11", "310", dt.date(2026, 1, 1), (), "open", (), 2**64
    )
    assert VISIT.dump_json(visit).endswith(b"18446744073709551616}")
    with pytest.raises(TypeError):
        state_json.visit_json(visit, {}, {})


SETTLEMENT = TypeAdapter(Settlement)
offsets = st.sampled_from([8 * 60, 0, -5 * 60, 8 * 60 + 1, 5 * 60 + 30]).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
) | st.just(dt.timezone(dt.timedelta(hours=8, seconds=30)))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(
    st.data(),
    st.datetimes(timezones=offsets),
    st.dates(),
    text,
    st.integers(-(2**70), 2**70),
    st.lists(st.builds(YearPart, ints, text, st.booleans(), ints, ints, ints), max_size=2),
)
def test_a_settlement_is_the_adapters_bytes(
    settled_records: list[SettledRecord],
    data: st.DataObject,
    when: dt.datetime,
    day: dt.date,
    name: str,
    amount: int,
    parts: list[YearPart],
) -> None:
    """orjson's dataclass writer for a +08:00 settlement, the adapter otherwise: any offset
    (UTC's ``Z``, seconds), any date and text, integers beyond 64 bits, year parts."""
    settlement = data.draw(st.sampled_from(settled_records)).settlement
    assert state_json.settlement_json(settlement) == SETTLEMENT.dump_json(settlement)
    changed = replace(
        settlement,
        setl_time=when,
        setl_date=day,
        clr_optins=name,
        ratio_bp=amount,
        year_parts=tuple(parts),
        breakdown=replace(settlement.breakdown, balc=amount),
    )
    assert state_json.settlement_json(changed) == SETTLEMENT.dump_json(changed)
