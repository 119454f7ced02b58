"""The one consumer-group batch loop: fetch a batch, hand it to a ``Lander``, commit.

Every group member that is not a stateful stream task runs on this loop: the PostgreSQL
sinks (ledger, clearing positions: ``services/runtime/sink.py``), the clearing command
consumer and the reconciliation worker. What differs between them is only what landing a
batch means, so that is the port (``Lander.land``); how positions are resumed is the
lander's too (``Lander.resume``: a sink resumes from positions it stored with its rows).

Why the lock: a rebalance (the listener's revoke) waits for the batch in flight, so a
partition moves only between batches and its next owner starts after what landed.
Nothing here knows PostgreSQL: the landers that write there live with their service.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from events.stream.batch_send import output_records, send_and_wait
from events.stream.clients import KafkaConnection, group_consumer, idempotent_producer, to_input
from events.stream.leave import leave_group, static_member_id
from events.stream.metrics import StreamMetrics, end_lag_watch, report_records, start_lag_watch
from events.stream.stall_watch import StallWatch
from events.stream.types import InputRecord, Output

log = structlog.get_logger("yidi.stream")


class PositionAheadOfLog(RuntimeError):
    """A lander's stored position is past its partition's end: the topic was recreated or
    truncated under a database that outlived it (or the database belongs to another
    cluster). Waiting would land nothing, forever, and silently; starting over would count
    money twice. The worker stops and says which: ops rebuilds or repoints it."""

    code = "E_POSITION_AHEAD"


class ResumeFailed(RuntimeError):
    """Newly assigned partitions could not be positioned at their stored offsets (the broker
    did not answer for their ends within ``SEEK_TIMEOUT_S``, or the lander failed). Until
    they are, nothing of them may land (``_resuming``): rather than wait silently the worker
    stops, says so, and its supervisor starts it again on a fresh assignment."""

    code = "E_RESUME_FAILED"


SEEK_TIMEOUT_S = 90.0
"""How long positioning assigned partitions may take: the ends are one request per leader
(aiokafka gives up after its 40 s request timeout and retries on moved leaders)."""
RESTART_AFTER_S = 60.0
"""How long owned partitions may stay unfetched (loop idle, their log's end past the
position) before the loop replaces its consumer: well past a leader election or a
coordinator move, well short of what a hospital's reconciliation would notice."""
RESUME_COMMIT_TIMEOUT_S = 10.0
"""The commit of the stored positions to Kafka is for lag tooling only (the positions that
count are the lander's): a group coordinator that is moving (a broker restarted, preferred
leaders elected back) must not hold the assignment up; the next batch commits anyway."""

Publish = Callable[[Sequence[Output]], Awaitable[None]]
"""Send outputs and wait until the broker has them all."""


@dataclass(slots=True)
class Batch:
    """One fetched batch of the partitions this member still owns, in offset order per
    partition, and the next offset of each (what a lander stores, or the loop commits)."""

    records: list[InputRecord]
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)


class Lander(Protocol):
    """What a group member does with its batches: the port every loop here drives."""

    async def land(self, batch: Batch, publish: Publish) -> None:
        """Apply ``batch`` completely, or raise (infrastructure only: a record's content never
        raises here). Publishing what the batch produced (``publish``) belongs in here too,
        in the order the lander's promise needs (a sink dead-letters before its rows land)."""
        ...

    async def resume(self, partitions: Sequence[int]) -> Mapping[int, int] | None:
        """Where each newly assigned partition resumes: the lander's stored next offsets
        (a partition absent from the map starts at the log's beginning), or ``None`` to
        resume from the group's offsets committed in Kafka."""
        ...


async def publish_all(producer: AIOKafkaProducer, outputs: Sequence[Output]) -> None:
    """Send ``outputs`` and wait for every acknowledgement (one flush per batch)."""
    await send_and_wait(producer, output_records(outputs))


@dataclass(frozen=True, slots=True)
class LoopConfig:
    bootstrap: KafkaConnection
    topic: str
    group_id: str
    client_id: str
    instance_id: str | None = None
    max_records: int = 500
    fetch_wait_ms: int = 20
    fetch_min_bytes: int = 1
    poll_ms: int = 100


class BatchLoop:
    """A consumer-group member driving one ``Lander``; its producer is its own unless one is
    shared in (a service publishing from several loops through one idempotent producer)."""

    def __init__(
        self,
        config: LoopConfig,
        lander: Lander,
        producer: AIOKafkaProducer | None = None,
        metrics: StreamMetrics | None = None,
        ack_topics: frozenset[str] = frozenset(),
    ) -> None:
        """``metrics``: told once per landed batch (and the consumer's lag every few
        seconds); records of ``ack_topics`` are those whose acks a batch publishes."""
        self.config = config
        self.lander = lander
        self.metrics = metrics
        self.ack_topics = ack_topics
        self._sent: list[Output] = []
        self.landed: dict[TopicPartition, int] = {}
        """The next offset after the last landed batch, per partition (what the lander stored)."""
        self._own_producer = producer is None
        self._producer = producer
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self.batches = 0
        self._floors: dict[TopicPartition, int] = {}
        """Where each partition resumed (the lander's stored next offset): nothing below it is
        landed again, whatever position the client ends up fetching from."""
        self._resuming: set[TopicPartition] = set()
        """Assigned partitions whose resume position is still being looked up: the client may
        already fetch them from its own reset position (the log's beginning for a group new
        to Kafka), and what it hands over meanwhile is not landed."""
        self._fatal: PositionAheadOfLog | ResumeFailed | None = None
        self._landing: tuple[asyncio.Task[None] | None, float] = (None, 0.0)
        """The task landing a batch and since when (``None`` between batches): the stall watch
        tells a slow batch from a partition the client does not fetch."""
        self.stall_watch: StallWatch | None = None
        self.consumer_restarts = 0

    async def start(self) -> None:
        c = self.config
        if self._producer is None:
            self._producer = idempotent_producer(c.bootstrap, client_id=c.client_id)
            await self._producer.start()
        self._consumer = group_consumer(
            c.bootstrap, c.group_id, client_id=c.client_id, instance_id=c.instance_id,
            fetch_wait_ms=c.fetch_wait_ms, fetch_min_bytes=c.fetch_min_bytes,
        )  # fmt: skip
        self._consumer.subscribe([c.topic], listener=_FinishBatchFirst(self))
        await self._consumer.start()

    async def stop(self) -> None:
        """A stop on purpose: once all is committed a static member leaves (stream/leave.py)."""
        member = static_member_id(self._consumer)
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None and self._own_producer:
            await self._producer.stop()
        await leave_group(self.config, member)

    async def run(self, stop: asyncio.Event) -> None:
        assert self._consumer is not None, "start() first"
        while not stop.is_set():
            await self._run_consumer(stop)
            if not stop.is_set():
                await self._restart_consumer()

    async def _run_consumer(self, stop: asyncio.Event) -> None:
        """Batches until ``stop``, or until the stall watch finds partitions the client has
        not fetched for ``RESTART_AFTER_S`` while the loop was idle and their log went on."""
        assert self._consumer is not None
        restart = asyncio.Event()

        def on_stall(seconds: float) -> None:
            if seconds >= RESTART_AFTER_S:
                restart.set()

        watch = start_lag_watch(self._consumer, self.metrics, stop)
        self.stall_watch = StallWatch(
            self._consumer, self.config.group_id, lambda: self._landing, on_stall
        )
        stalls = asyncio.create_task(self.stall_watch.run(stop), name="stall-watch")
        try:
            while not stop.is_set() and not restart.is_set():
                fetched = await self._consumer.getmany(
                    timeout_ms=self.config.poll_ms, max_records=self.config.max_records
                )
                if self._fatal is not None:
                    raise self._fatal  # found by the rebalance listener: the client only logs it
                if fetched:
                    started = time.perf_counter()
                    self._landing = (asyncio.current_task(), time.monotonic())
                    try:
                        async with self._lock:
                            await self._land(fetched, started)
                    finally:
                        self._landing = (None, 0.0)
        finally:
            await end_lag_watch(watch)
            await end_lag_watch(stalls)

    async def _restart_consumer(self) -> None:
        """A new consumer in place of one that stopped fetching some partitions (a second
        line behind ``_seek_to``'s fix; seen once, healing a partition after all three brokers
        were killed: docs/guarantees.md, "Broker faults"). At most one per ``RESTART_AFTER_S``
        of stall, logged; between batches, so nothing is in flight; the new member resumes
        the partitions from the lander's stored positions like any new owner."""
        assert self._consumer is not None
        self.consumer_restarts += 1
        log.warning("consumer_restarted", group=self.config.group_id,
                    restarts=self.consumer_restarts)  # fmt: skip
        await self._consumer.stop()
        self._resuming.clear()
        await self.start()  # the producer stays: only the consumer stopped fetching

    async def _land(self, fetched: dict[TopicPartition, list], started: float = 0.0) -> None:  # type: ignore[type-arg]
        assert self._consumer is not None
        owned = self._consumer.assignment()
        batch = Batch([])
        commits: dict[TopicPartition, int] = {}
        for tp, fetched_records in fetched.items():
            if tp not in owned or not fetched_records:
                continue  # revoked while fetched: its next owner reads it
            if tp in self._resuming:
                continue  # fetched before the lander said where it resumes: the seek re-reads
            records = self._at_or_above_floor(tp, fetched_records)
            if not records:
                continue
            batch.records.extend(to_input(r) for r in records)
            batch.next_offsets[(tp.topic, tp.partition)] = records[-1].offset + 1
            commits[tp] = records[-1].offset + 1
        if not commits:
            return
        self._sent = []
        await self.lander.land(batch, self.publish)
        self.batches += 1
        self.landed.update(commits)
        try:
            await self._consumer.commit(commits)
        except (CommitFailedError, IllegalStateError):
            # a lander that stores positions does not need it; others re-apply idempotently
            log.warning("batch_commit_failed", group=self.config.group_id)
        if self.metrics is not None:
            report_records(self.metrics, batch.records, self._sent, started, self.ack_topics)

    def _at_or_above_floor(self, tp: TopicPartition, records: list) -> list:  # type: ignore[type-arg]
        """``records`` from the partition's resume position on. A consumer group new to Kafka
        has no committed offsets, and the client's reset of a freshly assigned partition
        (``auto_offset_reset``: the log's beginning) can land after the listener's seek to the
        stored position: a sink seeded at a topic's end then re-read the whole topic. Records
        below the floor are skipped and the partition is sent back to it."""
        assert self._consumer is not None
        floor = self._floors.get(tp)
        if floor is None or records[0].offset >= floor:
            return records
        kept = [r for r in records if r.offset >= floor]
        if not kept:
            log.warning("fetched_below_resume_position", group=self.config.group_id,
                        partition=tp.partition, offset=records[0].offset, resume=floor)  # fmt: skip
            self._consumer.seek(tp, floor)
        return kept

    async def publish(self, outputs: Sequence[Output]) -> None:
        assert self._producer is not None, "start() first"
        if outputs:
            await publish_all(self._producer, outputs)
            if self.metrics is not None:
                self._sent.extend(outputs)

    async def log_ends(self) -> dict[int, tuple[int, int | None]]:
        """Per partition this member owns: the log's end (the last stable offset: one request
        to the broker) and, when this member has read up to that end and has nothing in flight,
        the next offset it last landed (``None`` otherwise). A stored position equal to that
        landed offset but below the end is behind only by transaction markers."""
        assert self._consumer is not None, "start() first"
        tps = [tp for tp in self._consumer.assignment() if tp.topic == self.config.topic]
        if not tps:
            return {}
        ends = await self._consumer.end_offsets(tps)
        out: dict[int, tuple[int, int | None]] = {}
        for tp in tps:
            try:
                position = await asyncio.wait_for(self._consumer.position(tp), 1.0)
            except (IllegalStateError, TimeoutError):
                position = -1  # revoked meanwhile, or not positioned yet
            read_all = position >= ends[tp] and not self._lock.locked()
            out[tp.partition] = (ends[tp], self.landed.get(tp) if read_all else None)
        return out

    async def _assigned(self, assigned: list[TopicPartition]) -> None:
        assert self._consumer is not None
        self._resuming |= set(assigned)
        partitions = sorted(tp.partition for tp in assigned)
        try:
            stored = await self.lander.resume(partitions)
            if stored is not None:
                async with asyncio.timeout(SEEK_TIMEOUT_S):
                    await self._seek_to(assigned, stored)
        except Exception as exc:  # the client would only log it, and go on reading from its reset
            log.error("resume_failed", group=self.config.group_id, partitions=partitions,
                      error=type(exc).__name__)  # fmt: skip
            self._fatal = ResumeFailed(
                f"{self.config.group_id}: partitions {partitions} not positioned at their "
                f"stored offsets ({type(exc).__name__})"
            )
            return  # they stay in ``_resuming``: nothing of them lands before the worker stops
        self._resuming -= set(assigned)
        log.info("partitions_resumed", group=self.config.group_id, partitions=partitions,
                 stored=stored is not None)  # fmt: skip

    async def _seek_to(self, assigned: list[TopicPartition], stored: Mapping[int, int]) -> None:
        assert self._consumer is not None
        in_step = {tp: stored[tp.partition] for tp in assigned if tp.partition in stored}
        ends = await self._consumer.end_offsets(list(in_step)) if in_step else {}
        ahead = {tp.partition: (at, ends[tp]) for tp, at in in_step.items() if at > ends[tp]}
        if ahead:
            log.error("stored_position_ahead_of_log", group=self.config.group_id,
                      topic=self.config.topic, ahead={p: list(ae) for p, ae in ahead.items()})  # fmt: skip
            self._fatal = PositionAheadOfLog(
                f"{self.config.group_id} on {self.config.topic}: stored positions past the log's "
                f"end (partition: stored, end) {ahead}; the topic is not the one the database "
                "landed from: rebuild the database from the log (yidi replay) or point the "
                "worker at its own cluster"
            )
            return
        for tp in assigned:
            at = stored.get(tp.partition)
            if at is None:
                at = (await self._consumer.beginning_offsets([tp]))[tp]
            self._consumer.seek(tp, at)
            self._floors[tp] = at
            # landable from the seek on, in the same step: what the client fetched before it
            # is discarded by the seek, but a fetch after it that the loop skipped as still
            # resuming would move the client's position to the log's end, and the partition
            # would never be read again (the broker-fault reference pass's stall)
            self._resuming.discard(tp)
        if in_step:
            try:  # Kafka's commit kept in step with the stored positions: lag tooling reads it
                async with asyncio.timeout(RESUME_COMMIT_TIMEOUT_S):
                    await self._consumer.commit(in_step)
            except (CommitFailedError, IllegalStateError, TimeoutError) as exc:
                log.warning("resume_commit_failed", group=self.config.group_id,
                            error=type(exc).__name__)  # fmt: skip


class _FinishBatchFirst(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: BatchLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.loop._lock:
            pass  # the batch in flight lands (or fails) before the partitions move

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.loop._assigned(list(assigned))
