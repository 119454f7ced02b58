"""Reading a stretch of the retained log: partition bounds, a range resolved to spans, and
the spans' records in batches, without a consumer group (ops reads never move a
processor's offsets)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from events.stream import clients, reader
from events.stream.clients import KafkaConnection, to_input
from events.stream.salvage import install
from events.stream.types import InputRecord
from services.ops.core.errors import BadArgument, Stalled
from services.ops.core.replay import RangeRequest, RateLimit, Span, resolve

READ_BATCH = reader.READ_BATCH


@asynccontextmanager
async def ops_consumer(bootstrap: KafkaConnection) -> AsyncIterator[AIOKafkaConsumer]:
    install()  # a record the client cannot parse comes out marked, not as an exception
    consumer = clients.consumer(
        bootstrap,
        client_id="yidi-ops",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",  # an aborted transaction's records never happened
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def log_bounds(
    consumer: AIOKafkaConsumer, topic: str
) -> tuple[dict[int, int], dict[int, int]]:
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        await consumer._client.force_metadata_update()
        parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise BadArgument(f"no topic {topic} on the broker")
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    starts = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    return {tp.partition: starts[tp] for tp in tps}, {tp.partition: ends[tp] for tp in tps}


async def resolve_spans(
    consumer: AIOKafkaConsumer, topic: str, request: RangeRequest
) -> list[Span]:
    starts, ends = await log_bounds(consumer, topic)

    async def at(ms: int | None) -> dict[int, int | None] | None:
        if ms is None:
            return None
        found = await consumer.offsets_for_times({TopicPartition(topic, p): ms for p in ends})
        return {tp.partition: None if hit is None else hit.offset for tp, hit in found.items()}

    return resolve(
        topic, request, starts, ends, await at(request.since_ms), await at(request.until_ms)
    )


async def fetch_spans(
    consumer: AIOKafkaConsumer,
    topic: str,
    spans: Sequence[Span],
    limit: RateLimit,
    batch: int = READ_BATCH,
) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """The stream layer's span reader (``events/stream/reader.py``), rate-limited, with a
    stall reported as the ops error it is."""
    try:
        async for records in reader.fetch_spans(consumer, topic, spans, limit.wait_for, batch):
            yield records
    except reader.ReadStalled as stalled:
        raise Stalled(str(stalled)) from None


async def read_spans(
    consumer: AIOKafkaConsumer,
    topic: str,
    spans: Sequence[Span],
    limit: RateLimit,
    batch: int = READ_BATCH,
) -> AsyncIterator[list[InputRecord]]:
    """``fetch_spans`` as the engine's records."""
    async for records in fetch_spans(consumer, topic, spans, limit, batch):
        yield [to_input(r) for r in records]
