"""The engine's in-memory path for tests: the real adjudication and registration tasks over
the real reference data, simulated signed records to start from, and what counts as one
outcome of one record.

An *outcome* of one input record, per processor that reads it, is exactly one of:
- ``dlq``: one DLQ record naming this record's topic/partition/offset, and nothing else;
- ``dlq+ack``: that DLQ record plus one rejected ack to the sender carrying the same code
  (an authentic sender: the MAC verified), and nothing else;
- ``ack``: one ack (accepted, rejected or duplicate) naming this record's ``ce_id``, plus at
  most one settlement or reversal when accepted, and no DLQ record;
- ``silent``: nothing, only for the adjudicator reading a valid registration message
  (the registration processor acks it) or a re-read record it has already applied.
Every output must validate against its own contract and a DLQ record must fit the broker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

import orjson

from contracts.ack import Ack
from contracts.codes import AckStatus
from events.catalog import ACK_TOPIC_PREFIX
from events.dlq import DLQ_TOPIC, MAX_DLQ_RECORD_BYTES, parse_dlq
from events.stream.engine import StreamEngine
from events.stream.guard import RecordGuard, process_record
from events.stream.types import InputRecord, Output, Result, Task
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from events.wire.envelope import parse_headers
from events.wire.limits import MAX_SHORT_TEXT, fit
from events.wire.signing import compute_mac
from services.adjudication import task as adjudication
from services.adjudication.core.tables import ReferenceData
from services.adjudication.handler import SETTLEMENT_TOPIC
from services.adjudication.reference import DEFAULT_REFERENCE_DIR, load_reference
from services.entry.bootstrap import sender_ids
from services.registration import task as registration
from services.tools.bench.task import simulated_records

VISIT = "yidi.visit.v1"
REGISTRATION = "yidi.registration.v1"
BROKER_MAX_MESSAGE = 1_048_588
"""The broker's default ``message.max.bytes``: a DLQ record above it cannot be published."""


@dataclass(frozen=True)
class World:
    ref: ReferenceData
    codec: Codec
    records: tuple[InputRecord, ...]
    """A simulated run's signed records, registration topic first, then the visits."""


@cache
def world(visits: int = 60, seed: int = 7) -> World:
    ref = load_reference(DEFAULT_REFERENCE_DIR)
    codec = Codec(demo_registry(sender_ids(ref)))
    records = tuple(simulated_records(DEFAULT_REFERENCE_DIR, codec, visits, seed, "promise"))
    return World(ref, codec, records)


def adjudication_task(w: World, partition: int, store: dict[bytes, bytes] | None = None) -> Task:
    return adjudication.AdjudicationTask(partition, dict(store or {}), w.codec, w.ref)


def registration_task(w: World, partition: int, store: dict[bytes, bytes] | None = None) -> Task:
    return registration.RegistrationTask(partition, dict(store or {}), w.codec)


def guards(w: World) -> dict[str, RecordGuard]:
    return {
        "adjudication": adjudication.guard(w.codec),
        "registration": registration.guard(w.codec),
    }


def run(task: Task, record: InputRecord, guard: RecordGuard) -> Result:
    """The engine's per-record step (what ``StreamEngine`` calls)."""
    return process_record(task, record, guard)


def flush_into(task: Task, store: dict[bytes, bytes]) -> int:
    writes = task.flush_state()
    for w in writes:
        if w.value is None:
            store.pop(w.key, None)
        else:
            store[w.key] = w.value
    return len(writes)


def resign(
    w: World,
    record: InputRecord,
    *,
    value: bytes | None = None,
    ce_id: str | None = None,
    ce_time: str | None = None,
    extra_headers: Sequence[tuple[str, bytes]] = (),
    key: bytes | str | None = "same",
) -> InputRecord:
    """``record`` with a new body / ce_id / ce_time, signed again by its own sender."""
    env = parse_headers(record.headers)
    env = env._replace(
        ce_id=ce_id if ce_id is not None else env.ce_id,
        ce_time=ce_time if ce_time is not None else env.ce_time,
    )
    body = record.value if value is None else value
    assert body is not None
    when = dt.datetime.fromisoformat(parse_headers(record.headers).ce_time)
    k = w.codec.keys.current(env.sender, when)
    mac = compute_mac(k.secret, env, body)
    headers = [
        ("ce_specversion", b"1.0"), ("ce_id", env.ce_id.encode()), ("ce_type", env.ce_type.encode()),
        ("ce_source", env.ce_source.encode()), ("ce_time", env.ce_time.encode()),
        ("content-type", b"application/json"), *extra_headers,
        ("yidi_kid", k.kid.encode()), ("yidi_mac", mac.encode()),
    ]  # fmt: skip
    return replace(
        record,
        value=body,
        headers=headers,
        key=record.key if key == "same" else key,  # type: ignore[arg-type]
    )


def with_body(w: World, record: InputRecord, **changes: object) -> InputRecord:
    """A signed copy of ``record`` whose JSON body has ``changes`` applied."""
    assert record.value is not None
    data = orjson.loads(record.value)
    data.update(changes)
    return resign(w, record, value=orjson.dumps(data, option=orjson.OPT_SORT_KEYS))


def first(w: World, ce_type_part: str, topic: str = VISIT) -> InputRecord:
    return next(
        r for r in w.records
        if r.topic == topic and ce_type_part in parse_headers(r.headers).ce_type
    )  # fmt: skip


def header_text(record: InputRecord, name: str) -> str | None:
    """The header as the envelope reads it (the last of duplicates)."""
    for k, v in reversed(record.headers):
        if k == name:
            try:
                return None if v is None else bytes(v).decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def outcome(record: InputRecord, outputs: Sequence[Output], stage: str) -> str:
    """The kind of ``outputs`` as the outcome of ``record`` (module docstring); raises
    AssertionError when they are not exactly one outcome."""
    dlq = [o for o in outputs if o.topic == DLQ_TOPIC]
    acks = [o for o in outputs if o.topic.startswith(ACK_TOPIC_PREFIX)]
    results = [o for o in outputs if o.topic == SETTLEMENT_TOPIC]
    assert len(dlq) + len(acks) + len(results) == len(outputs), [o.topic for o in outputs]
    assert len(dlq) <= 1, f"{len(dlq)} DLQ records for one input"
    assert len(acks) <= 1, f"{len(acks)} acks for one input"
    for d in dlq:
        assert len(d.value) <= MAX_DLQ_RECORD_BYTES < BROKER_MAX_MESSAGE
        body = parse_dlq(d.value)
        src = body.source
        assert (src.topic, src.partition, src.offset) == (
            record.topic, record.partition, record.offset,
        )  # fmt: skip
        assert body.stage == stage
    parsed = [Ack.model_validate_json(a.value) for a in acks]
    ce_id = header_text(record, "ce_id")
    for ack in parsed:
        if ce_id is not None:
            assert ack.ack_for == fit(ce_id, MAX_SHORT_TEXT)
    if dlq and acks:
        assert not results
        assert parsed[0].status == AckStatus.REJECTED and parsed[0].error is not None
        assert parsed[0].error.code == parse_dlq(dlq[0].value).reason.code
        assert parse_dlq(dlq[0].value).authentic
        return "dlq+ack"
    if dlq:
        assert not results
        return "dlq"
    if acks:
        assert len(results) <= 1
        if results:
            assert parsed[0].status == AckStatus.ACCEPTED
        return "ack"
    assert not results, "a settlement without an ack"
    return "silent"


def kinds(outputs: list[Output]) -> Counter[str]:
    """What a batch of outputs holds, by kind and code (``dlq:E_X``, ``ack:rejected:E_Y``,
    ``settlement``): what the per-finding tests compare."""
    found: Counter[str] = Counter()
    for out in outputs:
        if out.topic == DLQ_TOPIC:
            found["dlq:" + parse_dlq(out.value).reason.code] += 1
        elif out.topic == SETTLEMENT_TOPIC:
            found["settlement"] += 1
        else:
            ack = Ack.model_validate_json(out.value)
            found[f"ack:{ack.status}:{ack.error.code if ack.error else ''}"] += 1
    return found


async def run_until_caught_up(engine: StreamEngine, expected_records: int) -> None:
    """Start ``engine`` and run it until it has processed ``expected_records`` and its lag is
    0, then stop it; fail if it exits on its own (a record stopped it)."""
    stop = asyncio.Event()
    await engine.start()
    runner = asyncio.create_task(engine.run(stop))
    try:
        for _ in range(600):
            await asyncio.sleep(0.1)
            assert not runner.done(), f"the engine stopped: {runner.exception()!r}"
            if engine.stats.records >= expected_records and await engine.lag() == 0:
                break
        else:
            raise AssertionError(f"not caught up: {engine.stats}")
        stop.set()
        await asyncio.wait_for(runner, timeout=30)
    finally:
        await engine.stop()
