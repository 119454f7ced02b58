"""The batch loop: fetch -> process per partition in order -> publish -> log state -> commit.

Guarantee (at-least-once input, deterministic tasks, idempotent sinks):
1. every output of a batch is acknowledged by the broker before any of the
   batch's state writes is sent, and
2. all state writes are acknowledged before the input offsets are committed.
After a crash the inputs since the last commit are processed again from a
store that reflects a prefix of them; tasks recognise the records already in
their store (by source offset) and emit nothing for them, and compute the
rest exactly as before. Outputs may therefore repeat, byte-identical, never
differ; sinks and ack readers de-duplicate by id.

The wait for a batch's state writes and its commit (the batch's *tail*) runs
while the next batch is fetched and processed: neither rule above orders one
batch's tail against the next batch's outputs, and tails complete in order
(each awaits the one before it), so commits never pass a state write. A
failed tail stops the engine before anything later is committed.

A rebalance waits for the batch in flight and its tail (the revoke callback
takes the batch lock and drains the tail), so a partition's new owner
restores a complete changelog.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from events.stream.changelog import restore_partition
from events.stream.clients import group_consumer, idempotent_producer, to_input
from events.stream.types import Output, StateWrite, Task, TaskFactory

log = structlog.get_logger("yidi.stream")


@dataclass(slots=True)
class EngineStats:
    records: int = 0
    outputs: int = 0
    writes: int = 0
    batches: int = 0
    restores: int = 0
    restore_seconds: float = 0.0
    assigned: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    bootstrap: str
    group_id: str
    inputs: tuple[str, ...]
    changelog: str | None
    client_id: str = "yidi"
    max_batch: int = 2000
    fetch_timeout_ms: int = 50
    linger_ms: int = 0
    instance_id: str | None = None


class StreamEngine:
    """Runs one consumer-group member: its partitions' tasks, one batch at a time."""

    def __init__(
        self,
        config: EngineConfig,
        factory: TaskFactory,
        on_batch: Callable[[list[Output]], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self.factory = factory
        self.on_batch = on_batch
        self.tasks: dict[int, Task] = {}
        self.stats = EngineStats()
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._tail: asyncio.Task[None] | None = None

    async def start(self) -> None:
        cfg = self.config
        await _require_topics(
            cfg.bootstrap, [*cfg.inputs, *([cfg.changelog] if cfg.changelog else [])]
        )
        self._producer = idempotent_producer(
            cfg.bootstrap, client_id=cfg.client_id, linger_ms=cfg.linger_ms
        )
        await self._producer.start()
        self._consumer = group_consumer(
            cfg.bootstrap, cfg.group_id, client_id=cfg.client_id, instance_id=cfg.instance_id
        )
        self._consumer.subscribe(list(cfg.inputs), listener=_Listener(self))
        await self._consumer.start()

    async def stop(self) -> None:
        if self._tail is not None and not self._tail.done():
            self._tail.cancel()  # nothing after a cancelled tail is committed
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    async def run(self, stop: asyncio.Event) -> None:
        """Process batches until ``stop`` is set; the batch in flight always completes."""
        assert self._consumer is not None
        while not stop.is_set():
            batch = await self._consumer.getmany(
                timeout_ms=self.config.fetch_timeout_ms, max_records=self.config.max_batch
            )
            async with self._lock:
                if self._tail is not None and self._tail.done():
                    await self._drain_tail()  # a failed tail raises here, before the next batch
                if batch:
                    await self._process_batch(batch)
        async with self._lock:
            await self._drain_tail()

    async def _drain_tail(self) -> None:
        """Wait for the last batch's state writes and commit; re-raise what failed them."""
        tail, self._tail = self._tail, None
        if tail is not None:
            await tail

    async def lag(self) -> int:
        """Records not yet committed on this member's partitions (0 when caught up)."""
        assert self._consumer is not None
        tps = list(self._consumer.assignment())
        if not tps:
            return -1
        ends = await self._consumer.end_offsets(tps)
        total = 0
        for tp in tps:
            committed = await self._consumer.committed(tp)
            total += ends[tp] - (committed or 0)
        return total

    async def _process_batch(self, batch: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        assert self._producer is not None and self._consumer is not None
        outputs: list[Output] = []
        writes: list[tuple[int, StateWrite]] = []
        commits: dict[TopicPartition, int] = {}
        owned = self._consumer.assignment()
        touched: dict[int, Task] = {}
        for tp, records in batch.items():
            if tp not in owned:
                continue  # revoked after the fetch: the new owner starts from the committed offset
            task = await self._task_for(tp.partition)
            touched[tp.partition] = task
            for rec in records:
                result = task.process(to_input(rec))
                outputs.extend(result.outputs)
                writes.extend((tp.partition, w) for w in result.writes)
            commits[tp] = records[-1].offset + 1
            self.stats.records += len(records)
        for partition, task in touched.items():
            writes.extend((partition, w) for w in task.flush_state())

        await self._publish(outputs)
        if self.on_batch is not None:
            await self.on_batch(outputs)  # before the state that would skip these records
        futures: list[asyncio.Future[object]] = []
        if self.config.changelog is not None and writes:
            changelog = self.config.changelog
            futures = [
                await self._producer.send(changelog, value=w.value, key=w.key, partition=partition)
                for partition, w in writes
            ]
            self.stats.writes += len(futures)
        self._tail = asyncio.create_task(self._finish(self._tail, futures, commits))
        self.stats.batches += 1
        self.stats.outputs += len(outputs)

    async def _finish(
        self,
        before: asyncio.Task[None] | None,
        writes: list[asyncio.Future[object]],
        commits: dict[TopicPartition, int],
    ) -> None:
        """A batch's tail: its state writes acknowledged, then its offsets committed."""
        assert self._consumer is not None
        if before is not None:
            await before
        if writes:
            await asyncio.gather(*writes)
        try:
            if commits:
                await self._consumer.commit(commits)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning(
                "commit_skipped_rebalance", error=type(exc).__name__, partitions=len(commits)
            )

    async def _publish(self, outputs: list[Output]) -> None:
        assert self._producer is not None
        futures = [
            await self._producer.send(o.topic, value=o.value, key=o.key, headers=o.headers)
            for o in outputs
        ]
        if futures:
            await asyncio.gather(*futures)

    async def _task_for(self, partition: int) -> Task:
        """The partition's task, restored from the changelog on first use after assignment.

        Restoring here, under the batch lock, rather than in the assignment
        callback means no fetched record can ever meet a missing task.
        """
        task = self.tasks.get(partition)
        if task is None:
            started = time.perf_counter()
            restored = (
                await restore_partition(self.config.bootstrap, self.config.changelog, partition)
                if self.config.changelog
                else {}
            )
            task = self.tasks[partition] = self.factory(partition, restored)
            del restored
            gc.collect()
            gc.freeze()  # the restored state is long-lived: later collections skip it
            self.stats.restores += 1
            self.stats.restore_seconds += time.perf_counter() - started
            self.stats.assigned = set(self.tasks)
        return task

    async def assign(self, partitions: set[int]) -> None:
        log.info("partitions_assigned", group=self.config.group_id, partitions=sorted(partitions))

    async def revoke(self, partitions: set[int]) -> None:
        async with self._lock:
            if self._tail is not None:
                await asyncio.wait([self._tail])  # a failure is raised by run(), not here
            for p in partitions:
                self.tasks.pop(p, None)
            self.stats.assigned = set(self.tasks)
        log.info("partitions_revoked", group=self.config.group_id, partitions=sorted(partitions))


class MissingTopics(RuntimeError):
    """A worker's input or changelog topic does not exist: run `yidi topics apply` first."""


async def _require_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="yidi-engine")
    await admin.start()
    try:
        missing = sorted(set(names) - set(await admin.list_topics()))
    finally:
        await admin.close()
    if missing:
        raise MissingTopics(f"missing topics {missing}: run `yidi topics apply`")


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, engine: StreamEngine) -> None:
        self.engine = engine

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.engine.revoke({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        try:
            await self.engine.assign({tp.partition for tp in assigned})
        except KafkaError:
            log.exception("restore_failed")
            raise
