"""The ops page's broker reads, as the ``ops`` principal: the log's end offsets, the stream
processors' committed positions (their offsets live in Kafka, not in ``sink_offsets``), and
the dead letters counted by reason.

Why cached: reading the DLQ means reading the topic; the page refreshes every few seconds, so
the counts are re-read at most every ``DLQ_TTL_S`` (the page says when they were read)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from aiokafka import TopicPartition

from events import catalog
from events.stream import clients
from events.stream.clients import KafkaConnection
from services.ops.core.dlq import DlqFilter
from services.ops.kafka import partition_counts, read_dlq
from services.ops.log_reader import ops_consumer

DLQ_TTL_S = 30.0


@dataclass(slots=True)
class DlqCounts:
    by_reason: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(stage, reason code) -> records."""
    total: int = 0
    read_at: float = 0.0
    unreadable: int = 0


class BrokerReads:
    def __init__(self, conn: KafkaConnection) -> None:
        self.conn = conn
        self._dlq = DlqCounts()
        self._dlq_lock = asyncio.Lock()

    async def end_offsets(self, topics: Collection[str]) -> dict[str, dict[int, int]]:
        counts = await partition_counts(self.conn, topics)
        tps = [TopicPartition(t, p) for t, n in counts.items() for p in range(n)]
        out: dict[str, dict[int, int]] = {t: {} for t in topics}
        if not tps:
            return out
        async with ops_consumer(self.conn) as consumer:
            ends = await consumer.end_offsets(tps)
        for tp, end in ends.items():
            out[tp.topic][tp.partition] = end
        return out

    async def committed(self, group: str) -> dict[str, dict[int, int]]:
        """topic -> partition -> committed offset of a Kafka-committing group."""
        admin = clients.admin(self.conn, client_id="yidi-dashboard")
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        out: dict[str, dict[int, int]] = {}
        for tp, meta in offsets.items():
            if meta.offset >= 0:
                out.setdefault(tp.topic, {})[tp.partition] = meta.offset
        return out

    async def dlq_counts(self) -> DlqCounts:
        async with self._dlq_lock:
            if time.monotonic() - self._dlq.read_at < DLQ_TTL_S and self._dlq.read_at:
                return self._dlq
            read = await read_dlq(self.conn, DlqFilter())
            counts = DlqCounts(read_at=time.monotonic(), unreadable=len(read.unreadable))
            for entry in read.entries:
                counts.by_reason[(entry.record.stage, entry.record.reason.code)] += 1
            counts.total = len(read.entries)
            self._dlq = counts
            return counts


STREAM_GROUPS = {catalog.ADJUDICATION_GROUP: (catalog.VISIT, catalog.REGISTRATION)}
"""Groups that commit in Kafka (the stream engine's), with the topics they read."""
