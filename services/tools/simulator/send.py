"""How the load generator queues its messages: one ``send`` per message at a set rate (the
sent time of each is its own), or, as fast as possible, a thousand at a time as one aiokafka
batch per partition (``events/stream/batch_send.py``): the bench's load generator shares the
box's two cores with what it measures, and ``send`` per message was most of its sending cost.
Either way every message's landing place is kept (``Report.positions``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import RecordMetadata

from events.stream.batch_send import send_batched
from events.wire.limits import ack_ref
from services.tools.simulator.build import Built
from services.tools.simulator.report import Report, Sent

CHUNK = 1000
"""Messages queued at once when batched: ~85 a partition, one request's worth."""


async def send_all(
    producer: AIOKafkaProducer, batch: list[Built], rate: float, report: Report,
    sent_at: dict[str, float], progress: Callable[[int, int], None] | None = None,
    batched: bool = False,
) -> None:  # fmt: skip
    if batched and rate == 0:
        await _send_batched(producer, batch, report, sent_at)
        return
    futures = []
    started = time.perf_counter()
    for i, b in enumerate(batch, 1):
        if rate > 0:
            ahead = i / rate - (time.perf_counter() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
        key, value, headers = b.record
        sent_at.setdefault(ack_ref(b.ce_id), time.perf_counter())
        futures.append(await _queue(producer, b.topic, value, key, headers))
        report.sent += 1
        report.sent_bad += b.bad is not None
        if progress is not None and i % 200 == 0:
            progress(i, len(batch))
    for b, meta in zip(batch, await asyncio.gather(*futures), strict=True):
        report.positions.append(Sent(b.bad, meta.topic, meta.partition, meta.offset))
    if progress is not None:
        progress(len(batch), len(batch))


async def _queue(
    producer: AIOKafkaProducer, topic: str, value: bytes, key: bytes | None,
    headers: list[tuple[str, bytes]], patience_s: float = 600,
) -> asyncio.Future[RecordMetadata]:  # fmt: skip
    """Queue one record, as a sender that keeps trying does: with the cluster down (every
    broker killed) a full partition batch makes ``send`` give up after its 40 s, the record
    not queued; queue it again (no duplicate: nothing was queued)."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            queued: asyncio.Future[RecordMetadata] = await producer.send(
                topic, value, key=key, headers=headers
            )
            return queued
        except KafkaTimeoutError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _send_batched(
    producer: AIOKafkaProducer, batch: list[Built], report: Report, sent_at: dict[str, float]
) -> None:
    """A chunk's messages are sent when its batches are queued (their sent time: before)."""
    queued = []
    for start in range(0, len(batch), CHUNK):
        chunk = batch[start : start + CHUNK]
        now = time.perf_counter()
        for b in chunk:
            sent_at.setdefault(ack_ref(b.ce_id), now)
        records = [(b.topic, None, b.record[0], b.record[1], b.record[2]) for b in chunk]
        queued += [(start, one) for one in await send_batched(producer, records)]
        report.sent += len(chunk)
        report.sent_bad += sum(b.bad is not None for b in chunk)
    landed: list[Sent | None] = [None] * len(batch)
    for start, one in queued:
        meta = await one.future
        for j, i in enumerate(one.indices):
            b = batch[start + i]
            landed[start + i] = Sent(b.bad, meta.topic, meta.partition, meta.offset + j)
    report.positions += [s for s in landed if s is not None]
