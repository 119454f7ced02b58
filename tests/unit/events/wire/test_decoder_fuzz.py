"""Property: the wire decoder (``Codec.decode``) and ``yidi contracts check`` end every input
in a valid message or a typed error with a stable code, never another exception (issue 18).

The decoder's inputs are the engine fuzz test's mutated records (``test_engine_fuzz.cases``:
valid signed messages of a simulated run with bytes, headers, keys, field names, dates and
numbers mutated, often signed again so the mutations reach validation), decoded for their
topic with the MAC checked. ``contracts check`` gets files: the same mutated records written
as ``{headers, key, body}``, arbitrary JSON documents, and arbitrary bytes.

Cases: ``YIDI_FUZZ_DECODER_CASES`` per property (2,000 in ``make test``; ``make fuzz-decoder``
runs 100,000 each).
"""

from __future__ import annotations

import json
import os
import re

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from events.stream.types import InputRecord
from events.wire.errors import DecodeError
from services.entry.cli.contracts import check_bytes
from tests.unit.events.stream.test_fuzz import cases, json_values, setup

CASES = int(os.environ.get("YIDI_FUZZ_DECODER_CASES", "2000"))
CODE = re.compile(r"^E_[A-Z0-9_]+$")
FUZZ = settings(
    max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True
)


def _typed(err: DecodeError) -> str:
    """The error's code, checked stable-looking and not the catch-all for a crash."""
    assert CODE.match(err.code), err.code
    assert err.code != "E_INTERNAL", err
    event(err.code)
    return err.code


@pytest.mark.timeout(max(300, CASES // 10))  # 10 cases/s: a loaded 2-core box
@FUZZ
@given(cases())
def test_the_decoder_gives_a_message_or_a_typed_error(
    case: tuple[InputRecord, InputRecord],
) -> None:
    record, _valid = case
    codec = setup().w.codec
    try:
        decoded = codec.decode(record.key, record.value, record.headers, topic=record.topic)
    except DecodeError as err:
        _typed(err)
        return
    event("valid")
    assert decoded.envelope.ce_type


def _as_file(record: InputRecord, mode: int) -> bytes:
    """A mutated record as a `contracts check` file: wrapped with headers, or the body alone."""
    try:
        body = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError:
        return record.value or b""
    if mode == 0:
        return orjson.dumps(body)
    headers = {k: (v or b"").decode("utf-8", "replace") for k, v in record.headers}
    key = (record.key or b"").decode("utf-8", "replace") or None
    return orjson.dumps({"headers": headers, "key": key, "body": body})


@st.composite
def files(draw: st.DrawFn) -> tuple[bytes, str | None]:
    kind = draw(st.integers(0, 9))
    if kind < 6:
        record, _ = draw(cases())
        data = _as_file(record, draw(st.integers(0, 2)))
    elif kind < 8:
        doc = draw(json_values)
        if draw(st.booleans()):
            doc = {"headers": draw(st.one_of(json_values, st.dictionaries(st.text(max_size=9), st.text(max_size=9)))),
                   "key": draw(json_values), "body": doc}  # fmt: skip
        data = json.dumps(doc).encode("utf-8", "surrogatepass")  # integers past 64 bits too
    else:
        data = draw(st.binary(max_size=300))
    type_ = draw(st.one_of(
        st.none(), st.sampled_from(["cn.yidi.visit.settle.v1", "cn.yidi.registration.filing.v1", "x"]),
        st.text(max_size=12),
    ))  # fmt: skip
    return data, type_


@pytest.mark.timeout(max(300, CASES // 10))  # 10 cases/s: a loaded 2-core box
@FUZZ
@given(files())
def test_contracts_check_gives_ok_or_a_typed_error(case: tuple[bytes, str | None]) -> None:
    data, type_ = case
    codec = setup().w.codec
    for authenticate in (False, True):
        try:
            ce_type = check_bytes(data, type_, codec, authenticate=authenticate)
        except DecodeError as err:
            _typed(err)
            continue
        event("valid")
        assert ce_type


@pytest.mark.parametrize("doc", [b"-9223372036854775809", b'"\\u0041"', b"1e5", b"true"])
def test_a_scalar_document_is_a_typed_error_not_a_crash(doc: bytes) -> None:
    """Found by the fuzzer: a scalar whose canonical dump differs from its text (an integer
    past int64 parsed as a float, an escaped string) reached the key counter, which iterated it
    (``TypeError: 'float' object is not iterable``)."""
    with pytest.raises(DecodeError):
        check_bytes(doc, None, setup().w.codec, authenticate=False)
