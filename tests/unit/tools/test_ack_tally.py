"""The load generator's ack tally (``AckTally``): ``done`` exactly when every request has all
of the acks it expects, whatever the order, the repeats or the foreign acks in between. The
run's end (and so the bench's rates) hangs on it."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from services.tools.simulator.report import AckTally


def test_done_once_every_request_has_all_its_acks() -> None:
    tally = AckTally(Counter({"a": 2, "b": 1}))
    assert [tally.count("a"), tally.count("b")] == [1, 1]
    assert not tally.done.is_set() and tally.missing == ["a"]
    assert tally.count("zz") == 1  # another run's ack: counted, changes nothing
    assert not tally.done.is_set()
    assert tally.count("a") == 2
    assert tally.done.is_set() and tally.missing == []
    assert tally.count("a") == 3 and tally.remaining == 0  # a repeat after: still done


def test_nothing_expected_is_done_at_once() -> None:
    assert AckTally(Counter()).done.is_set()


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(1, 3), max_size=6),
    st.lists(st.sampled_from("abcdefgh"), max_size=40),
)
def test_done_iff_no_request_is_short(expected: dict[str, int], acks: list[str]) -> None:
    tally = AckTally(Counter(expected))
    for ack_for in acks:
        tally.count(ack_for)
    got = Counter(acks)
    short = sorted(c for c, n in expected.items() if got[c] < n)
    assert tally.missing == short
    assert tally.done.is_set() == (not short)
    assert tally.received == got
