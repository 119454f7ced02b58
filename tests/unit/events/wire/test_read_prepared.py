"""``read_prepared`` (the codec's body reading with a ``prepare``) refuses what ``read_json``
refuses, in the same order, and hands its reader only canonical documents before the depth
and duplicate checks: a reader that takes only flat canonical documents (the codec's
``prepare``) can then skip the bracket count without anything else changing."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from events.wire.errors import DecodeError
from events.wire.strict_json import MAX_DEPTH, read_json, read_prepared
from tests.unit.events.wire.test_reading import json_values


def _read(value: bytes) -> tuple[Any, ...]:
    try:
        return ("read", read_json(value))
    except DecodeError as err:
        return ("refused", type(err).__name__, err.code, err.field, err.message)


def _prepared(value: bytes, accept: bool) -> tuple[tuple[Any, ...], list[Any]]:
    seen: list[Any] = []

    def reader(model: str, doc: Any) -> str | None:
        assert model == "model"
        seen.append(doc)
        return "taken" if accept else None

    try:
        doc, read = read_prepared(value, reader, "model")
    except DecodeError as err:
        return ("refused", type(err).__name__, err.code, err.field, err.message), seen
    return ("read", doc) if read is None else ("taken", doc), seen


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    doc = draw(json_values)
    depth = draw(st.sampled_from([0, 0, 0, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 300]))
    # the layers' kinds from one drawn integer, not one draw a layer (300 draws made the
    # test hypothesis's generation: 24 s for 600 bodies on a loaded box)
    kinds = draw(st.integers(0, 2**depth - 1)) if depth else 0
    for i in range(depth):
        doc = [doc] if kinds >> i & 1 else {"k": doc}
    spaced = draw(st.booleans())
    text = json.dumps(doc, ensure_ascii=False, separators=(", ", ": ") if spaced else (",", ":"))
    if text.startswith("{") and len(text) > 2 and draw(st.booleans()):  # a repeated key
        first = json.dumps(next(iter(json.loads(text))), ensure_ascii=False)
        text = text[:-1] + f",{first}:0}}"
    if draw(st.integers(0, 9)) == 0:
        text = text[: draw(st.integers(0, len(text)))] + draw(st.sampled_from(["", "NaN", "}"]))
    return text.encode()


@settings(max_examples=600, deadline=None)
@given(value=_bodies())
def test_a_declining_reader_leaves_every_outcome_as_read_json_gives_it(value: bytes) -> None:
    outcome, seen = _prepared(value, accept=False)
    assert outcome == _read(value)
    assert len(seen) <= 1
    for doc in seen:  # seen before the checks only if canonical; else only once they passed
        assert outcome[0] == "read" or orjson.dumps(doc) == value


@settings(max_examples=600, deadline=None)
@given(value=_bodies())
def test_a_reader_that_takes_everything_sees_only_what_read_json_reads_or_canonical_text(
    value: bytes,
) -> None:
    """The reader's precondition, shown: with a reader that takes anything, a body is taken
    only if ``read_json`` reads it, or it is canonical (then only its depth was unchecked:
    the codec's ``prepare`` takes nothing deeper than three levels)."""
    outcome, seen = _prepared(value, accept=True)
    expected = _read(value)
    if outcome[0] == "taken":
        assert expected[0] == "read" or orjson.dumps(seen[0]) == value
        if expected[0] == "read":
            assert outcome[1] == expected[1]
    else:
        assert outcome == expected and expected[0] == "refused"


def test_without_a_reader_it_is_read_json() -> None:
    for value in (b'{"a":1}', b'{"a":1,"a":2}', b"[" * 40 + b"]" * 40, b"NaN"):
        try:
            doc, read = read_prepared(value, None, "model")
            got: object = ("read", doc)
            assert read is None
        except DecodeError as err:
            got = ("refused", type(err).__name__, err.code, err.field, err.message)
        assert got == _read(value)
