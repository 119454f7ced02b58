"""Rows as PostgreSQL COPY text, for batches of numbers.

Why: asyncpg's binary COPY encodes each ``Decimal`` in Python at a few microseconds a value,
which made it most of a clearing batch's cost; as text, PostgreSQL parses the digits.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

import asyncpg

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def field(value: object) -> str:
    """One value as a COPY text field (``\\N`` for NULL)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, dt.date):  # datetime too
        return value.isoformat()
    raise TypeError(f"no COPY text for {type(value).__name__}")


_STR_IS_COPY_TEXT = frozenset({str, int, Decimal, bool, dt.date, dt.datetime})
"""Types whose ``str`` PostgreSQL reads back as the value (bool: True/False are accepted)."""


def line(row: Sequence[object]) -> str:
    """One row as a COPY text line: ``str`` of each value when nothing needs escaping or
    special-casing (the common case, one join), else field by field."""
    text = "\t".join(map(str, row))
    if (
        text.count("\t") == len(row) - 1
        and "\\" not in text
        and "\n" not in text
        and "\r" not in text
        and _STR_IS_COPY_TEXT.issuperset(map(type, row))
    ):
        return text + "\n"
    return "\t".join(map(field, row)) + "\n"


def copy_text(rows: Iterable[Sequence[object]]) -> bytes:
    return "".join(map(line, rows)).encode()


async def copy_rows(
    conn: asyncpg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """COPY ``rows`` into ``table`` as text."""
    await conn.copy_to_table(
        table, source=io.BytesIO(copy_text(rows)), columns=list(columns), format="text"
    )
