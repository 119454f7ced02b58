"""The ledger sink behind a port: land a batch of settlement rows with the feed positions.

Rows are in ``pg_sink.LEDGER_COLUMNS`` order. A ``setl_id`` lands once (the first by
source offset); the same id arriving again with other bytes is kept aside as a conflict,
never overwriting what landed. ``pg_sink.PgLedgerSink`` is the PostgreSQL adapter (COPY
staging), ``MemoryLedgerSink`` the fake; ``tests/port_suites/ledger.py`` is the contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from events.stream.positions import MemoryPositions, Offsets, Positions
from services.ledger.adapters.pg_sink import LEDGER_COLUMNS, BatchOutcome

_ID = LEDGER_COLUMNS.index("setl_id")
_SHA = LEDGER_COLUMNS.index("payload_sha256")
_OFFSET = LEDGER_COLUMNS.index("src_offset")


class LedgerSink(Protocol):
    async def land(
        self, group_id: str, rows: Sequence[tuple[object, ...]], positions: Offsets
    ) -> BatchOutcome:
        """Rows and next offsets, atomically."""

    async def settlement(self, setl_id: str) -> dict[str, object] | None:
        """The landed row by column name."""

    async def conflicts(self, setl_id: str) -> int:
        """Other payloads seen for a landed ``setl_id``."""

    @property
    def positions(self) -> Positions: ...


class MemoryLedgerSink:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[object, ...]] = {}
        self.conflicting: set[tuple[str, object]] = set()
        self._positions = MemoryPositions()

    @property
    def positions(self) -> MemoryPositions:
        return self._positions

    async def land(
        self, group_id: str, rows: Sequence[tuple[object, ...]], positions: Offsets
    ) -> BatchOutcome:
        inserted = conflicts = 0
        for row in sorted(rows, key=lambda r: (str(r[_ID]), int(r[_OFFSET]))):  # type: ignore[call-overload]
            setl_id = str(row[_ID])
            if setl_id not in self.rows:
                self.rows[setl_id] = row
                inserted += 1
        for row in rows:
            setl_id = str(row[_ID])
            landed = self.rows[setl_id]
            key = (setl_id, row[_SHA])
            if landed[_SHA] != row[_SHA] and key not in self.conflicting:
                self.conflicting.add(key)
                conflicts += 1
        await self._positions.record(group_id, positions)
        return BatchOutcome(inserted, len(rows) - inserted, conflicts)

    async def settlement(self, setl_id: str) -> dict[str, object] | None:
        row = self.rows.get(setl_id)
        return None if row is None else dict(zip(LEDGER_COLUMNS, row, strict=True))

    async def conflicts(self, setl_id: str) -> int:
        return sum(1 for s, _ in self.conflicting if s == setl_id)
