"""Reading without a consumer group, and landing what is read: the stream layer's other loop.

Ops reads (replay, rebuild, shadow, redrive checks) and the tools' readers never move a
processor's offsets, so they assign partitions and read stretches of the log here. What
they do with a batch is the same port as the group loop's (``land``): ``drive`` lands one
batch while the next is read, in read order (one in flight), so a partition's position
moves forward with its rows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol, TypeAlias, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from events.stream.clients import to_input
from events.stream.types import InputRecord

READ_BATCH = 5000
STALL_TIMEOUT_S = 30.0
Record: TypeAlias = ConsumerRecord[bytes, bytes]
B = TypeVar("B")


class ReadStalled(Exception):
    """No record arrived for ``STALL_TIMEOUT_S`` before the stretch's end (records deleted
    by retention meanwhile, or a broker that stopped answering)."""


class SpanLike(Protocol):
    """A stretch of one partition: ``[start, end)``."""

    @property
    def partition(self) -> int: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


Pace = Callable[[int, float], float]
"""Given records just read and the monotonic clock, how long to sleep (a rate limit)."""


async def fetch_spans(
    consumer: AIOKafkaConsumer,
    topic: str,
    spans: Sequence[SpanLike],
    pace: Pace = lambda _n, _now: 0.0,
    batch: int = READ_BATCH,
) -> AsyncIterator[list[Record]]:
    """The records of ``spans`` as fetched (per partition in offset order), paced."""
    todo = {TopicPartition(topic, s.partition): s for s in spans if s.end > s.start}
    if not todo:
        return
    consumer.assign(list(todo))
    for tp, s in todo.items():
        consumer.seek(tp, s.start)
    last_progress = time.monotonic()
    while todo:
        got = await consumer.getmany(*todo, timeout_ms=1000, max_records=batch)
        if got:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > STALL_TIMEOUT_S:
            left = {tp.partition: (await consumer.position(tp), s.end) for tp, s in todo.items()}
            raise ReadStalled(f"{topic}: no record for {STALL_TIMEOUT_S:.0f} s; at/end {left}")
        records: list[Record] = []
        for tp, recs in got.items():
            span = todo.get(tp)
            if span is None:
                continue
            past_end = bool(recs) and recs[-1].offset >= span.end
            records.extend([r for r in recs if r.offset < span.end] if past_end else recs)
            if recs and recs[-1].offset + 1 >= span.end:
                del todo[tp]
        for tp in [tp for tp, s in todo.items() if await consumer.position(tp) >= s.end]:
            del todo[tp]
        if records:
            if (pause := pace(len(records), time.monotonic())) > 0:
                await asyncio.sleep(pause)
            yield records


async def read_spans(
    consumer: AIOKafkaConsumer,
    topic: str,
    spans: Sequence[SpanLike],
    pace: Pace = lambda _n, _now: 0.0,
    batch: int = READ_BATCH,
) -> AsyncIterator[list[InputRecord]]:
    """``fetch_spans`` as the engine's records."""
    async for records in fetch_spans(consumer, topic, spans, pace, batch):
        yield [to_input(r) for r in records]


async def read_to_ends(
    consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int], stall_s: float = STALL_TIMEOUT_S
) -> AsyncIterator[Record]:
    """Records of ``ends``' partitions (already assigned and positioned) until each position
    reaches its end offset; fails when nothing arrives for ``stall_s``."""
    remaining = {tp: end for tp, end in ends.items() if end > 0}
    deadline = time.monotonic() + stall_s
    while remaining:
        for tp in list(remaining):
            if await consumer.position(tp) >= remaining[tp]:
                del remaining[tp]
        if not remaining:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading {sorted(map(str, remaining))} stalled")
        batch = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
        if batch:
            deadline = time.monotonic() + stall_s
        for tp, records in batch.items():
            for rec in records:
                if rec.offset < remaining.get(tp, 0):
                    yield rec


async def tail(
    consumer: AIOKafkaConsumer, poll_ms: int = 100, max_records: int = 2000
) -> AsyncIterator[list[Record]]:
    """Every batch a subscribed or assigned consumer fetches, until the caller stops (an
    empty list when a poll found nothing, so the caller can check its clock)."""
    while True:
        batch = await consumer.getmany(timeout_ms=poll_ms, max_records=max_records)
        yield [rec for records in batch.values() for rec in records]


async def rebatch(batches: AsyncIterator[list[B]], first: int, size: int) -> AsyncIterator[list[B]]:
    """Fetched batches regrouped: a small first batch (so the writer starts early), then
    batches of at least ``size``."""
    pending: list[B] = []
    want = first
    async for items in batches:
        pending.extend(items)
        if len(pending) >= want:
            yield pending
            pending, want = [], size
    if pending:
        yield pending


async def drive(batches: AsyncIterator[B], land: Callable[[B], Coroutine[Any, Any, None]]) -> None:
    """Land every batch, one landing while the next is read (batches land in read order:
    one in flight). A failed landing stops the reading and raises."""
    in_flight: asyncio.Task[None] | None = None
    try:
        async for batch in batches:
            if in_flight is not None:
                await in_flight
            in_flight = asyncio.create_task(land(batch))
        if in_flight is not None:
            await in_flight
    finally:
        if in_flight is not None and not in_flight.done():
            in_flight.cancel()
