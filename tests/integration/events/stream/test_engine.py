"""The stream engine against the real broker: restore, crash mid-batch, resume exactly."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from events.stream import engine as engine_module
from events.stream.clients import KafkaConnection
from events.stream.config import EngineConfig
from events.stream.engine import StreamEngine
from events.stream.types import InputRecord, Output, Result, StateWrite
from services.runtime.settings import Settings
from tests.integration.events.stream.frozen_member import (
    FREEZE_S,
    FROZEN_SESSION_MS,
    run_beside_a_frozen_member,
)

PARTITIONS = 3


class Crash(BaseException):
    """The process dying mid-batch. Not an ``Exception``: the engine dead-letters a record
    whose processing raises one (a record's content never stops it); a crash is no record's."""


class CountingTask:
    """Counts records per key; remembers the last applied offset per key (replay detection)."""

    def __init__(
        self, out_topic: str, restored: dict[bytes, bytes], crash_after: list[int]
    ) -> None:
        self.out_topic = out_topic
        self.state = {k.decode(): json.loads(v) for k, v in restored.items()}
        self.crash_after = crash_after

    def flush_state(self) -> list[StateWrite]:
        return []

    def process(self, record: InputRecord) -> Result:
        assert record.key is not None
        if self.crash_after and self.crash_after[0] == 0:
            self.crash_after.pop(0)
            raise Crash
        if self.crash_after:
            self.crash_after[0] -= 1
        st = self.state.get(record.key.decode(), {"n": 0, "last": -1})
        if record.offset <= st["last"]:
            return Result()  # already applied before a crash: its outputs already landed
        st = {"n": st["n"] + 1, "last": record.offset}
        self.state[record.key.decode()] = st
        out = Output(self.out_topic, record.key, f"{record.key.decode()}:{st['n']}".encode())
        return Result([out], [StateWrite(record.key, json.dumps(st).encode())])


async def run_through_crashes(
    config: EngineConfig, out_topic: str, crashes: list[int], rounds: int
) -> None:
    """Run a fresh engine of ``CountingTask`` per entry of ``crashes`` (records processed
    before that engine's simulated crash), then one more until its lag is 0: a process that
    dies mid-batch and is started again, as often as ``crashes`` says."""
    crashes = list(crashes)
    while True:
        budget = [crashes.pop(0)] if crashes else []
        engine = StreamEngine(config, lambda p, r, b=budget: CountingTask(out_topic, r, b))
        await engine.start()
        stop = asyncio.Event()
        try:
            runner = asyncio.create_task(engine.run(stop))
            for _ in range(rounds):
                await asyncio.sleep(0.1)
                if runner.done() or (not budget and await engine.lag() == 0):
                    break
            stop.set()
            try:
                await runner
            except Crash:
                continue
            if not budget:
                return
        finally:
            await engine.stop()


async def _read_all(settings: Settings, topic: str) -> list[bytes]:
    """Every record of ``topic``, up to its end offsets at call time."""
    consumer = clients.consumer(
        settings.kafka(), enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    got: list[bytes] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=500)
                got.extend(r.value for r in batch.get(tp, []))
    finally:
        await consumer.stop()
    return got


async def _topics_with_records(
    settings: Settings, unique: str, n: int, keys: int
) -> tuple[str, ...]:
    """Source, output and changelog topics; ``n`` records over ``keys`` keys in the source."""
    src, out, log = f"it.eng.src.{unique}", f"it.eng.out.{unique}", f"it.eng.log.{unique}"
    await apply(
        settings.kafka(),
        (
            Topic(src, "k", "t", PARTITIONS),
            Topic(out, "k", "t", PARTITIONS),
            Topic(log, "k", "t", PARTITIONS, cleanup_policy="compact"),
        ),
        "test",
    )
    producer = clients.producer(settings.kafka(), enable_idempotence=True)
    await producer.start()
    futures = [await producer.send(src, key=f"k{i % keys}".encode(), value=b"x") for i in range(n)]
    await asyncio.gather(*futures)
    await producer.stop()
    return src, out, log


async def test_crash_mid_batch_then_resume_gives_exact_state(
    settings: Settings, unique: str
) -> None:
    n, keys = 3000, 37
    src, out, log = await _topics_with_records(settings, unique, n, keys)

    config = EngineConfig(settings.kafka(), f"it-eng-{unique}", (src,), log, max_batch=250)
    try:
        await run_through_crashes(config, out, [700, 900, 400], rounds=200)
        outputs = await _read_all(settings, out)
    finally:
        await delete_topics(settings.kafka(), [src, out, log])

    distinct = set(outputs)
    per_key = Counter(i % keys for i in range(n))
    expected = {f"k{k}:{i}".encode() for k in range(keys) for i in range(1, per_key[k] + 1)}
    assert distinct == expected, "an output is missing or was computed differently after a crash"
    assert len(outputs) >= n


class BigWriteTask(CountingTask):
    """Writes a state value the changelog topic refuses when it meets offset ``at``."""

    def __init__(self, out_topic: str, restored: dict[bytes, bytes], at: int) -> None:
        super().__init__(out_topic, restored, [])
        self.at = at

    def process(self, record: InputRecord) -> Result:
        result = super().process(record)
        if record.offset == self.at:
            return Result(result.outputs, [StateWrite(b"big", b"x" * 4096)])
        return result


async def test_a_refused_state_write_stops_the_engine_before_anything_later_is_committed(
    settings: Settings, unique: str
) -> None:
    """The tail of a batch runs while the next batch is processed; when its state write
    fails, no later batch may commit past it (the next owner would miss that state)."""
    src, out, log = f"it.eng.src.{unique}", f"it.eng.out.{unique}", f"it.eng.log.{unique}"
    await apply(
        settings.kafka(),
        (
            Topic(src, "k", "t", 1),
            Topic(out, "k", "t", 1),
            Topic(log, "k", "t", 1, "compact", configs={"max.message.bytes": "2048"}),
        ),
        "test",
    )
    producer = clients.producer(settings.kafka(), enable_idempotence=True)
    await producer.start()
    futures = [await producer.send(src, key=f"k{i % 7}".encode(), value=b"x") for i in range(1000)]
    await asyncio.gather(*futures)
    await producer.stop()
    group = f"it-eng-{unique}"
    config = EngineConfig(settings.kafka(), group, (src,), log, max_batch=50)
    engine = StreamEngine(config, lambda p, r: BigWriteTask(out, r, at=420))
    await engine.start()
    try:
        with pytest.raises(KafkaError):
            await asyncio.wait_for(engine.run(asyncio.Event()), timeout=60)
    finally:
        await engine.stop()
    reader = clients.consumer(settings.kafka(), group_id=group)
    await reader.start()
    try:
        committed = await reader.committed(TopicPartition(src, 0))
    finally:
        await reader.stop()
        await delete_topics(settings.kafka(), [src, out, log])
    assert committed is not None and 0 < committed <= 420


async def _each_output_once(settings: Settings, topics: tuple[str, ...], n: int, keys: int) -> None:
    try:
        outputs = await _read_all(settings, topics[1])
    finally:
        await delete_topics(settings.kafka(), list(topics))
    per_key = Counter(i % keys for i in range(n))
    expected = Counter(f"k{k}:{i}".encode() for k in range(keys) for i in range(1, per_key[k] + 1))
    assert Counter(outputs) == expected, "an output was published twice (two writers) or lost"


async def test_a_member_restoring_through_a_rebalance_keeps_its_partitions_until_done(
    settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restore longer than the session timeout while another member joins: the group waits
    for the member's batch instead of expelling it, so no partition ever has two writers (an
    expelled member would publish its batch again and write stale state to the changelog)."""
    n, keys = 400, 20
    topics = await _topics_with_records(settings, unique, n, keys)
    src, out, log = topics
    slow = asyncio.Event()
    real_restore = engine_module.restore_partition

    async def slow_first_restore(
        bootstrap: KafkaConnection, topic: str, partition: int
    ) -> dict[bytes, bytes]:
        restored = await real_restore(bootstrap, topic, partition)
        if not slow.is_set():
            slow.set()
            await asyncio.sleep(FREEZE_S)  # longer than the session timeout
        return restored

    monkeypatch.setattr(engine_module, "restore_partition", slow_first_restore)
    config = EngineConfig(
        settings.kafka(), f"it-eng-{unique}", (src,), log, session_timeout_ms=FROZEN_SESSION_MS
    )
    engines = [StreamEngine(config, lambda p, r: CountingTask(out, r, [])) for _ in range(2)]
    stop = asyncio.Event()
    runners: list[asyncio.Task[None]] = []
    try:
        await engines[0].start()
        runners.append(asyncio.create_task(engines[0].run(stop)))
        await asyncio.wait_for(slow.wait(), timeout=30)
        await engines[1].start()  # joins while the first member restores
        runners.append(asyncio.create_task(engines[1].run(stop)))
        for _ in range(600):
            await asyncio.sleep(0.1)
            assert not any(r.done() for r in runners), [r.exception() for r in runners]
            if sum(e.stats.records for e in engines) >= n:
                break
        await asyncio.sleep(3)
        stop.set()
        await asyncio.gather(*runners)
    finally:
        for engine in engines:
            await engine.stop()
    await _each_output_once(settings, topics, n, keys)


async def test_a_member_expelled_while_its_loop_stalled_drops_its_batch(
    settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event loop blocked past the session timeout (no heartbeats) gets the member expelled
    whatever the rebalance timeout; when it wakes it must not publish the batch it holds."""
    n, keys = 400, 20
    topics = await _topics_with_records(settings, unique, n, keys)
    src, out, log = topics
    stalled = threading.Event()
    real_restore = engine_module.restore_partition

    async def stalling_first_restore(
        bootstrap: KafkaConnection, topic: str, partition: int
    ) -> dict[bytes, bytes]:
        restored = await real_restore(bootstrap, topic, partition)
        if not stalled.is_set():
            stalled.set()
            time.sleep(FREEZE_S)  # noqa: ASYNC251 (the stall under test: no heartbeat)
        return restored

    monkeypatch.setattr(engine_module, "restore_partition", stalling_first_restore)
    config = EngineConfig(
        settings.kafka(), f"it-eng-{unique}", (src,), log, session_timeout_ms=FROZEN_SESSION_MS
    )
    stalling = StreamEngine(config, lambda p, r: CountingTask(out, r, []))

    other = StreamEngine(config, lambda p, r: CountingTask(out, r, []))
    await run_beside_a_frozen_member(stalling, other, stalled, FREEZE_S, n, grace_s=5)
    assert other.stats.records >= n, "the other member took every partition over"
    await _each_output_once(settings, topics, n, keys)
