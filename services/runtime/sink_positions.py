"""Sink positions (``sink_offsets``): where each sink's consumer group stands per partition.

A sink writes its next offsets in the transaction of the rows it lands, so a restarted,
rebalanced or rebuilt sink resumes exactly after what it landed. The port is the one
definition the sinks, the clearing freeze and the stream layer share; ``PgSinkPositions``
is the PostgreSQL adapter, ``MemorySinkPositions`` the fake, and
``tests/port_suites/sink_positions.py`` the contract both pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import asyncpg

Positions = dict[tuple[str, int], int]
"""(topic, partition) -> next offset."""


class SinkPositions(Protocol):
    async def record(self, group_id: str, positions: Positions) -> None:
        """Write next offsets in the caller's transaction; a position never moves backwards."""

    async def stored(self, group_id: str, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        """Next offsets recorded for ``partitions`` (absent: never written)."""


class PgSinkPositions:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def record(self, group_id: str, positions: Positions) -> None:
        if positions:
            await self.conn.executemany(
                """INSERT INTO sink_offsets (group_id, topic, partition, next_offset)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (group_id, topic, partition) DO UPDATE
                   SET next_offset = GREATEST(sink_offsets.next_offset, EXCLUDED.next_offset),
                       updated_at = now()""",
                [(group_id, t, p, o) for (t, p), o in sorted(positions.items())],
            )

    async def stored(self, group_id: str, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        rows = await self.conn.fetch(
            "SELECT partition, next_offset FROM sink_offsets "
            "WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])",
            group_id,
            topic,
            list(partitions),
        )
        return {r["partition"]: r["next_offset"] for r in rows}


class MemorySinkPositions:
    def __init__(self) -> None:
        self.offsets: dict[tuple[str, str, int], int] = {}

    async def record(self, group_id: str, positions: Positions) -> None:
        for (topic, partition), at in positions.items():
            key = (group_id, topic, partition)
            self.offsets[key] = max(at, self.offsets.get(key, at))

    async def stored(self, group_id: str, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        return {
            p: self.offsets[(group_id, topic, p)]
            for p in partitions
            if (group_id, topic, p) in self.offsets
        }

    def by_group(self, topic: str) -> dict[str, dict[int, int]]:
        """Every group's positions on ``topic`` (what a clearing freeze records)."""
        out: dict[str, dict[int, int]] = {}
        for (group, t, partition), at in self.offsets.items():
            if t == topic:
                out.setdefault(group, {})[partition] = at
        return out
