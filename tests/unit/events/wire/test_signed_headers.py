"""``parse_headers``' shortcut for a signed message's eight headers (``signed_envelope``, issue 21)
reads exactly what the general reading (``read_envelope``) reads: the same envelope, or the
same refusal (type, code, field, text), for the common shape and for every variation of it a
sender could send (a value empty, too long, not ASCII, not ``bytes``; a header missing,
repeated, unknown or moved; the constant values changed; a bad source or type)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from events.wire.envelope import (
    MAX_HEADER,
    SIG_KID,
    SIG_MAC,
    Envelope,
    parse_headers,
    read_envelope,
    signed_envelope,
)
from events.wire.errors import EnvelopeError

NAMES = ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "content-type", SIG_KID,
         SIG_MAC]  # fmt: skip
GOOD = [
    b"1.0",
    b"bench-task-00000001",
    b"cn.yidi.visit.settlement_requested.v1",
    b"urn:yidi:sender:H33090200001",
    b"2026-10-12T07:00:00+08:00",
    b"application/json",
    b"demo-H33090200001",
    b"0Yn1cRptazuv9x3fivXrBSlPBsQ8H0pp8FDGAFJ9h74",
]
ODD_VALUES: list[Any] = [
    b"", b"x", b"x" * MAX_HEADER, b"x" * (MAX_HEADER + 1), "1.0", None, bytearray(b"1.0"),
    memoryview(b"1.0"), b"\xc3\xa9", b"caf\xc3\xa9", b"\xff", b"1.0 ", b"\x00", b"a\x1fb",
    b"cn.yidi.visit.nothing.v1", b"cn.yidi.bad", b"urn:yidi:sender:AG330900",
    b"urn:yidi:sender:nobody", b"application/json; charset=utf-8", b"2.0", 1, ("ce_id",),
]  # fmt: skip


def outcome(read: Any, raw: Any) -> tuple[Any, ...]:
    try:
        env = read(raw)
    except EnvelopeError as err:
        return ("refused", err.code, err.field, err.message)
    except Exception as exc:  # a shape the general reading cannot even iterate
        return ("raised", type(exc).__name__)
    assert type(env) is Envelope
    return ("read", tuple(env))


@st.composite
def headers(draw: st.DrawFn) -> Any:
    raw: list[Any] = [(n, v) for n, v in zip(NAMES, GOOD, strict=True)]
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(raw) - 1)) if raw else 0
        change = draw(st.sampled_from(["value", "name", "drop", "repeat", "extra", "swap", "item"]))
        if not raw:
            break
        if not (isinstance(raw[i], tuple) and len(raw[i]) == 2):
            continue  # a damaged item stays as it is
        if change == "value":
            raw[i] = (raw[i][0], draw(st.sampled_from(ODD_VALUES) | st.binary(max_size=300)))
        elif change == "name":
            raw[i] = (draw(st.sampled_from([*NAMES, "traceparent", "other", b"ce_id"])), raw[i][1])
        elif change == "drop":
            del raw[i]
        elif change == "repeat":
            raw.insert(draw(st.integers(0, len(raw))), raw[i])
        elif change == "extra":
            raw.insert(draw(st.integers(0, len(raw))), ("yidi_redrive", b"1"))
        elif change == "swap":
            j = draw(st.integers(0, len(raw) - 1))
            raw[i], raw[j] = raw[j], raw[i]
        else:
            raw[i] = draw(
                st.sampled_from([("ce_id",), ("ce_id", b"a", b"b"), "ab", ["ce_id", b"a"]])
            )
    return tuple(raw) if draw(st.booleans()) else raw


def test_the_common_shape_takes_the_shortcut() -> None:
    raw = list(zip(NAMES, GOOD, strict=True))
    assert signed_envelope(raw) is not None
    assert outcome(parse_headers, raw) == outcome(read_envelope, raw)
    assert outcome(parse_headers, raw)[0] == "read"


@settings(max_examples=3000, deadline=None)
@given(headers())
def test_the_shortcut_reads_what_the_general_reading_reads(raw: Any) -> None:
    general = outcome(read_envelope, raw)
    assert outcome(parse_headers, raw) == general
    try:
        taken = signed_envelope(raw)
    except EnvelopeError as err:  # the shortcut's one refusal: the type, as the general one
        assert general == ("refused", err.code, err.field, err.message)
        return
    if taken is not None:
        assert general == ("read", tuple(taken))


def test_every_single_odd_value_in_every_place() -> None:
    """Exhaustive over one change: each of ``ODD_VALUES`` in each of the eight places."""
    for i in range(len(NAMES)):
        for odd in ODD_VALUES:
            raw = list(zip(NAMES, GOOD, strict=True))
            raw[i] = (NAMES[i], odd)
            assert outcome(parse_headers, raw) == outcome(read_envelope, raw), (i, odd)
