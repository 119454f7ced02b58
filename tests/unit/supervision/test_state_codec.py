"""The person state's changelog codec: the compact format gives back the very state, the
first format (what earlier workers wrote) still reads the same, and the compact one is
smaller for the states the pipeline's traffic makes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.supervision.adapters import state_codec
from services.supervision.core.state import ClaimRec, LineRec, PersonState, Raised, Stay

DAY = st.dates(dt.date(1990, 1, 1), dt.date(2199, 12, 31))
TEXT = st.text(alphabet='AH0123-~["é', max_size=8)
MDTRT = st.sampled_from(["H3201020000147772900", "M1", "", "H3201020000147772900-0"])
CNT = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2) | st.just(
    Decimal("1E+1")
)


@st.composite
def lines(draw: st.DrawFn) -> LineRec:
    m = draw(MDTRT)
    sn = draw(st.sampled_from([m + draw(TEXT), draw(TEXT), m]))
    return LineRec(m, draw(st.sampled_from(["H32010200001", "P1"])), draw(st.sampled_from(
        ["11", "21", ""])), sn, draw(TEXT), draw(CNT), draw(st.integers(0, 10**12)), draw(DAY))  # fmt: skip


STATES = st.builds(
    PersonState,
    stays=st.lists(
        st.builds(Stay, MDTRT, TEXT, TEXT, DAY, st.none() | DAY, st.lists(TEXT).map(tuple)),
        max_size=3,
    ).map(tuple),
    lines=st.lists(lines(), max_size=12).map(tuple),
    claims=st.lists(
        st.builds(ClaimRec, TEXT, MDTRT, TEXT, TEXT, DAY, st.integers(0, 10**12)), max_size=3
    ).map(tuple),
    raised=st.lists(st.builds(Raised, TEXT, DAY, DAY), max_size=3).map(tuple),
    seen=st.lists(TEXT, max_size=5).map(tuple),
    latest=st.none() | DAY,
)


@given(STATES)
def test_round_trip_gives_the_same_state(state: PersonState) -> None:
    back = state_codec.loads(state_codec.dumps(state))
    assert back == state
    # Decimal equality ignores the exponent; the written text must not change either
    assert [str(x.cnt) for x in back.lines] == [str(x.cnt) for x in state.lines]


@given(STATES)
def test_the_first_format_still_reads_the_same(state: PersonState) -> None:
    old = state_codec.dumps_v1(state)
    assert state_codec.loads(old) == state
    assert state_codec.dumps(state_codec.loads(old)) == state_codec.dumps(state)


def test_empty_and_unknown_format() -> None:
    assert state_codec.loads(None) == PersonState()
    assert state_codec.loads(b"") == PersonState()
    with pytest.raises(ValueError, match="format 3"):
        state_codec.loads(b"[3,null,[],[],[],[],[]]")


def test_a_visits_lines_take_under_half_the_bytes() -> None:
    m, day = "H320102000014777290000213", dt.date(2026, 10, 12)
    state = PersonState(
        stays=(Stay(m, "H32010200001", "21", day, None, ("I10",)),),
        lines=tuple(
            LineRec(
                m, "H32010200001", "21", f"{m}-{i:03d}", "210500001", Decimal("3.00"), 126000, day
            )
            for i in range(1, 31)
        ),
        seen=("sim-1", "sim-2"),
        latest=day,
    )
    new, old = state_codec.dumps(state), state_codec.dumps_v1(state)
    assert state_codec.loads(new) == state
    assert len(new) * 2 < len(old), (len(new), len(old))


@given(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
def test_at_of_is_utc_midnight(day: dt.date) -> None:
    from services.supervision.outliers import at_of, day_of

    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
    assert at_of(day) == midnight.timestamp()
    if day.year > 1:
        assert day_of(at_of(day)) == day


def test_parsed_states_are_reused_only_for_the_very_bytes_written() -> None:
    cache = state_codec.Parsed(size=2)
    a = PersonState(seen=("e1",), latest=dt.date(2026, 10, 12))
    raw = state_codec.dumps(a)
    cache.wrote(b"k", raw, a)
    assert cache.read(b"k", raw) is a  # the bytes written: the state kept
    copy = bytes(bytearray(raw))  # equal bytes, another object (recovered, another store)
    assert copy is not raw
    assert cache.read(b"k", copy) == a and cache.read(b"k", copy) is not a
    assert cache.read(b"k", None) == PersonState()
    cache.wrote(b"m", state_codec.dumps(a), a)
    cache.wrote(b"n", state_codec.dumps(a), a)  # size 2: "k" goes
    assert list(cache.items) == [b"m", b"n"]
    assert cache.read(b"k", raw) is not a
