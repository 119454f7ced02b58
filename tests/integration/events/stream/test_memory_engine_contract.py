"""The stream layer's in-memory driver held to the Kafka engine (issue 16).

Unit tests and ``yidi bench task`` drive tasks through ``events/stream/memory.MemoryEngine``;
that is only worth something if it does what ``StreamEngine`` does. Here the same task (the
registration task, with its guard and its projection-rows port) reads the same records on
the real broker through the engine, and from memory through the driver, in batches of other
sizes: the outputs, the compacted changelog, the committed positions, the projection rows and
the guard's count must be the same. The input holds what the guard exists for: a record the
client cannot parse and a record whose processing raises, beside the simulator's own bad
messages (a forged MAC, a truncated body).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream.changelog import restore_partition
from events.stream.clients import idempotent_producer
from events.stream.config import EngineConfig
from events.stream.engine import StreamEngine
from events.stream.memory import MemoryEngine
from events.stream.reader import read_spans
from events.stream.types import InputRecord, Output, Result, TaskFactory
from services.ops.core.replay import Span
from services.ops.log_reader import log_bounds, ops_consumer
from services.registration import task as registration
from services.registration.projection import PendingRows, ProjectionRow
from services.runtime.settings import Settings
from tests.engine_support import REGISTRATION, run_until_caught_up, world
from tests.raw_batch import RawRecord, batch, produce_batch

PARTITIONS = 3
BOOM = b"boom"


class Faulty(registration.RegistrationTask):
    """The registration task, raising for one key: the guard's ``failed`` path."""

    def process(self, record: InputRecord) -> Result:
        if record.key == BOOM:
            raise RuntimeError("a bug")
        return super().process(record)


def _factory(rows: PendingRows) -> TaskFactory:
    codec = world().codec
    return lambda p, restored: Faulty(p, restored, codec, rows)


def _comparable(outputs: Sequence[Output]) -> Counter[tuple[object, ...]]:
    return Counter((o.topic, o.key, o.value, tuple(map(tuple, o.headers))) for o in outputs)


def _rows(rows: Sequence[ProjectionRow]) -> list[str]:
    return sorted(map(repr, rows))


async def _publish(settings: Settings, src: str) -> int:
    """The simulated registrations over the partitions, a record that raises, and a record
    the client cannot parse; returns how many."""
    regs = [r for r in world().records if r.topic == REGISTRATION]
    producer = idempotent_producer(settings.kafka(), client_id="it-memory")
    await producer.start()
    try:
        sent = [
            await producer.send(
                src, r.value, key=r.key, headers=list(r.headers), partition=i % PARTITIONS
            )
            for i, r in enumerate(regs)
        ]
        sent.append(
            await producer.send(src, regs[0].value, key=BOOM, headers=list(regs[0].headers))
        )
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    damaged = RawRecord(b"d1", b"{}", [(b"ce_specversion", b"1.0"), (b"\xff\xfece_id", b"x")])
    await produce_batch(settings.kafka(), src, 1, batch([damaged]))
    return len(regs) + 2


async def test_the_memory_driver_and_the_kafka_engine_give_the_same_results(
    settings: Settings, unique: str
) -> None:
    src, log = f"it.memory.src.{unique}", f"it.memory.log.{unique}"
    await apply(
        settings.kafka(),
        (
            Topic(src, "k", "t", PARTITIONS),
            Topic(log, "k", "t", PARTITIONS, cleanup_policy="compact"),
        ),
        "test",
    )
    try:
        total = await _publish(settings, src)
        guard = registration.guard(world().codec)

        live_rows, live_outputs, live_projected = PendingRows(), [], []

        async def on_batch(outputs: list[Output]) -> None:
            live_outputs.extend(outputs)
            live_projected.extend(live_rows.drain())

        config = EngineConfig(settings.kafka(), f"it-memory-{unique}", (src,), log, max_batch=7)
        engine = StreamEngine(config, _factory(live_rows), on_batch, guard)
        await run_until_caught_up(engine, total)
        live_changelog = {
            p: store
            for p in range(PARTITIONS)
            if (store := await restore_partition(settings.kafka(), log, p))
        }

        memory_rows, memory_projected = PendingRows(), []
        memory = MemoryEngine(
            _factory(memory_rows),
            registration.guard(world().codec),
            on_batch=lambda _outputs: memory_projected.extend(memory_rows.drain()),
        )
        async with ops_consumer(settings.kafka()) as consumer:
            _, ends = await log_bounds(consumer, src)
            spans = [Span(p, 0, end) for p, end in ends.items()]
            async for records in read_spans(consumer, src, spans, batch=11):
                memory.batch(records)
    finally:
        await delete_topics(settings.kafka(), [src, log])

    assert engine.stats.records == memory.stats.records == total
    assert memory.stats.failed == engine.stats.failed == 2, "one raised, one unparseable"
    assert _comparable(memory.outputs) == _comparable(live_outputs)
    kinds = Counter(o.topic.split(".")[1] for o in memory.outputs)
    assert kinds["ack"] >= total - 2 and kinds["dlq"] >= 2, kinds
    assert {p: s for p, s in memory.stores.items() if s} == live_changelog
    assert memory.committed == {(src, p): end for p, end in ends.items()}
    assert memory_projected and _rows(memory_projected) == _rows(live_projected)
