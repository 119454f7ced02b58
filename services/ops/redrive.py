"""Redrive: send DLQ records back to their source topics, journaled so none is forgotten.

Sequence per chunk: read the target partitions' end offsets, claim the chunk
in the journal (``pending``, with those offsets as ``scan_from``), send,
mark each acknowledged message ``sent`` with its offset. A crash anywhere
leaves ``pending`` rows, which ``reconcile`` resolves from the broker:
a message carrying the row's marker at or after ``scan_from`` was sent.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from events.stream.clients import KafkaConnection, idempotent_producer
from services.ops import journal
from services.ops.core.dlq import DlqEntry
from services.ops.core.redrive import Outgoing, RedrivePlan, plan_redrive
from services.ops.kafka import find_markers, partition_counts, read_sources
from services.ops.log_reader import ops_consumer

CHUNK = 500
GRACE = dt.timedelta(minutes=2)
"""How old a pending claim must be before ``reconcile`` resolves it: longer than a live
sender can take (the producer gives up on a send after its 40 s request timeout)."""


@dataclass(frozen=True, slots=True)
class Sent:
    outgoing: Outgoing
    offset: int


@dataclass(slots=True)
class RedriveResult:
    sent: list[Sent] = field(default_factory=list)
    lost_race: list[Outgoing] = field(default_factory=list)
    """Claimed by a concurrent redrive between planning and sending: not sent here."""
    failed: list[tuple[Outgoing, str]] = field(default_factory=list)
    """The send raised: the claim stays pending until ``reconcile`` finds out."""


@dataclass(slots=True)
class Reconciled:
    sent: dict[str, int] = field(default_factory=dict)
    not_sent: list[str] = field(default_factory=list)


class Redriver:
    """One operator's redrive session: a journal connection, a producer, a reader."""

    def __init__(
        self,
        bootstrap: KafkaConnection,
        conn: asyncpg.Connection,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        operator: str,
    ) -> None:
        self.bootstrap = bootstrap
        self.conn = conn
        self.consumer = consumer
        self.producer = producer
        self.operator = operator

    async def reconcile(self, grace: dt.timedelta = GRACE) -> Reconciled:
        """Resolve pending claims older than ``grace`` by looking for their markers."""
        rows = await journal.pending(self.conn, grace)
        by_target: dict[TopicPartition, list[asyncpg.Record]] = defaultdict(list)
        for row in rows:
            by_target[TopicPartition(row["source_topic"], row["source_partition"])].append(row)
        out = Reconciled()
        for tp, claims in by_target.items():
            wanted = {r["marker"] for r in claims}
            start = min(r["scan_from"] for r in claims)
            found = await find_markers(self.consumer, tp, start, wanted)
            out.sent.update({m: found[m] for m in wanted if m in found})
            out.not_sent.extend(sorted(m for m in wanted if m not in found))
        await journal.mark_sent(self.conn, out.sent)
        await journal.mark_not_sent(self.conn, out.not_sent)
        return out

    async def plan(self, entries: Sequence[DlqEntry], *, force: bool = False) -> RedrivePlan:
        attempts = await journal.attempts_for(self.conn, entries)
        topics = {e.source.topic for e in entries}
        partitions = await partition_counts(self.bootstrap, topics)
        by_reference = [e.source for e in entries if e.record.original is not None]
        existing = [p for p in by_reference if partitions.get(p.topic, 0) > p.partition]
        originals = await read_sources(self.consumer, existing) if existing else {}
        return plan_redrive(entries, attempts, partitions, force=force, originals=originals)

    async def execute(
        self, plan: RedrivePlan, progress: Callable[[int], None] | None = None
    ) -> RedriveResult:
        result = RedriveResult()
        for start in range(0, len(plan.send), CHUNK):
            await self._chunk(plan.send[start : start + CHUNK], result, progress)
        return result

    async def _chunk(
        self,
        chunk: list[Outgoing],
        result: RedriveResult,
        progress: Callable[[int], None] | None,
    ) -> None:
        tps = sorted({TopicPartition(o.topic, o.partition) for o in chunk})
        ends = await self.consumer.end_offsets(tps)
        scan_from = {(tp.topic, tp.partition): off for tp, off in ends.items()}
        claimed = await journal.claim(self.conn, chunk, scan_from, self.operator)
        sending = []
        for o in chunk:
            if o.marker not in claimed:
                result.lost_race.append(o)
                continue
            future = await self.producer.send(
                o.topic, o.value, key=o.key, partition=o.partition, headers=o.headers
            )
            sending.append((o, future))
        landed: dict[str, int] = {}
        for o, future in sending:
            try:
                meta = await future
            except KafkaError as exc:
                result.failed.append((o, type(exc).__name__))
            else:
                landed[o.marker] = meta.offset
                result.sent.append(Sent(o, meta.offset))
            if progress is not None:
                progress(1)
        await journal.mark_sent(self.conn, landed)


@asynccontextmanager
async def redriver(
    bootstrap: KafkaConnection, conn: asyncpg.Connection, operator: str
) -> AsyncIterator[Redriver]:
    producer = idempotent_producer(bootstrap, client_id="yidi-ops")
    await producer.start()
    try:
        async with ops_consumer(bootstrap) as consumer:
            yield Redriver(bootstrap, conn, consumer, producer, operator)
    finally:
        await producer.stop()
