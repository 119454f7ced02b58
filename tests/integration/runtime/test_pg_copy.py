"""Rows written as COPY text (services/runtime/pg_copy.py) read back as the values they were:
the one-join fast path and the field-by-field path (escapes, NULL, bytes) alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg

from services.runtime.pg_copy import copy_rows

ROWS = [
    ("plain", Decimal("1565.00"), True, dt.date(2026, 10, 31), 7, None),
    ("tab\there, back\\slash", Decimal("-0.00"), False, dt.date(2026, 1, 1), -3, b"\x00\\x"),
    ("line\nbreak\r改", Decimal("-12.30"), True, dt.date(2025, 12, 31), 2**40, b""),
    (r"\N", Decimal("0.01"), False, dt.date(2026, 2, 28), 0, None),
]


async def test_copy_text_round_trips(pg: asyncpg.Connection) -> None:
    await pg.execute(
        "CREATE TEMP TABLE copied (t text, n numeric(16,2), b boolean, d date, i bigint, x bytea)"
    )
    await copy_rows(pg, "copied", ("t", "n", "b", "d", "i", "x"), ROWS)
    back = [tuple(r) for r in await pg.fetch("SELECT t, n, b, d, i, x FROM copied ORDER BY d")]
    assert back == sorted(ROWS, key=lambda r: r[3])
