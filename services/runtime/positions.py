"""Sink positions in PostgreSQL (``sink_offsets``): the PostgreSQL adapter of the stream
layer's ``Positions`` port (``events/stream/positions.py``).

Why offsets live here and not (only) in Kafka: a crash between the database commit and a
Kafka commit would otherwise replay the batch; with the positions committed atomically
with the rows (``record_positions`` in the writer's transaction), a restarted (or new)
owner seeks exactly past what landed. Every PostgreSQL sink (ledger, clearing, the filings
rebuild) writes its positions through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from events.stream.positions import Offsets


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a sink's batch write did: rows new, rows already there, rows with other bytes
    for an id already landed (kept aside, never overwritten)."""

    inserted: int
    already_present: int
    conflicts: int


async def record_positions(
    conn: asyncpg.Connection | asyncpg.Pool, group_id: str, positions: Offsets
) -> None:
    """Next offsets of a sink's consumer group, written in the caller's transaction."""
    if positions:
        await conn.executemany(
            """INSERT INTO sink_offsets (group_id, topic, partition, next_offset)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (group_id, topic, partition) DO UPDATE
               SET next_offset = GREATEST(sink_offsets.next_offset, EXCLUDED.next_offset),
                   updated_at = now()""",
            [(group_id, t, p, o) for (t, p), o in sorted(positions.items())],
        )


async def stored_positions(
    conn: asyncpg.Connection | asyncpg.Pool,
    group_id: str,
    topic: str,
    partitions: Sequence[int] | None = None,
) -> dict[int, int]:
    """Next offsets recorded for ``partitions`` (all when ``None``; absent: never written)."""
    if partitions is None:
        rows = await conn.fetch(
            "SELECT partition, next_offset FROM sink_offsets WHERE group_id = $1 AND topic = $2",
            group_id,
            topic,
        )
    else:
        rows = await conn.fetch(
            "SELECT partition, next_offset FROM sink_offsets "
            "WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])",
            group_id,
            topic,
            list(partitions),
        )
    return {r["partition"]: r["next_offset"] for r in rows}


async def forget_positions(
    conn: asyncpg.Connection | asyncpg.Pool, group_id: str, topic: str
) -> None:
    """Drop a group's positions on ``topic`` (a rebuild starts its projection from nothing)."""
    await conn.execute(
        "DELETE FROM sink_offsets WHERE group_id = $1 AND topic = $2", group_id, topic
    )


class PgPositions:
    """``events.stream.positions.Positions`` in PostgreSQL, over a connection (inside the
    caller's transaction: a sink's rows and its positions commit together) or a pool."""

    def __init__(self, db: asyncpg.Connection | asyncpg.Pool) -> None:
        self.db = db

    async def record(self, group_id: str, positions: Offsets) -> None:
        await record_positions(self.db, group_id, positions)

    async def stored(
        self, group_id: str, topic: str, partitions: Sequence[int] | None = None
    ) -> dict[int, int]:
        return await stored_positions(self.db, group_id, topic, partitions)

    async def forget(self, group_id: str, topic: str) -> None:
        await forget_positions(self.db, group_id, topic)
