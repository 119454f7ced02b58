"""The engine's promise on the real broker (issue 15): a record the client library cannot
parse, and a record too large for its DLQ record to carry, each end in one DLQ record; the
engine seeks past them, processes the next record, and never exits."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import TopicPartition

from contracts.ack import Ack
from events.admin import apply, delete_topics
from events.catalog import Topic, ack_topic
from events.dlq import DLQ_TOPIC, MAX_DLQ_RECORD_BYTES, DlqRecord, parse_dlq, record_digest
from events.stream import clients
from events.stream.config import EngineConfig
from events.stream.engine import StreamEngine
from events.stream.guard import E_UNPARSEABLE, RecordGuard
from events.stream.types import InputRecord, Output, Result, StateWrite
from events.wire.envelope import parse_headers
from services.adjudication import task as adjudication
from services.ops.core.dlq import DlqEntry, DlqPosition
from services.ops.core.redrive import by_reference
from services.ops.kafka import partition_counts, read_sources
from services.ops.log_reader import ops_consumer
from services.runtime.settings import Settings
from tests.engine_support import run_until_caught_up, world
from tests.raw_batch import RawRecord, batch, produce_batch

BAD_NAME = b"\xff\xfece_id"


class EchoTask:
    """Publishes each record's value to ``out``: shows which records reached the task."""

    def __init__(self, out: str) -> None:
        self.out = out

    def process(self, record: InputRecord) -> Result:
        return Result([Output(self.out, record.key, record.value or b"")])

    def flush_state(self) -> list[StateWrite]:
        return []


async def _read_from(
    settings: Settings, starts: dict[TopicPartition, int]
) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """(partition, offset, key, value) of every record from ``starts`` to the current ends."""
    consumer = clients.consumer(settings.kafka(), enable_auto_commit=False)
    await consumer.start()
    out: list[tuple[int, int, bytes | None, bytes | None]] = []
    try:
        tps = list(starts)
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
            while await consumer.position(tp) < ends[tp]:
                got = await consumer.getmany(tp, timeout_ms=1000)
                out.extend((r.partition, r.offset, r.key, r.value) for r in got.get(tp, []))
    finally:
        await consumer.stop()
    return out


async def _snapshot(settings: Settings, topics: Sequence[str]) -> dict[TopicPartition, int]:
    """The end offset of every partition of ``topics`` now: what a test reads from later."""
    counts = await partition_counts(settings.kafka(), topics)
    assert all(counts.values()), f"missing topics (make up): {counts}"
    consumer = clients.consumer(settings.kafka())
    await consumer.start()
    try:
        return await consumer.end_offsets(
            [TopicPartition(t, p) for t, n in counts.items() for p in range(n)]
        )
    finally:
        await consumer.stop()


def _ours(dlq: list[tuple[int, int, bytes | None, bytes | None]], src: str) -> list[DlqRecord]:
    found = [parse_dlq(v or b"") for _, _, _, v in dlq]
    return sorted((d for d in found if d.source.topic == src), key=lambda d: d.source.offset)


async def test_unparseable_records_are_dead_lettered_by_position_and_the_partition_goes_on(
    settings: Settings, unique: str
) -> None:
    src, out = f"it.promise.src.{unique}", f"it.promise.out.{unique}"
    await apply(settings.kafka(), (Topic(src, "k", "t", 1), Topic(out, "k", "t", 1)), "test")
    starts = await _snapshot(settings, [DLQ_TOPIC])
    try:

        def good(i: int) -> RawRecord:
            return RawRecord(f"k{i}".encode(), f"v{i}".encode(), [(b"ce_id", f"e{i}".encode())])

        bad = [(b"ce_specversion", b"1.0"), (BAD_NAME, b"x")]
        await produce_batch(
            settings.kafka(),
            src,
            0,
            batch([good(0), RawRecord(b"b1", b"{}", bad), good(2)]),
        )
        await produce_batch(
            settings.kafka(), src, 0,
            batch([good(3), RawRecord(b"b4", b"{}", bad), good(5)], compress=True),
        )  # fmt: skip
        producer = clients.producer(settings.kafka())
        await producer.start()
        await producer.send_and_wait(src, b"v6", key=b"k6")
        await producer.stop()

        config = EngineConfig(settings.kafka(), f"it-promise-{unique}", (src,), None, max_batch=2)
        engine = StreamEngine(config, lambda p, r: EchoTask(out), guard=RecordGuard("it-promise"))
        await run_until_caught_up(engine, 7)

        echoed = [v for _, _, _, v in await _read_from(settings, {TopicPartition(out, 0): 0})]
        dead = _ours(await _read_from(settings, starts), src)
    finally:
        await delete_topics(settings.kafka(), [src, out])
    assert echoed == [b"v0", b"v2", b"v3", b"v5", b"v6"]  # every readable record, in order
    assert [d.source.offset for d in dead] == [1, 4]
    for d in dead:
        assert d.reason.code == E_UNPARSEABLE and d.stage == "it-promise"
        assert d.header_names_b64 is not None
        assert [n for n, _ in d.headers] == ["ce_specversion", "\\xff\\xfece_id"]
        assert d.original_value() == b"{}"
    assert engine.stats.failed == 2


async def test_oversized_inputs_get_a_dead_letter_that_fits_and_the_partition_goes_on(
    settings: Settings, unique: str
) -> None:
    w = world()
    src, log = f"it.promise.visit.{unique}", f"it.promise.log.{unique}"
    await apply(
        settings.kafka(),
        (Topic(src, "k", "t", 1), Topic(log, "k", "t", 1, cleanup_policy="compact")),
        "test",
    )
    valid = next(r for r in w.records if r.topic == "yidi.visit.v1")
    sender = parse_headers(valid.headers).sender
    starts = await _snapshot(settings, [DLQ_TOPIC, ack_topic(sender)])
    unsigned = [(k, v) for k, v in valid.headers if k not in ("yidi_kid", "yidi_mac")]
    big = b'{"x":"' + b"a" * 850_000 + b'"}'
    huge = b'{"x":"' + b"a" * 5_000_000 + b'"}'
    try:
        plain = clients.producer(settings.kafka(), max_request_size=8 << 20)
        gz = clients.producer(settings.kafka(), max_request_size=8 << 20, compression_type="gzip")
        await plain.start()
        await gz.start()
        try:
            await plain.send_and_wait(src, big, key=valid.key, headers=unsigned)
            await gz.send_and_wait(src, huge, key=valid.key, headers=unsigned)
            await plain.send_and_wait(src, valid.value, key=valid.key, headers=list(valid.headers))
        finally:
            await plain.stop()
            await gz.stop()

        config = EngineConfig(settings.kafka(), f"it-promise-{unique}", (src,), log)
        engine = StreamEngine(
            config,
            lambda p, r: adjudication.AdjudicationTask(p, r, w.codec, w.ref),
            guard=adjudication.guard(w.codec),
        )
        await run_until_caught_up(engine, 3)

        read = await _read_from(settings, starts)
        dlq_starts = {tp: o for tp, o in starts.items() if tp.topic == DLQ_TOPIC}
        dead_rows = [r for r in await _read_from(settings, dlq_starts)]
        dead = _ours(dead_rows, src)
        acks = [Ack.model_validate_json(v or b"") for _, _, _, v in read if v and b'"ack_for"' in v]
        async with ops_consumer(settings.kafka()) as consumer:
            entries = [DlqEntry(DLQ_TOPIC, DlqPosition(0, i), 0, d) for i, d in enumerate(dead)]
            originals = await read_sources(consumer, [e.source for e in entries])
    finally:
        await delete_topics(settings.kafka(), [src, log])

    assert [d.source.offset for d in dead] == [0, 1]
    sizes = [len(v or b"") for _, _, _, v in dead_rows if v and src.encode() in v]
    assert sizes and max(sizes) <= MAX_DLQ_RECORD_BYTES
    for d, body in zip(dead, (big, huge), strict=True):
        assert d.value_b64 is None and d.original is not None
        assert d.original.value_size == len(body)
        expected = InputRecord(src, 0, d.source.offset, valid.key, body, unsigned, 0)
        assert d.original.sha256 == record_digest(expected)
    for entry in entries:  # redrive reads the original back from the source log and checks it
        key, value, _ = by_reference(entry, originals[entry.source])
        assert key == valid.key and value in (big, huge)
    ce_id = parse_headers(valid.headers).ce_id
    assert [a.ack_for for a in acks if a.ack_for == ce_id], "the next record was not processed"
