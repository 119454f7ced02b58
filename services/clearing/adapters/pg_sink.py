"""The clearing feed's write for the sink loop (``SinkWorker``, replay, rebuild): one batch of
``Fact`` rows through ``service_layer.landing.land_batch`` on the PostgreSQL unit of work."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from events.wire.codec import Codec
from services.clearing.adapters.postgres import PgClearingUnitOfWork
from services.clearing.feed import Fact
from services.clearing.service_layer.landing import land_batch
from services.runtime.positions import BatchOutcome


class ClearingSink:
    """The clearing processor's batch write: entries, positions, warnings, offsets — atomically."""

    def __init__(self, codec: Codec, *, rebuild: bool = False) -> None:
        self.codec = codec
        self.rebuild = rebuild
        """A rebuild re-lands history: its warnings were raised (and recorded) already, and
        it commits without waiting for the WAL flush (entries, positions and offsets are one
        transaction: a crash loses a suffix of all three, which the resumed rebuild reads
        again), so the running positions' row locks are held for less."""

    async def __call__(
        self,
        conn: asyncpg.Connection,
        group_id: str,
        rows: Sequence[object],
        positions: dict[tuple[str, int], int],
    ) -> BatchOutcome:
        facts = [r for r in rows if isinstance(r, Fact)]
        landed = await land_batch(
            PgClearingUnitOfWork(conn), self.codec, group_id, facts, positions,
            rebuild=self.rebuild,
        )  # fmt: skip
        return BatchOutcome(landed.inserted, landed.duplicates, 0)
