"""Reading the tables of ``LEDGER_TABLES`` for the digest: one read-only snapshot, rows streamed
in key byte order, every listed column checked to exist before anything is hashed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from services.ops.core.digest import (
    LedgerDigest,
    Period,
    TableDigest,
    TableHasher,
    TableSpec,
    absent,
    combine,
)
from services.ops.core.errors import DigestError
from services.ops.core.ledger_tables import LEDGER_TABLES

FETCH_ROWS = 10_000
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")

_PERIOD_WHERE = {
    "setl_date": "setl_date >= $1 AND setl_date < $2",
    "period": "period = $1",
    "statement": "statement_id IN (SELECT statement_id FROM clearing_statements WHERE period = $1)",
    "year": "year = $1",
    "settlement_of_period": (
        "setl_id IN (SELECT setl_id FROM settlements WHERE setl_date >= $1 AND setl_date < $2)"
    ),
}


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise DigestError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def _period_args(spec: TableSpec, period: Period) -> tuple[object, ...]:
    if spec.period in ("setl_date", "settlement_of_period"):
        return (period.first_day, period.next_first_day)
    if spec.period == "year":
        return (period.year,)
    return (str(period),)


_CANONICAL_SQL = {
    "numeric": "trim_scale({c})::text",
    "timestamptz": """to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')""",
    "date": "to_char({c}, 'YYYY-MM-DD')",
    "bytea": "encode({c}, 'hex')",
}
"""The server renders these types in ``core.digest.canonical``'s exact text forms (the
integration test checks both paths agree): text crosses the wire and hashes several times
faster than Decimal and datetime objects, which dominate a large ledger's digest time."""


@dataclass(frozen=True, slots=True)
class Column:
    type_name: str
    collatable: bool


def query(
    spec: TableSpec, columns: dict[str, Column], period: Period | None, *, in_sql: bool = True
) -> tuple[str, tuple[object, ...]]:
    """The SELECT for one table: listed columns (rendered canonically by the server unless
    ``in_sql`` is false), optional period restriction, key byte order."""
    exprs = []
    for c in spec.all_columns:
        template = _CANONICAL_SQL.get(columns[c].type_name) if in_sql else None
        exprs.append(_ident(c) if template is None else template.format(c=_ident(c)))
    order = ", ".join(
        _ident(k) + (' COLLATE "C"' if columns[k].collatable else "") for k in spec.key
    )  # fmt: skip
    where = ""
    args: tuple[object, ...] = ()
    if period is not None:
        where, args = f" WHERE {_PERIOD_WHERE[spec.period]}", _period_args(spec, period)
    sql = f"SELECT {', '.join(exprs)} FROM {_ident(spec.name)}{where} ORDER BY {order}"
    return sql, args


async def _columns(conn: asyncpg.Connection, table: str) -> dict[str, Column]:
    """The columns of a table of the current schema; {} when it does not exist."""
    rows = await conn.fetch(
        """SELECT a.attname, t.typname, t.typcollation <> 0 AS collatable
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
           WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped""",
        table,
    )
    return {r["attname"]: Column(r["typname"], r["collatable"]) for r in rows}


async def table_digest(
    conn: asyncpg.Connection, spec: TableSpec, period: Period | None, *, in_sql: bool = True
) -> TableDigest:
    columns = await _columns(conn, spec.name)
    if not columns:
        return absent(spec)
    missing = [c for c in spec.all_columns if c not in columns]
    if missing:
        raise DigestError(f"{spec.name} has no column(s) {', '.join(missing)}")
    sql, args = query(spec, columns, period, in_sql=in_sql)
    hasher = TableHasher(spec)
    cursor = await conn.cursor(sql, *args)
    while rows := await cursor.fetch(FETCH_ROWS):
        for row in rows:
            hasher.add(tuple(row))
    return hasher.finish()


async def ledger_digest(
    conn: asyncpg.Connection,
    period: Period | None = None,
    specs: Sequence[TableSpec] = LEDGER_TABLES,
    *,
    in_sql: bool = True,
) -> LedgerDigest:
    """The digest of ``specs`` as of one snapshot (a concurrent sink's batch is all in or out)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        parts = [await table_digest(conn, spec, period, in_sql=in_sql) for spec in specs]
    return combine(parts, period)
