"""The fast fee-upload reading (``events/wire/fee_lines.py``) held to the contract's path:
what both processors' tests compare (``tests/unit/adjudication/test_fee_lines.py``,
``tests/unit/supervision/test_fee_lines.py``), each with what its own core makes of the
message (``core``). Every body is decoded twice, with and without the processor's
``prepare``: the same refusal (code, field, text), or the same envelope, header values and
core value, compared by ``repr`` so a ``Decimal``'s digits count."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from events.wire.codec import Codec, Prepare
from events.wire.errors import DecodeError
from services.adjudication.reference import DEFAULT_REFERENCE_DIR
from services.tools.bench.task import simulated_records
from tests.unit.events.wire.test_bad_inputs import FEES, Record

BODIES = int(os.environ.get("YIDI_FUZZ_FEE_LINES_CASES", "300"))
"""Hypothesis bodies per processor's test: 300 in ``make test`` (about 5 s each), more in
``make fuzz-fee-lines`` (20,000 each). The corpora (simulator, bad inputs, engine fuzz cases)
run whole either way."""

Outcome = tuple[Any, ...]
Core = Callable[[Any], tuple[Any, ...]]
"""What a processor's core makes of an accepted message, as values to compare."""


def outcome(
    codec: Codec, record: Record, topic: str | None, fast: Prepare | None, core: Core
) -> Outcome:
    key, value, headers = record
    try:
        decoded = codec.decode(key, value, headers, topic=topic, prepare=fast)
    except DecodeError as err:
        return ("refused", type(err).__name__, err.code, err.field, err.message)
    message = decoded.message
    header = {  # every field but the lines, which are compared as the core's
        name: repr(getattr(message, name)) for name in type(message).model_fields
    }
    header.pop("feedetail", None)
    return ("accepted", decoded.envelope, decoded.sender_verified, decoded.when, header,
            message.ce_type, *core(message))  # fmt: skip


def compared(
    codec: Codec, record: Record, topic: str | None, prepare: Prepare, core: Core
) -> tuple[bool, Outcome]:
    """Both readings' outcomes asserted equal; whether ``prepare`` took the body, and the
    outcome."""
    taken: list[bool] = []

    def spy(model: Any, doc: Any) -> Any:
        message = prepare(model, doc)
        taken.append(message is not None)
        return message

    fast = outcome(codec, record, topic, spy, core)
    assert fast == outcome(codec, record, topic, None, core)
    return any(taken), fast


def assert_the_simulators_uploads_are_all_taken(
    codec: Codec, same: Callable[[Codec, Record, str | None], bool], seed: int, run_id: str
) -> None:
    """Every valid fee upload of a simulated day is read by the fast path, the same way."""
    records = simulated_records(DEFAULT_REFERENCE_DIR, codec, 300, seed, run_id)
    uploads = [r for r in records if FEES.encode() in dict(r.headers).get("ce_type", b"")]
    taken = sum(same(codec, (r.key, r.value or b"", list(r.headers)), r.topic) for r in records)
    valid = 0
    for r in uploads:
        try:
            codec.decode(r.key, r.value, r.headers, topic=r.topic)
            valid += 1
        except DecodeError:
            pass
    assert len(uploads) > 300 and valid > 0.95 * len(uploads)
    assert taken == valid
