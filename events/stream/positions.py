"""Where a sink's consumer group stands per partition: the one sink-positions port, and its
in-memory implementation.

A sink stores its next offsets with its rows (one transaction), so the positions of record
are the sink's, not Kafka's: a restarted, rebalanced or rebuilt sink resumes exactly after
what it landed, and the stream loop asks this port where a newly assigned partition
resumes. The sinks, the clearing freeze and the stream layer share this one definition;
``services/runtime/positions.py`` (``PgPositions``) is the PostgreSQL adapter,
``MemoryPositions`` the fake, and ``tests/port_suites/sink_positions.py`` the contract both
pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

Offsets = Mapping[tuple[str, int], int]
"""(topic, partition) -> next offset."""


class Positions(Protocol):
    async def record(self, group_id: str, positions: Offsets) -> None:
        """Write next offsets (in the caller's transaction, for a database); a position never
        moves backwards."""
        ...

    async def stored(
        self, group_id: str, topic: str, partitions: Sequence[int] | None = None
    ) -> dict[int, int]:
        """Next offsets recorded for ``partitions`` (all when ``None``); a partition never
        written is absent."""
        ...

    async def forget(self, group_id: str, topic: str) -> None:
        """Drop a group's positions on ``topic``."""
        ...


class MemoryPositions:
    """Positions in a dict: for unit tests and in-memory drivers."""

    def __init__(self) -> None:
        self.next: dict[tuple[str, str, int], int] = {}

    async def record(self, group_id: str, positions: Offsets) -> None:
        """Move positions forward only, like ``sink_offsets``' upsert."""
        for (topic, partition), offset in positions.items():
            key = (group_id, topic, partition)
            self.next[key] = max(self.next.get(key, offset), offset)

    async def stored(
        self, group_id: str, topic: str, partitions: Sequence[int] | None = None
    ) -> dict[int, int]:
        return {
            p: o
            for (g, t, p), o in self.next.items()
            if g == group_id and t == topic and (partitions is None or p in partitions)
        }

    async def forget(self, group_id: str, topic: str) -> None:
        for key in [k for k in self.next if k[0] == group_id and k[1] == topic]:
            del self.next[key]

    def by_group(self, topic: str) -> dict[str, dict[int, int]]:
        """Every group's positions on ``topic`` (what a clearing freeze records)."""
        out: dict[str, dict[int, int]] = {}
        for (group, t, partition), at in self.next.items():
            if t == topic:
                out.setdefault(group, {})[partition] = at
        return out
