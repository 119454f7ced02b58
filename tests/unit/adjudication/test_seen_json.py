"""A person row's remembered ``seen`` JSON (issue 21) writes the bytes the full encoding
writes, whatever happened to ``seen`` between two writes: entries noted (one or several),
the oldest dropped past ``SEEN_LIMIT``, the row restored from its JSON, the memo forgotten,
a dict that shares the entries but not their order or keys."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.codes import AckStatus
from services.adjudication import handler
from services.adjudication.handler import PersonRow, Seen, _note


def _full(row: PersonRow) -> list[object]:
    return [[k, s.offset, s.status, s.code, s.text, s.setl_id] for k, s in row.seen.items()]


def _written_seen(row: PersonRow) -> object:
    return orjson.loads(row.to_json())["seen"]


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("note"), st.integers(min_value=1, max_value=4)),
        st.tuples(st.just("write"), st.just(0)),
        st.tuples(st.just("restore"), st.just(0)),
        st.tuples(st.just("forget"), st.just(0)),
        st.tuples(st.just("reorder"), st.just(0)),
        st.tuples(st.just("rekey"), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps=STEPS, limit=st.integers(min_value=1, max_value=6))
def test_remembered_seen_writes_the_full_encoding(steps: list[tuple[str, int]], limit: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(handler, "SEEN_LIMIT", limit)
        row = PersonRow()
        counter = 0
        for action, count in steps:
            if action == "note":
                for _ in range(count):
                    counter += 1
                    status = AckStatus.REJECTED if counter % 3 else AckStatus.ACCEPTED
                    seen = Seen(counter, status, "E_X" if counter % 3 else None, 't\n"é', None)
                    _note(row, f"id-{counter}", seen)
            elif action == "restore":
                row = PersonRow.from_json(row.to_json())
            elif action == "forget":
                row.forget_json()
            elif action == "reorder":
                row.seen = dict(reversed(row.seen.items()))
            elif action == "rekey":
                row.seen = {f"x{k}": v for k, v in row.seen.items()}
            assert _written_seen(row) == _full(row)
            assert row.to_json() == orjson.dumps(
                {**orjson.loads(row.to_json()), "seen": _full(row)}
            )
