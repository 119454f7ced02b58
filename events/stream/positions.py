"""Where a sink's consumer group resumes: the port, and its in-memory implementation.

A sink stores its next offsets with its rows (one transaction), so the positions of record
are the sink's, not Kafka's; the stream loop asks this port where a newly assigned
partition resumes. The PostgreSQL adapter is ``services/runtime/positions.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class Positions(Protocol):
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

    def record(self, group_id: str, positions: Mapping[tuple[str, int], int]) -> None:
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
