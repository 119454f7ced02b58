"""The PostgreSQL unit of work of clearing (asyncpg).

Why an advisory lock: a batch reads the periods' states and assigns each settlement to
the first OPEN month; a close flips a month to CLOSING. Batches take the lock shared and a
period transition takes it exclusively, so once a month is CLOSING no batch that still
believed it OPEN can land in it afterwards — the statement is built over a frozen set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
import orjson

from contracts.money import from_fen, to_fen
from services.clearing.adapters.pg_deductions import DeductionSql
from services.clearing.adapters.pg_landing import LandingSql
from services.clearing.adapters.pg_periods import PeriodSql
from services.clearing.core import periods as P
from services.clearing.core.prepayment import Thresholds
from services.clearing.ports import Lock, OutboxMessage, PendingMessage, PeriodRow

CLEARING_LOCK = 0x59494449_434C52
"""Advisory lock key shared by batches (shared) and period transitions (exclusive)."""


class PgOutbox:
    """``clearing_outbox``: written in the caller's transaction, read by the publisher."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, message: OutboxMessage) -> None:
        await self.conn.execute(
            "INSERT INTO clearing_outbox (ce_id, topic, key, value, headers) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ce_id) DO NOTHING",
            message.ce_id, message.topic, message.key, message.value,
            orjson.dumps([[k, v.decode("latin-1")] for k, v in message.headers]),
        )  # fmt: skip

    async def pending(self, limit: int) -> list[PendingMessage]:
        rows = await self.conn.fetch(
            "SELECT seq, ce_id, topic, key, value, headers FROM clearing_outbox "
            "WHERE published_at IS NULL ORDER BY seq LIMIT $1",
            limit,
        )
        return [
            PendingMessage(
                r["seq"],
                OutboxMessage(
                    r["ce_id"], r["topic"], None if r["key"] is None else bytes(r["key"]),
                    bytes(r["value"]),
                    tuple((k, v.encode("latin-1")) for k, v in orjson.loads(r["headers"])),
                ),
            )
            for r in rows
        ]  # fmt: skip

    async def mark_published(self, seqs: Sequence[int]) -> None:
        await self.conn.execute(
            "UPDATE clearing_outbox SET published_at = now() WHERE seq = ANY($1::bigint[])",
            list(seqs),
        )


class PgClearingRepository(LandingSql, PeriodSql, DeductionSql):
    """Every ``ports.ClearingRepository`` method over one connection in a transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._outbox = PgOutbox(conn)

    @property
    def outbox(self) -> PgOutbox:
        return self._outbox

    async def q4_fund(
        self, scope: str, months: Sequence[str], flow: tuple[str, str] | None = None
    ) -> dict[tuple[str, str], dict[str, int]]:
        rows = await self.conn.fetch(
            """SELECT period, payer, payee, sum(fund_pay_sumamt) AS fund FROM clearing_positions
               WHERE scope = $1 AND period = ANY($2::text[])
                 AND ($3::text IS NULL OR (payer = $3 AND payee = $4))
               GROUP BY period, payer, payee""",
            scope, list(months), *(flow or (None, None)),
        )  # fmt: skip
        out: dict[tuple[str, str], dict[str, int]] = {}
        for r in rows:
            out.setdefault((r["payer"], r["payee"]), {})[r["period"]] = to_fen(r["fund"])
        return out

    async def prepayment_flows(self, year: int, scope: str) -> list[tuple[str, str]]:
        rows = await self.conn.fetch(
            "SELECT payer, payee FROM prepayments WHERE year = $1 AND scope = $2 "
            "ORDER BY payer, payee",
            year,
            scope,
        )
        return [(r["payer"], r["payee"]) for r in rows]

    async def set_prepayments(
        self, year: int, scope: str, amounts: dict[tuple[str, str], int], t: Thresholds
    ) -> None:
        await self.conn.executemany(
            """INSERT INTO prepayments (year, scope, payer, payee, amount, yellow_bp, red_bp)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (year, scope, payer, payee) DO UPDATE SET amount = EXCLUDED.amount,
                   yellow_bp = EXCLUDED.yellow_bp, red_bp = EXCLUDED.red_bp, set_at = now()""",
            [
                (year, scope, payer, payee, from_fen(fen), t.yellow_bp, t.red_bp)
                for (payer, payee), fen in sorted(amounts.items())
            ],
        )  # fmt: skip

    async def prepayment_counts(self, year: int) -> list[tuple[str, int, int]]:
        rows = await self.conn.fetch(
            """SELECT scope, count(*) FILTER (WHERE year = $1 - 1) AS last,
                      count(*) FILTER (WHERE year = $1) AS now
               FROM prepayments WHERE year IN ($1 - 1, $1) GROUP BY scope ORDER BY scope""",
            year,
        )
        return [(r["scope"], r["last"], r["now"]) for r in rows]

    async def periods(self) -> list[PeriodRow]:
        rows = await self.conn.fetch(
            "SELECT period, scope, status, statement_id, changed_at FROM clearing_periods "
            "ORDER BY period, scope"
        )
        return [
            PeriodRow(r["period"], r["scope"], r["status"], r["statement_id"], r["changed_at"])
            for r in rows
        ]

    async def statuses_before(self, year: int) -> dict[tuple[str, str], P.Status]:
        rows = await self.conn.fetch(
            """SELECT p.period, p.scope, coalesce(c.status, 'OPEN') AS status
               FROM (SELECT DISTINCT period, scope FROM clearing_positions
                     UNION SELECT period, scope FROM clearing_periods) p
               LEFT JOIN clearing_periods c ON c.period = p.period AND c.scope = p.scope
               WHERE substr(p.period, 1, 4)::int < $1""",
            year,
        )
        return {(r["period"], r["scope"]): r["status"] for r in rows}


class PgClearingUnitOfWork:
    """``ports.ClearingUnitOfWork`` over one connection (the caller owns it)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @asynccontextmanager
    async def transaction(
        self, lock: Lock = "none", *, snapshot: bool = False, fast_commit: bool = False
    ) -> AsyncIterator[PgClearingRepository]:
        async with self.conn.transaction(isolation="repeatable_read" if snapshot else None):
            if fast_commit:
                await self.conn.execute("SET LOCAL synchronous_commit = off")
            if lock == "shared":
                await self.conn.execute("SELECT pg_advisory_xact_lock_shared($1)", CLEARING_LOCK)
            elif lock == "exclusive":
                await self.conn.execute("SELECT pg_advisory_xact_lock($1)", CLEARING_LOCK)
            yield PgClearingRepository(self.conn)


class PgOutboxReader:
    """``ports.OutboxReader`` over a pool: each call on its own connection."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def pending(self, limit: int) -> list[PendingMessage]:
        async with self.pool.acquire() as conn:
            return await PgOutbox(conn).pending(limit)

    async def mark_published(self, seqs: Sequence[int]) -> None:
        async with self.pool.acquire() as conn:
            await PgOutbox(conn).mark_published(seqs)


class PgPoolClearingUnitOfWork:
    """``ports.ClearingUnitOfWork`` over a pool: each transaction on a connection of its own
    (the command handler's: several closes and confirmations may run at once)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def transaction(
        self, lock: Lock = "none", *, snapshot: bool = False, fast_commit: bool = False
    ) -> AsyncIterator[PgClearingRepository]:
        async with (
            self.pool.acquire() as conn,
            PgClearingUnitOfWork(conn).transaction(
                lock, snapshot=snapshot, fast_commit=fast_commit
            ) as repo,
        ):
            yield repo
