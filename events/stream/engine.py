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

A batch's tail (its state writes, then its commit) runs while the next batch is fetched;
tails complete in order, so commits never pass a state write. A rebalance waits for the batch
in flight and its tail; a member the group expelled (a stalled loop) proves its membership
before publishing, and drops the batch when the group says no. With transactions (the
default) the batch commits as one Kafka transaction of the member instead
(events/stream/transactions.py). The argument in full: docs/guarantees.md.

Whatever a record holds, it ends in one outcome and the batch goes on: a record the
client cannot parse, or whose task raises, becomes a DLQ record (and an error ack to an
authentic sender) through the engine's ``RecordGuard`` (events/stream/guard.py). Only the
broker (a failed send, commit or state write) stops the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Awaitable, Callable

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    RebalanceInProgressError,
)

from events.stream.batch_send import output_records, send_and_wait, send_batched
from events.stream.changelog import restore_partition
from events.stream.clients import group_consumer, idempotent_producer, to_input
from events.stream.config import EngineConfig, EngineStats, require_topics
from events.stream.guard import RecordGuard, process_record
from events.stream.kip447 import await_stable, group_member
from events.stream.leave import leave_group, static_member_id
from events.stream.metrics import StreamMetrics, end_lag_watch, report_batch, start_lag_watch
from events.stream.transactions import MemberTransactions, PartitionBatch, is_fenced, retryable
from events.stream.types import InputRecord, Output, Result, StateWrite, Task, TaskFactory

log = structlog.get_logger("yidi.stream")

PROVE_MEMBERSHIP_AFTER_S = 2.0
"""The heartbeat interval: a batch about to publish more than this long after the group last
accepted a commit from this member asks the group first (one commit round trip)."""


class StreamEngine:
    """Runs one consumer-group member: its partitions' tasks, one batch at a time."""

    def __init__(
        self,
        config: EngineConfig,
        factory: TaskFactory,
        on_batch: Callable[[list[Output]], Awaitable[None]] | None = None,
        guard: RecordGuard | None = None,
        metrics: StreamMetrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.factory = factory
        self.on_batch = on_batch
        self.guard = guard or RecordGuard(config.client_id)
        self.tasks: dict[int, Task] = {}
        self.stats = EngineStats()
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._tail: asyncio.Task[None] | None = None
        self._member_since = 0.0  # when the group last accepted this member (monotonic)
        self._started = 0.0  # when the batch in hand was fetched (perf_counter)
        self._txn = MemberTransactions(
            config.bootstrap, config.group_id, config.client_id, config.changelog,
            config.instance_id,
        )  # fmt: skip
        self.fenced = 0
        """Batches the broker refused because another member took the partition over."""

    async def start(self) -> None:
        cfg = self.config
        await require_topics(
            cfg.bootstrap, [*cfg.inputs, *([cfg.changelog] if cfg.changelog else [])]
        )
        self._producer = idempotent_producer(
            cfg.bootstrap, client_id=cfg.client_id, linger_ms=cfg.linger_ms
        )
        await self._producer.start()
        if cfg.transactions:
            await self._txn.open()  # before any restore: aborts what a former incarnation left
        self._consumer = group_consumer(
            cfg.bootstrap, cfg.group_id, client_id=cfg.client_id, instance_id=cfg.instance_id,
            session_timeout_ms=cfg.session_timeout_ms,
        )  # fmt: skip
        self._consumer.subscribe(list(cfg.inputs), listener=_Listener(self))
        await self._consumer.start()

    async def stop(self) -> None:
        if self._tail is not None and not self._tail.done():
            self._tail.cancel()  # nothing after a cancelled tail is committed
        member = static_member_id(self._consumer)  # it leaves once all is committed: leave.py
        if self._consumer is not None:
            await self._consumer.stop()
        await self._txn.close()
        if self._producer is not None:
            await self._producer.stop()
        await leave_group(self.config, member)

    async def run(self, stop: asyncio.Event) -> None:
        """Process batches until ``stop`` is set; the batch in flight always completes."""
        assert self._consumer is not None
        watch = start_lag_watch(self._consumer, self.metrics, stop)
        while not stop.is_set():
            batch = await self._consumer.getmany(
                timeout_ms=self.config.fetch_timeout_ms, max_records=self.config.max_batch
            )
            self._started = time.perf_counter()
            async with self._lock:
                if self._tail is not None and self._tail.done():
                    await self._drain_tail()  # a failed tail raises here, before the next batch
                if batch:
                    await self._process_batch(batch)
        await end_lag_watch(watch)
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
        if self.config.transactions:
            await self._process_batch_transactional(batch)
            return
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
                result = self.process_one(task, to_input(rec))
                outputs.extend(result.outputs)
                writes.extend((tp.partition, w) for w in result.writes)
            commits[tp] = records[-1].offset + 1
            self.stats.records += len(records)
        for partition, task in touched.items():
            writes.extend((partition, w) for w in task.flush_state())

        if commits and time.monotonic() - self._member_since > PROVE_MEMBERSHIP_AFTER_S:
            starts = {tp: batch[tp][0].offset for tp in commits}
            if not await self._still_member(starts):
                self._drop(starts)
                return
        self._maybe_pause()
        await self._publish(outputs)
        if self.metrics is not None:
            done = {tp: batch[tp] for tp in commits}
            report_batch(self.metrics, done, outputs, self._started, self.guard.ack_topics)
        if self.on_batch is not None:
            await self.on_batch(outputs)  # before the state that would skip these records
        futures: list[asyncio.Future[object]] = []
        if self.config.changelog is not None and writes:
            changelog = self.config.changelog
            placed = await send_batched(
                self._producer, ((changelog, p, w.key, w.value, []) for p, w in writes)
            )
            futures = [batch.future for batch in placed]
            self.stats.writes += len(writes)
        self._tail = asyncio.create_task(self._finish(self._tail, futures, commits))
        self.stats.batches += 1
        self.stats.outputs += len(outputs)

    def process_one(self, task: Task, record: InputRecord) -> Result:
        """``process_record``: the task's result, or the guard's outcome for a record that
        could not be parsed or whose processing raised (counted in ``stats.failed``)."""
        before = self.guard.handled
        result = process_record(task, record, self.guard)
        self.stats.failed += self.guard.handled - before
        return result

    async def _process_batch_transactional(self, batch: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        """The batch as one transaction of the member (``MemberTransactions.commit``). A crash
        anywhere leaves the batch either committed (outputs, state and offsets) or not at
        all: a read_committed reader never sees an output twice, and the next owner restores
        exactly the committed state. A member the group has moved on from is refused by the
        group coordinator (``MemberFenced``): the batch is dropped."""
        assert self._consumer is not None
        owned = self._consumer.assignment()
        parts: dict[int, PartitionBatch] = {}
        for tp, records in batch.items():
            if tp not in owned or not records:
                continue  # revoked after the fetch: the new owner starts from the committed offset
            task = await self._task_for(tp.partition)
            part = parts.setdefault(tp.partition, PartitionBatch(task))
            for rec in records:
                result = self.process_one(task, to_input(rec))
                part.outputs.extend(result.outputs)
                part.writes.extend(result.writes)
            part.offsets[tp] = records[-1].offset + 1
            part.starts[tp] = records[0].offset
            self.stats.records += len(records)
        if not parts:
            return
        for part in parts.values():
            part.writes.extend(part.task.flush_state())
        outputs = [o for part in parts.values() for o in part.outputs]
        self._maybe_pause()
        self.stats.batches += 1  # computed and about to commit, whatever the commit says
        if self.on_batch is not None:
            await self.on_batch(outputs)  # idempotent; before the state that would skip these
        try:
            await self._txn.commit(parts, group_member(self._consumer, self.config.group_id))
        except Exception as exc:
            if not retryable(exc) and not is_fenced(exc):
                raise  # a bug or a refusal stops the engine; the next owner aborts the rest
            self.fenced += is_fenced(exc)
            await (self._txn.fenced(exc) if is_fenced(exc) else self._txn.failed(exc))
            await self._forget(parts, fenced=is_fenced(exc))
            return
        if self.metrics is not None:
            landed = {tp: batch[tp] for part in parts.values() for tp in part.offsets}
            report_batch(self.metrics, landed, outputs, self._started, self.guard.ack_topics)
        self.stats.outputs += len(outputs)
        self.stats.writes += sum(len(part.writes) for part in parts.values())

    async def _forget(self, parts: dict[int, PartitionBatch], *, fenced: bool) -> None:
        """Nothing of the batch counts: forget its tasks (restored once no transaction holds
        their offsets) and rewind. Fenced: back to the group's committed offsets. Failed
        (``transactions.retryable``): back to the batch's start (the offsets committed with the
        batch before; if this one's commit went through after all, the restored state knows
        its records and they emit nothing again)."""
        assert self._consumer is not None
        for p, part in parts.items():
            self.tasks.pop(p, None)
            for tp, start in part.starts.items():
                offset = ((await self._consumer.committed(tp)) or 0) if fenced else start
                with contextlib.suppress(IllegalStateError):  # no longer ours: nothing to rewind
                    self._consumer.seek(tp, offset)
        self.stats.assigned = set(self.tasks)

    def _maybe_pause(self) -> None:
        """The zombie tests' fault hook (a test replaces it to freeze the loop in place)."""
        self.config.pause_if_due(self.stats.batches + 1)

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
                asked = time.monotonic()
                await self._consumer.commit(commits)
                self._member_since = asked
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning(
                "commit_skipped_rebalance", error=type(exc).__name__, partitions=len(commits)
            )

    async def _still_member(self, starts: dict[TopicPartition, int]) -> bool:
        """Whether the group still counts this member as the owner of ``starts``' partitions:
        it accepts a commit of the offsets already reached (after the earlier tails, so no
        commit passes a state write). A rebalance waiting for this member's batch still counts
        it; an expelled member gets an unknown-member or stale-generation refusal."""
        assert self._consumer is not None
        await self._drain_tail()
        asked = time.monotonic()
        try:
            await self._consumer.commit(starts)
        except CommitFailedError as exc:
            if not isinstance(exc.__cause__, RebalanceInProgressError):
                return False
        except IllegalStateError:
            return False
        self._member_since = asked
        return True

    def _drop(self, starts: dict[TopicPartition, int]) -> None:
        """Forget a batch computed by a member the group has expelled: its tasks' state ran
        ahead of anything published, so they are restored again if the partitions come back."""
        assert self._consumer is not None
        log.warning("batch_dropped_not_member", partitions=sorted(tp.partition for tp in starts))
        self.tasks.clear()
        self.stats.assigned = set()
        for tp, offset in starts.items():
            with contextlib.suppress(IllegalStateError):  # no longer ours: nothing to rewind
                self._consumer.seek(tp, offset)

    async def _publish(self, outputs: list[Output]) -> None:
        assert self._producer is not None
        await send_and_wait(self._producer, output_records(outputs))

    async def _task_for(self, partition: int) -> Task:
        """The partition's task, restored from the changelog on first use after assignment.

        Restoring here, under the batch lock, rather than in the assignment
        callback means no fetched record can ever meet a missing task.
        """
        task = self.tasks.get(partition)
        if task is None:
            started = time.perf_counter()
            if self.config.transactions:  # the former owner's last transaction ends first
                assert self._consumer is not None
                tps = [TopicPartition(t, partition) for t in self.config.inputs]
                await await_stable(self._consumer, self.config.group_id, tps)
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
        self._member_since = time.monotonic()
        log.info("partitions_assigned", group=self.config.group_id, partitions=sorted(partitions))

    async def revoke(self, partitions: set[int]) -> None:
        async with self._lock:
            if self._tail is not None:
                await asyncio.wait([self._tail])  # a failure is raised by run(), not here
            for p in partitions:
                self.tasks.pop(p, None)
            self.stats.assigned = set(self.tasks)
        log.info("partitions_revoked", group=self.config.group_id, partitions=sorted(partitions))


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
