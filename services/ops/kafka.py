"""The broker side of ops: read the DLQ (a range, or one record), look up partitions, and scan a
partition for redrive markers. No consumer group: ops reads never move a processor's offsets."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from events.dlq import DLQ_TOPIC, parse_dlq
from events.stream import clients
from events.stream.clients import KafkaConnection, to_input
from events.stream.reader import read_to_ends
from events.stream.types import InputRecord
from services.ops.core.dlq import DlqEntry, DlqFilter, DlqPosition, SourcePosition
from services.ops.core.errors import NotFound
from services.ops.core.redrive import REDRIVE_HEADER
from services.ops.log_reader import ops_consumer


@dataclass(slots=True)
class DlqRead:
    entries: list[DlqEntry]
    unreadable: list[DlqPosition]
    """Records on the DLQ topic that are not DLQ records (never written by yidi)."""


async def partition_counts(bootstrap: KafkaConnection, topics: Collection[str]) -> dict[str, int]:
    """Partitions per topic, asked of the broker now (0 for a topic it does not have)."""
    admin = clients.admin(bootstrap, client_id="yidi-ops")
    await admin.start()
    try:
        existing = set(await admin.list_topics()) & set(topics)
        described = await admin.describe_topics(sorted(existing)) if existing else []
    finally:
        await admin.close()
    counts = dict.fromkeys(topics, 0)
    counts.update({t["topic"]: len(t["partitions"]) for t in described})
    return counts


def _entry(topic: str, partition: int, offset: int, ts: int, value: bytes | None) -> DlqEntry:
    return DlqEntry(topic, DlqPosition(partition, offset), ts, parse_dlq(value or b""))


async def read_dlq(bootstrap: KafkaConnection, flt: DlqFilter, topic: str = DLQ_TOPIC) -> DlqRead:
    """Every DLQ record matching ``flt`` up to the end seen at the start (a snapshot: records
    dead-lettered while reading are left for the next command). ``since`` seeks by time."""
    out = DlqRead([], [])
    count = (await partition_counts(bootstrap, [topic]))[topic]
    async with ops_consumer(bootstrap) as consumer:
        tps = [TopicPartition(topic, p) for p in range(count)]
        if not tps:
            return out
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        if flt.since_ms is not None:
            found = await consumer.offsets_for_times({tp: flt.since_ms for tp in tps})
            starts = {tp: ends[tp] if hit is None else hit.offset for tp, hit in found.items()}
        for tp in tps:
            consumer.seek(tp, starts[tp])

        async for rec in read_to_ends(
            consumer, {tp: ends[tp] for tp in tps if starts[tp] < ends[tp]}
        ):
            try:
                entry = _entry(rec.topic, rec.partition, rec.offset, rec.timestamp, rec.value)
            except ValidationError:
                out.unreadable.append(DlqPosition(rec.partition, rec.offset))
                continue
            if flt.matches(entry):
                out.entries.append(entry)
    return out


async def read_one(
    bootstrap: KafkaConnection, position: DlqPosition, topic: str = DLQ_TOPIC
) -> DlqEntry:
    count = (await partition_counts(bootstrap, [topic]))[topic]
    if position.partition >= count:
        raise NotFound(f"{topic} has no partition {position.partition}")
    async with ops_consumer(bootstrap) as consumer:
        tp = TopicPartition(topic, position.partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        begin = (await consumer.beginning_offsets([tp]))[tp]
        if not begin <= position.offset < end:
            raise NotFound(f"no record at {topic} {position} (partition holds {begin}..{end - 1})")
        consumer.seek(tp, position.offset)
        async for rec in read_to_ends(consumer, {tp: position.offset + 1}):
            if rec.offset == position.offset:
                try:
                    return _entry(rec.topic, rec.partition, rec.offset, rec.timestamp, rec.value)
                except ValidationError:
                    raise NotFound(f"{topic} {position} is not a DLQ record") from None
        raise NotFound(f"no record at {topic} {position} (compacted away?)")


async def read_sources(
    consumer: AIOKafkaConsumer, positions: Collection[SourcePosition]
) -> dict[SourcePosition, InputRecord | None]:
    """The record at each source position, or ``None`` where the log no longer holds one
    (retention, compaction): how a DLQ record kept by reference gets its original back."""
    found: dict[SourcePosition, InputRecord | None] = {}
    for pos in sorted(set(positions), key=lambda p: (p.topic, p.partition, p.offset)):
        tp = TopicPartition(pos.topic, pos.partition)
        consumer.assign([tp])
        begin = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        found[pos] = None
        if not begin <= pos.offset < end:
            continue
        consumer.seek(tp, pos.offset)
        async for rec in read_to_ends(consumer, {tp: pos.offset + 1}):
            if rec.offset == pos.offset:
                found[pos] = to_input(rec)
    return found


async def find_markers(
    consumer: AIOKafkaConsumer, tp: TopicPartition, start: int, wanted: set[str]
) -> dict[str, int]:
    """Offsets at or after ``start`` of records whose redrive marker is in ``wanted``."""
    consumer.assign([tp])
    end = (await consumer.end_offsets([tp]))[tp]
    found: dict[str, int] = {}
    if start >= end:
        return found
    consumer.seek(tp, start)
    async for rec in read_to_ends(consumer, {tp: end}):
        for name, raw in rec.headers or ():
            if name == REDRIVE_HEADER and (mark := raw.decode("utf-8", "replace")) in wanted:
                found.setdefault(mark, rec.offset)
    return found
