"""Rebuilding the registration projection (``filings`` / ``insured_persons``) from its topic.

Why it is not a sink like the ledger: a filings row is the registration task's verdict
(a revocation counts only when the person's state accepted it), so the task runs again,
from offset 0 of each partition, on the stream layer's in-memory driver (the live
engine's per-record step and guard: a bad record is dead-lettered in the live run and is
no stop here). Its rows come out through the same ``PendingRows`` port the live worker
drains, and land with the batch's positions (``FILINGS.positions_group``) through the same
``land`` the live worker uses, one batch landing while the next is read and processed
(``events/stream/reader.drive``). A resumed run recomputes state from offset 0 but writes
only the rows of records at or after where it stopped (rows are newest-offset-wins anyway).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer

from events.stream import reader
from events.stream.memory import MemoryEngine
from events.stream.types import InputRecord
from events.wire.codec import Codec
from services.ops.core.replay import RateLimit, Span
from services.ops.log_reader import read_spans
from services.ops.runs import Progress
from services.registration import projection as filings
from services.registration import task as registration
from services.registration.projection import FILINGS, PendingRows

Positions = dict[tuple[str, int], int]


async def drive_filings(
    consumer: AIOKafkaConsumer,
    pool: asyncpg.Pool,
    codec: Codec,
    spans: Sequence[Span],
    limit: RateLimit,
    progress: Progress,
) -> tuple[int, int, int, int]:
    """Records read, rows written (and two zeros: the projection counts no duplicates and
    skips no record)."""
    rows = PendingRows()
    engine = MemoryEngine(
        lambda p, restored: registration.RegistrationTask(p, restored, codec, rows),
        registration.guard(codec),
        keep=False,
        changelog=False,  # the tasks live through the whole run: nothing restores them
    )
    full = [Span(s.partition, 0, s.end) for s in spans]
    keep_from = {s.partition: s.start for s in spans}
    totals = [0, 0]

    async def processed() -> AsyncIterator[tuple[int, list[filings.Row], Positions]]:
        async for batch in read_spans(consumer, FILINGS.topic, full, limit):
            engine.batch(batch)
            yield len(batch), rows.drain(keep_from), _positions(batch)

    async def land(done: tuple[int, list[filings.Row], Positions]) -> None:
        n, kept, positions = done
        async with pool.acquire() as conn:
            await filings.land(conn, kept, FILINGS.positions_group, positions)
        totals[0] += n
        totals[1] += len(kept)
        progress(n)

    await reader.drive(processed(), land)
    return totals[0], totals[1], 0, 0


def _positions(batch: Sequence[InputRecord]) -> Positions:
    return {(rec.topic, rec.partition): rec.offset + 1 for rec in batch}
