"""A PostgreSQL sink over a Kafka topic, one transaction per fetched batch: the ledger and
the clearing positions are two of them. It is the stream layer's batch loop
(``events/stream/batch_loop.py``) with a lander that maps records to rows and writes them
with the group's next offsets.

Positions come from ``sink_offsets`` (written with the rows: ``services/runtime/positions.py``),
so a restarted or rebalanced member resumes exactly after what landed; Kafka's own commit is
kept in step only so that lag tooling sees progress.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
import structlog

from events.stream.batch_loop import Batch, BatchLoop, LoopConfig, Publish
from events.stream.clients import KafkaConnection
from events.stream.guard import RecordGuard
from events.stream.types import InputRecord, Output
from services.runtime.db import through_outage
from services.runtime.metrics import ProcessorMetrics
from services.runtime.positions import BatchOutcome, PgPositions

SINK_FETCH_WAIT_MS = 250
SINK_FETCH_MIN_BYTES = 1 << 20
"""A sink's cost is per batch (one transaction, one commit) and nobody waits on it the way a
hospital waits for its ack: the broker may hold a fetch up to 250 ms to fill it."""
SINK_LAG_EVERY_S = 5.0
"""How often a sink with metrics compares the log's end with its stored positions."""

log = structlog.get_logger("yidi.sink")

RowOrReject = object
"""What a sink's mapper returns per record: a row for its batch write, ``None`` (refused
here, dead-lettered by the topic's owner), or the DLQ ``Output`` to publish instead."""
BatchWrite = Callable[
    [asyncpg.Connection, str, Sequence[object], dict[tuple[str, int], int]], Awaitable[BatchOutcome]
]
"""Land a batch's rows and the group's next offsets in one transaction."""


@dataclass(slots=True)
class SinkStats:
    records: int = 0
    inserted: int = 0
    already_present: int = 0
    conflicts: int = 0
    rejected: int = 0
    batches: int = 0


def rows_of(
    records: Sequence[InputRecord], to_row: Callable[[InputRecord], RowOrReject], guard: RecordGuard
) -> tuple[list[object], list[Output]]:
    """The mapper's rows and DLQ records for ``records``; a record that cannot be parsed, or
    that makes the mapper raise, is dead-lettered instead of stopping the sink. The live
    sink and every replay of the feed map through here."""
    rows: list[object] = []
    rejects: list[Output] = []
    for record in records:
        out = row_or_reject(record, to_row, guard)
        if out is None:
            continue  # refused here, dead-lettered by the topic's owner (events.catalog)
        if isinstance(out, Output):
            rejects.append(out)
        else:
            rows.append(out)
    return rows, rejects


def row_or_reject(
    record: InputRecord, to_row: Callable[[InputRecord], RowOrReject], guard: RecordGuard
) -> RowOrReject:
    if record.damaged is not None:
        outs = guard.unparseable(record)
        return outs[0] if outs else None
    try:
        return to_row(record)
    except Exception as exc:
        return guard.failed(record, exc)[0]  # no acks: a sink's inputs are ours


class SinkWorker:
    """The batch loop plus a PostgreSQL lander; ``write`` is the projection's batch write."""

    def __init__(
        self,
        bootstrap: KafkaConnection,
        database_url: str,
        to_row: Callable[[InputRecord], RowOrReject],
        topic: str,
        group_id: str,
        write: BatchWrite,
        max_batch: int = 5000,
        instance_id: str | None = None,
        after_batch: Callable[[asyncpg.Pool], Awaitable[None]] | None = None,
        name: str = "ledger",
        metrics: ProcessorMetrics | None = None,
    ) -> None:
        self.database_url = database_url
        self.topic = topic
        self.group_id = group_id
        self.name = name
        self.write = write
        self.after_batch = after_batch
        self.to_row = to_row
        self.stats = SinkStats()
        self.guard = RecordGuard(name, owner=f"yidi-{name}")
        self.pool: asyncpg.Pool | None = None
        self.metrics = metrics
        self.loop = BatchLoop(
            LoopConfig(
                bootstrap, topic, group_id, f"yidi-{name}", instance_id, max_batch,
                fetch_wait_ms=SINK_FETCH_WAIT_MS, fetch_min_bytes=SINK_FETCH_MIN_BYTES,
            ),
            self, metrics=metrics,
        )  # fmt: skip

    async def start(self) -> None:
        self.pool = await through_outage(  # a worker started during an outage waits it out
            lambda: asyncpg.create_pool(self.database_url, min_size=1, max_size=2)
        )
        await self.loop.start()

    async def run(self, stop: asyncio.Event) -> None:
        if self.metrics is None:
            await self.loop.run(stop)
        else:
            await asyncio.gather(self.loop.run(stop), self._watch_sink_lag(stop, self.metrics))

    async def _watch_sink_lag(self, stop: asyncio.Event, metrics: ProcessorMetrics) -> None:
        """Every few seconds: the log's end (the broker) against the positions stored with
        the rows (``sink_offsets`` in PostgreSQL), per partition this member owns. A partition
        whose gap is only transaction markers (this member read to the end and its last landed
        position is the stored one) counts 0. A failed sample is logged, never raised."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SINK_LAG_EVERY_S)
            if stop.is_set() or self.pool is None:
                continue
            try:
                ends = await self.loop.log_ends()
                stored = await PgPositions(self.pool).stored(self.group_id, self.topic, list(ends))
            except Exception as exc:  # a sample never stops the sink
                log.warning("sink_lag_sample_failed", sink=self.name, error=type(exc).__name__)
                continue
            lags: dict[tuple[str, int], int] = {}
            for partition, (end, landed) in ends.items():
                at = stored.get(partition, 0)
                lags[(self.topic, partition)] = 0 if landed == at else max(0, end - at)
            metrics.sink_lag(lags)

    async def stop(self) -> None:
        await self.loop.stop()
        if self.pool is not None:
            await self.pool.close()

    async def resume(self, partitions: Sequence[int]) -> Mapping[int, int]:
        assert self.pool is not None
        positions = PgPositions(self.pool)
        stored = await through_outage(
            lambda: positions.stored(self.group_id, self.topic, partitions)
        )
        log.info("sink_assigned", sink=self.name, partitions=sorted(partitions))
        return stored

    async def land(self, batch: Batch, publish: Publish) -> None:
        rows, rejects = rows_of(batch.records, self.to_row, self.guard)
        await publish(rejects)  # dead letters first: the positions move past them below
        pool = self.pool
        assert pool is not None

        async def write() -> BatchOutcome:  # one transaction: rows and positions, or neither
            async with pool.acquire() as conn:
                return await self.write(conn, self.group_id, rows, batch.next_offsets)

        outcome = await through_outage(write)
        self.stats.records += len(batch.records)
        self.stats.inserted += outcome.inserted
        self.stats.already_present += outcome.already_present
        self.stats.conflicts += outcome.conflicts
        self.stats.rejected += len(rejects)
        self.stats.batches += 1
        if self.metrics is not None:
            self.metrics.outcomes({("accepted", ""): outcome.inserted,
                                   ("duplicate", ""): outcome.already_present,
                                   ("conflict", ""): outcome.conflicts})  # fmt: skip
        if outcome.conflicts:
            log.error("sink_conflicting_replay", sink=self.name, conflicts=outcome.conflicts)
        if self.after_batch is not None:
            after = self.after_batch
            await through_outage(lambda: after(pool))
