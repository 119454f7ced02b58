"""The adjudication task keys a row by ``Decoded.key`` (the codec's ``expected_key``) instead
of building ``person_key_of`` again: for every message it keys by person the two are the
same text, over every visit and registration message type of a simulated run."""

from __future__ import annotations

from dataclasses import replace

from contracts.filing import RegistrationMessage
from contracts.registry import MESSAGE_TYPES
from contracts.visit import VisitMessage
from events.stream.types import Output
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.fee_lines import prepare
from services.adjudication.handler import (
    PERSON_KEYED,
    SETTLEMENT_TOPIC,
    PersonRow,
    handle,
    person_key_of,
)
from services.adjudication.reference import DEFAULT_REFERENCE_DIR, load_reference
from services.entry.bootstrap import sender_ids
from services.tools.bench.task import simulated_records

REF = load_reference()
CODEC = Codec(demo_registry(sender_ids(REF)))


def test_no_person_keyed_type_has_a_key_field() -> None:
    keyed = [t for t in MESSAGE_TYPES.values() if issubclass(t, PERSON_KEYED)]
    assert len(keyed) >= 8
    assert all(t.key_field is None for t in keyed)
    assert (VisitMessage, RegistrationMessage) == PERSON_KEYED


def test_decoded_key_is_the_person_key() -> None:
    seen: set[str] = set()
    for record in simulated_records(DEFAULT_REFERENCE_DIR, CODEC, 200, 5, "person-key"):
        try:
            decoded = CODEC.decode(
                record.key, record.value, record.headers, topic=record.topic, prepare=prepare
            )
        except Exception:  # the run's bad inputs: refused before any key is taken
            continue
        text = person_key_of(decoded.message)
        assert text is not None
        assert decoded.key == text.encode()
        seen.add(type(decoded.message).__name__)
    assert len(seen) >= 6


def test_a_decoded_without_the_key_gives_the_same_outputs() -> None:
    """``handle`` keys a settlement's outputs by ``Decoded.key``, or builds the person key
    when a caller built its ``Decoded`` without one: the same outputs either way."""
    rows: dict[bytes, PersonRow] = {}
    settled = 0
    records = simulated_records(DEFAULT_REFERENCE_DIR, CODEC, 200, 5, "person-key-out")
    for record in records:
        try:
            decoded = CODEC.decode(
                record.key, record.value, record.headers, topic=record.topic, prepare=prepare
            )
        except Exception:
            continue
        assert decoded.key is not None
        row = rows.get(decoded.key, PersonRow())
        keyless = replace(decoded, key=None)
        new, outputs, _ = handle(row, decoded, record.topic, record.offset, REF)
        _, again, _ = handle(row, keyless, record.topic, record.offset, REF)
        assert again == outputs
        settled += sum(isinstance(o, Output) and o.topic == SETTLEMENT_TOPIC for o in outputs)
        rows[decoded.key] = new
    assert settled > 20
