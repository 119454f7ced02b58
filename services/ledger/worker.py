"""A PostgreSQL sink over a Kafka topic, one transaction per fetched batch: the ledger, and
the clearing positions, are two of them.

Positions come from ``sink_offsets`` (written with the rows), so a restarted or
rebalanced member resumes exactly after what landed; Kafka's own commit is
kept in step only so that lag tooling sees progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from events import catalog
from events.stream.clients import to_input
from events.stream.group_worker import GroupWorker
from events.stream.guard import RecordGuard
from events.stream.types import InputRecord, Output
from services.ledger.pg_sink import BatchOutcome, stored_positions, write_batch

GROUP = catalog.LEDGER_GROUP
"""The ledger's consumer group (plus the settings' group suffix)."""

SINK_FETCH_WAIT_MS = 250
SINK_FETCH_MIN_BYTES = 1 << 20
"""A sink's cost is per batch (one transaction, one commit) and nobody waits on it the way a
hospital waits for its ack: the broker may hold a fetch up to 250 ms to fill it."""

log = structlog.get_logger("yidi.ledger")

RowOrReject = object
"""What a sink's mapper returns per record: a row for its batch write, or (for a bad record)
the DLQ ``Output`` to publish instead."""
BatchWrite = Callable[
    [asyncpg.Connection, str, Sequence[object], dict[tuple[str, int], int]], Awaitable[BatchOutcome]
]
"""Land a batch's rows and the group's next offsets in one transaction."""


@dataclass(slots=True)
class LedgerStats:
    records: int = 0
    inserted: int = 0
    already_present: int = 0
    conflicts: int = 0
    rejected: int = 0
    batches: int = 0


class SinkWorker(GroupWorker):
    def __init__(
        self,
        bootstrap: str,
        database_url: str,
        to_row: Callable[[InputRecord], RowOrReject],
        topic: str,
        group_id: str = GROUP,
        max_batch: int = 5000,
        instance_id: str | None = None,
        write: BatchWrite = write_batch,  # type: ignore[assignment]
        after_batch: Callable[[asyncpg.Pool], Awaitable[None]] | None = None,
        name: str = "ledger",
    ) -> None:
        super().__init__(
            bootstrap, database_url, topic, group_id, f"yidi-{name}", instance_id, max_batch,
            fetch_wait_ms=SINK_FETCH_WAIT_MS, fetch_min_bytes=SINK_FETCH_MIN_BYTES,
        )  # fmt: skip
        self.name = name
        self.write = write
        self.after_batch = after_batch
        self.to_row = to_row
        self.stats = LedgerStats()
        self.guard = RecordGuard(name, owner=f"yidi-{name}")

    async def on_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.seek_to_stored(assigned)

    async def handle_batch(self, batch: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        await self._land(batch)

    async def _land(self, batch: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        assert self._consumer is not None and self._producer is not None
        owned = self._consumer.assignment()
        rows: list[object] = []
        rejects: list[Output] = []
        positions: dict[tuple[str, int], int] = {}
        commits: dict[TopicPartition, int] = {}
        for tp, records in batch.items():
            if tp not in owned:
                continue
            for rec in records:
                out = self._row_or_reject(to_input(rec))
                if out is None:
                    continue  # refused here, dead-lettered by the topic's owner (events.catalog)
                if isinstance(out, Output):
                    rejects.append(out)
                else:
                    rows.append(out)
            positions[(tp.topic, tp.partition)] = records[-1].offset + 1
            commits[tp] = records[-1].offset + 1
            self.stats.records += len(records)
        if rejects:
            futures = [
                await self._producer.send(o.topic, o.value, key=o.key, headers=o.headers)
                for o in rejects
            ]
            await asyncio.gather(*futures)
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            outcome: BatchOutcome = await self.write(conn, self.group_id, rows, positions)
        self.stats.inserted += outcome.inserted
        self.stats.already_present += outcome.already_present
        self.stats.conflicts += outcome.conflicts
        self.stats.rejected += len(rejects)
        self.stats.batches += 1
        if outcome.conflicts:
            log.error("sink_conflicting_replay", sink=self.name, conflicts=outcome.conflicts)
        if self.after_batch is not None:
            await self.after_batch(self.pool)
        try:
            if commits:
                await self._consumer.commit(commits)
        except (CommitFailedError, IllegalStateError):
            pass  # informational only: positions of record are in PostgreSQL

    def _row_or_reject(self, record: InputRecord) -> RowOrReject:
        """The mapper's row or DLQ record; a record that cannot be parsed, or that makes the
        mapper raise, is dead-lettered instead of stopping the sink."""
        if record.damaged is not None:
            outs = self.guard.unparseable(record)
            return outs[0] if outs else None
        try:
            return self.to_row(record)
        except Exception as exc:
            return self.guard.failed(record, exc)[0]  # no acks: a sink's inputs are ours

    async def seek_to_stored(self, tps: list[TopicPartition]) -> None:
        assert self._consumer is not None and self.pool is not None
        async with self.pool.acquire() as conn:
            stored = await stored_positions(
                conn, self.group_id, self.topic, [tp.partition for tp in tps]
            )
        for tp in tps:
            if tp.partition in stored:
                self._consumer.seek(tp, stored[tp.partition])
            else:
                begin = (await self._consumer.beginning_offsets([tp]))[tp]
                self._consumer.seek(tp, begin)
        log.info("sink_assigned", sink=self.name, partitions=sorted(tp.partition for tp in tps))
