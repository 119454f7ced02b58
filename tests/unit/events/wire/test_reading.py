"""One reading of an envelope (issue 15, findings 4, 6, 7 and the numbers of finding 1).

Each topic takes only its own message types from its own senders; a keyed message needs its
key; a header or a JSON key given twice is refused (no reader may pick another value than
the next); an unknown header changes nothing; ``NaN`` / ``Infinity`` / ``1e400`` are refused
at the first parse; what a refusal quotes is masked.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.registry import MESSAGE_TYPES, SENDER_SIGNED
from contracts.samples import HOME, SHANGHAI_HOSPITAL, ZHOUSHAN_CERT, samples, sender_of
from events.catalog import CATALOG, INPUT_TOPICS, owns
from events.dlq import parse_dlq
from events.stream.types import InputRecord
from events.wire.demo_keys import demo_codec
from events.wire.envelope import DATASCHEMA, envelope_headers, parse_headers
from events.wire.errors import DecodeError
from events.wire.rejection import rejected_input
from events.wire.strict_json import MAX_DEPTH, read_json
from services.tools.simulator.bad import resign

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]
CODEC = demo_codec([SHANGHAI_HOSPITAL, "H33090200001", f"AG{HOME}", "AG000000"])
VISIT, REGISTRATION = "yidi.visit.v1", "yidi.registration.v1"
SETTLE = "cn.yidi.visit.settlement_requested.v1"
FILING = "cn.yidi.filing.created.v1"


def signed(ce_type: str, sender: str | None = None, **changes: Any) -> Record:
    m = samples()[ce_type]
    if changes:
        m = m.model_copy(update=changes)
    return CODEC.encode(
        m,
        ce_id=f"{ce_type}-1",
        sender=sender or sender_of(m),
        ce_time=m.inf_time,  # type: ignore[attr-defined]
    )


def refusal(rec: Record, topic: str | None = VISIT) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(*rec, topic=topic)
    return caught.value


# --- topic ownership (findings 2, 3) -------------------------------------------------------


def test_a_hospital_signed_filing_on_the_visit_topic_is_wrong_topic_and_authentic() -> None:
    rec = signed(FILING, SHANGHAI_HOSPITAL, channel="hospital")
    assert CODEC.decode(*rec, topic=REGISTRATION).message.ce_type == FILING  # its own topic
    err = refusal(rec, VISIT)
    assert (err.code, err.field, err.authentic_sender) == (
        "E_WRONG_TOPIC",
        "ce_type",
        SHANGHAI_HOSPITAL,
    )


def test_an_agency_signed_filing_on_the_visit_topic_is_wrong_topic() -> None:
    err = refusal(signed(FILING), VISIT)
    assert (err.code, err.authentic_sender) == ("E_WRONG_TOPIC", f"AG{HOME}")


def test_a_visit_event_on_the_registration_topic_is_wrong_topic() -> None:
    err = refusal(signed(SETTLE), REGISTRATION)
    assert (err.code, err.authentic_sender) == ("E_WRONG_TOPIC", SHANGHAI_HOSPITAL)


def test_a_type_from_the_wrong_kind_of_sender_is_wrong_topic() -> None:
    """Person status is the home agency's word: a hospital may not send it (sender kind)."""
    status = samples()["cn.yidi.person.status.v1"]
    rec = CODEC.encode(status, ce_id="s-1", sender=SHANGHAI_HOSPITAL, ce_time=status.inf_time)  # type: ignore[attr-defined]
    err = refusal(rec, REGISTRATION)
    assert (err.code, err.field) == ("E_WRONG_TOPIC", "ce_source")


def test_outputs_are_taken_only_from_their_processor_and_topic() -> None:
    settled = samples()["cn.yidi.settlement.settled.v1"]
    good = CODEC.encode(
        settled,
        ce_id="s",
        sender="yidi-adjudication",
        ce_time=settled.setlinfo.setl_time,
        sign=False,
    )  # type: ignore[attr-defined]
    CODEC.decode(*good, authenticate=False, topic="yidi.settlement.v1")
    forged = CODEC.encode(
        settled, ce_id="s", sender="yidi-recon", ce_time=settled.setlinfo.setl_time, sign=False
    )  # type: ignore[attr-defined]
    assert refusal(forged, "yidi.settlement.v1").code == "E_WRONG_TOPIC"
    assert refusal(good, "yidi.clearing.v1").code == "E_WRONG_TOPIC"


def test_every_signed_type_has_exactly_one_input_topic_and_every_input_topic_an_owner() -> None:
    for ce_type in SENDER_SIGNED:
        carriers = [t.name for t in CATALOG if t.accepted_senders(ce_type) is not None]
        assert len(carriers) == 1, (ce_type, carriers)
        assert carriers[0] == MESSAGE_TYPES[ce_type].topic
    for topic in INPUT_TOPICS.values():
        assert topic.owner is not None and owns(topic.name, topic.owner)
    assert not owns(REGISTRATION, "yidi-adjudication"), "registration owns its topic's verdicts"
    assert not owns("yidi.settlement.v1", "yidi-clearing"), "the ledger owns the feed's"


# --- keys (finding 4) -----------------------------------------------------------------------


def test_a_null_key_is_refused_on_a_topic_and_allowed_for_a_bare_body() -> None:
    _, value, headers = signed(SETTLE)
    err = refusal((None, value, headers), VISIT)
    assert (err.code, err.field, err.authentic_sender) == (
        "E_KEY_MISSING",
        "key",
        SHANGHAI_HOSPITAL,
    )
    assert refusal((b"", value, headers), VISIT).code == "E_KEY_MISSING"
    CODEC.decode(None, value, headers)  # offline tools (a JSONL file) have no key


def test_a_key_that_is_not_the_persons_is_refused() -> None:
    _, value, headers = signed(SETTLE)
    err = refusal((f"{HOME}:someone-else".encode(), value, headers), VISIT)
    assert (err.code, err.field) == ("E_KEY", "key")


# --- headers (finding 7) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ce_id", "ce_source", "ce_type", "ce_time", "yidi_mac", "content-type"]
)
def test_a_cloudevents_header_given_twice_is_refused(name: str) -> None:
    key, value, headers = signed(SETTLE)
    first = dict(headers)[name]
    for dup in ([(name, first), *headers], [*headers, (name, b"other")]):
        err = refusal((key, value, dup))
        assert (err.code, err.field) == ("E_DUPLICATE_HEADER", name)


@pytest.mark.parametrize(
    "extra",
    [("x-vendor", "中文".encode()), ("x-vendor", b""), ("x-vendor", None), ("x-big", b"x" * 5000),
     ("ce_subject", b"\xff\xfe")],
)  # fmt: skip
def test_an_unknown_header_is_ignored_whatever_its_value(extra: tuple[str, bytes | None]) -> None:
    key, value, headers = signed(SETTLE)
    decoded = CODEC.decode(key, value, [*headers, extra, extra], topic=VISIT)  # type: ignore[list-item]
    assert decoded.sender_verified and decoded.envelope.ce_id == f"{SETTLE}-1"


def test_the_dlq_tooling_reads_headers_with_the_same_function() -> None:
    _, _, headers = signed(SETTLE)
    assert envelope_headers(headers)["ce_id"] == parse_headers(headers).ce_id
    with pytest.raises(DecodeError):
        envelope_headers([("ce_id", b"a"), *headers])


# --- duplicate JSON keys (finding 7) --------------------------------------------------------


def test_another_hospitals_code_first_and_its_own_last_is_refused() -> None:
    rec = signed(SETTLE)
    own = f'"fixmedins_code":"{SHANGHAI_HOSPITAL}"'.encode()
    value = rec[1].replace(own, b'"fixmedins_code":"H33090200001",' + own)
    assert json.loads(value)["fixmedins_code"] == SHANGHAI_HOSPITAL  # last wins elsewhere
    err = refusal(resign(CODEC, rec, value))
    assert (err.code, err.field, err.authentic_sender) == (
        "E_DUPLICATE_KEY", "fixmedins_code", SHANGHAI_HOSPITAL,
    )  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ['{"a":1,"a":2}', '{"a" :1,"a":1}', '{"b":{"c":1,"c":1}}', '{"x":"\\":","a":1,"a":2}',
     '[{"a":1},{"b":2,"b":3}]', '{"a\\"":1,"a\\"":2}', '{ "a" : 1 , "a" : 2 }'],
)  # fmt: skip
def test_duplicate_keys_are_found_in_any_layout(text: str) -> None:
    with pytest.raises(DecodeError) as caught:
        read_json(text.encode())
    assert caught.value.code == "E_DUPLICATE_KEY"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(doc=json_values, spaced=st.booleans())
def test_distinct_keys_are_never_taken_for_duplicates(doc: Any, spaced: bool) -> None:
    text = json.dumps(doc, ensure_ascii=False, separators=(", ", " : ") if spaced else (",", ":"))
    assert read_json(text.encode()) == doc


@settings(max_examples=200, deadline=None)
@given(
    doc=st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=5),
    compact=st.booleans(),
)
def test_a_repeated_key_is_always_found(doc: dict[str, Any], compact: bool) -> None:
    first = next(iter(doc))
    seps = (",", ":") if compact else (", ", ": ")
    text = json.dumps(doc, ensure_ascii=False, separators=seps)
    text = text[:-1] + seps[0] + json.dumps(first, ensure_ascii=False) + seps[1] + "0}"
    with pytest.raises(DecodeError) as caught:
        read_json(text.encode())
    assert caught.value.code == "E_DUPLICATE_KEY"


# --- numbers (finding 1: a later parse raised JSONDecodeError) -----------------------------


@pytest.mark.parametrize(
    "number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1" + b"0" * 400]
)
def test_numbers_json_cannot_carry_are_refused_at_the_first_parse(number: bytes) -> None:
    key, value, headers = signed(SETTLE)
    newer = [*headers, (DATASCHEMA, f"urn:yidi:schema:{SETTLE}:1.3".encode())]
    extra = value[:-1] + b',"x_newer":' + number + b"}"
    err = refusal(resign(CODEC, (key, value, newer), extra))
    assert (err.code, err.authentic_sender) == ("E_NUMBER", SHANGHAI_HOSPITAL)


def test_an_extra_field_of_a_newer_minor_is_still_ignored() -> None:
    key, value, headers = signed(SETTLE)
    newer = [*headers, (DATASCHEMA, f"urn:yidi:schema:{SETTLE}:1.3".encode())]
    extra = value[:-1] + b',"x_newer":1.5e300}'
    CODEC.decode(*resign(CODEC, (key, value, newer), extra), topic=VISIT)


def test_nesting_is_bounded_before_any_recursive_reader() -> None:
    for depth in (MAX_DEPTH + 1, 5000, 100_000):
        with pytest.raises(DecodeError) as caught:
            read_json(b"[" * depth + b"]" * depth)
        assert caught.value.code == "E_BOUNDS"


# --- masking (finding 6) --------------------------------------------------------------------


def test_an_id_number_as_a_field_name_never_reaches_the_ack_or_the_dlq_record() -> None:
    rec = signed(SETTLE)
    data = orjson.loads(rec[1])
    data[ZHOUSHAN_CERT] = "1"
    bad = resign(CODEC, rec, orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
    err = refusal(bad)
    assert err.code == "E_EXTRA_FIELD" and ZHOUSHAN_CERT not in f"{err.message}{err.field}"
    record = InputRecord(VISIT, 0, 7, *bad, 1_790_000_000_000)
    outs = rejected_input(
        record, err, codec=CODEC, stage="adjudication", processor="yidi-adjudication"
    )
    assert len(outs) == 2  # the DLQ record and the error ack
    dead = parse_dlq(outs[0].value)
    assert ZHOUSHAN_CERT not in dead.reason.model_dump_json()
    assert ZHOUSHAN_CERT not in outs[1].value.decode()
    assert dead.original_value() == bad[1], "the original bytes stay restorable"
