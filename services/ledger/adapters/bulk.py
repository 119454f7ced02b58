"""Trusted bulk landing of the settlement feed: ledger rows as COPY text (``rows.copy_line``,
beside the reference ``rows.ledger_row`` it must equal), straight from the JSON.

Why: a rebuild spends most of its time per record — contract validation, Decimals, binary
COPY encoding of 44 columns, a staging table, casts. Here Python picks the ledger fields
out of the published JSON as the strings they are and PostgreSQL parses them during the
COPY into ``settlements`` itself.

Trusted means the records are taken as the adjudicator wrote them: the contract is not
validated in Python; the table's types and CHECK identities still hold every row. A
batch with a ``setl_id`` already landed (a re-emitted settlement) lands through the
ledger's insert-if-absent staging instead, which also keeps aside other bytes for the
same id; a batch that does not parse or check raises, and the caller lands it through
the validating path, so a bad record still ends where the live sink put it. Equal
results are asserted by tests/integration/ops/test_trusted_rebuild.py and the replay e2e.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import asyncpg

from services.ledger.adapters.pg_sink import (
    STAGE,
    BatchOutcome,
    ensure_stage,
    land_stage,
    record_positions,
)
from services.ledger.rows import COPY_COLUMNS, copy_line


async def write_lines(
    conn: asyncpg.Connection,
    group_id: str,
    lines: Sequence[bytes],
    positions: dict[tuple[str, int], int],
) -> BatchOutcome:
    """Land the lines and the next offsets in one transaction (raises on a line PostgreSQL
    cannot parse or whose identities fail: the caller falls back).

    Committed without waiting for the WAL flush: rows and positions are one transaction,
    so a crash loses a suffix of both and the resumed rebuild reads it again."""
    async with conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit = off")
        outcome = BatchOutcome(0, 0, 0)
        if lines:
            try:
                async with conn.transaction():
                    await _copy(conn, "settlements", lines)
                outcome = BatchOutcome(len(lines), 0, 0)
            except asyncpg.UniqueViolationError:
                await ensure_stage(conn)
                await _copy(conn, STAGE, lines)
                inserted, conflicts = await land_stage(conn)
                outcome = BatchOutcome(inserted, len(lines) - inserted, conflicts)
        await record_positions(conn, group_id, positions)
    return outcome


async def _copy(conn: asyncpg.Connection, table: str, lines: Sequence[bytes]) -> None:
    await conn.copy_to_table(
        table, source=io.BytesIO(b"".join(lines)), columns=list(COPY_COLUMNS), format="text"
    )


__all__ = ["COPY_COLUMNS", "copy_line", "write_lines"]
