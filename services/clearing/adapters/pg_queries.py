"""Queries on large stays in PostgreSQL (``audit_queries``, migration 0011), and what a query
reads of the settlement (the ledger's row, whether a reversal of it landed) and of a
deduction (``clearing_deductions``)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from contracts.money import to_fen
from services.clearing.core.queries import OPEN, Query, QueryState
from services.clearing.ports import StayRow

_FIELDS = tuple(f.name for f in dataclasses.fields(Query))
_COLS = ", ".join(_FIELDS)


def _query(r: asyncpg.Record) -> Query:
    values = {f: r[f] for f in _FIELDS}
    values["state"] = QueryState(values["state"])
    return Query(**values)


class PgQueryStore:
    """``ports.QueryStore`` over one connection; ``transaction`` locks what a step reads."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgQueryStore]:
        async with self.conn.transaction():
            yield self

    async def stay(self, setl_id: str) -> StayRow | None:
        r = await self.conn.fetchrow(
            """SELECT clr_type, medfee_sumamt, fund_pay_sumamt, setl_date, insuplc_admdvs,
                      mdtrtarea_admvs,
                      EXISTS (SELECT 1 FROM settlements v WHERE v.orig_setl_id = s.setl_id
                              AND v.kind = 'reversal') AS reversed
               FROM settlements s WHERE setl_id = $1 AND kind = 'settlement'""",
            setl_id,
        )
        if r is None:
            return None
        return StayRow(
            setl_id, r["clr_type"] or "", to_fen(r["medfee_sumamt"]),
            to_fen(r["fund_pay_sumamt"]), r["setl_date"], r["insuplc_admdvs"],
            r["mdtrtarea_admvs"], r["reversed"],
        )  # fmt: skip

    async def get(self, query_id: str) -> Query | None:
        r = await self.conn.fetchrow(
            f"SELECT {_COLS} FROM audit_queries WHERE query_id = $1 FOR UPDATE", query_id
        )
        return None if r is None else _query(r)

    async def open_for(self, setl_id: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM audit_queries WHERE setl_id = $1 "
                "AND state = ANY($2::text[]))",
                setl_id,
                sorted(OPEN),
            )
        )

    async def save(self, q: Query) -> None:
        placeholders = ", ".join(f"${i}" for i in range(1, len(_FIELDS) + 1))
        updates = ", ".join(f"{f} = EXCLUDED.{f}" for f in _FIELDS[1:])
        await self.conn.execute(
            f"""INSERT INTO audit_queries ({_COLS}) VALUES ({placeholders})
                ON CONFLICT (query_id) DO UPDATE SET {updates}, changed_at = now()""",
            *(str(v) if isinstance(v, QueryState) else v
              for v in (getattr(q, f) for f in _FIELDS)),
        )  # fmt: skip

    async def all(self) -> list[Query]:
        rows = await self.conn.fetch(
            f"SELECT {_COLS} FROM audit_queries ORDER BY batch, raised_on, query_id FOR UPDATE"
        )
        return [_query(r) for r in rows]

    async def deduction_setl(self, participant: str, deduction_id: str) -> str | None:
        setl: str | None = await self.conn.fetchval(
            "SELECT setl_id FROM clearing_deductions WHERE participant = $1 AND deduction_id = $2",
            participant, deduction_id,
        )  # fmt: skip
        return setl
