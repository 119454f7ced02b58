"""Periods, statements, confirmations, corrections and prepayments in PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import asyncpg

from contracts.money import from_fen, to_fen
from contracts.settlement import SETTLEMENT_TOPIC
from services.clearing.core import periods as P
from services.clearing.core.corrections import CorrectionLine
from services.clearing.core.prepayment import Thresholds
from services.clearing.core.statement import Draft, PairKey, PairTotals, Prepayment
from services.clearing.feed import AMOUNT_FIELDS
from services.clearing.ports import (
    IssuedPair,
    IssuedStatement,
    LateEntry,
    LedgerTotals,
    StatementView,
)

_FROZEN = f"""
    SELECT coalesce(jsonb_object_agg(group_id, offsets), '{{}}'::jsonb) FROM (
        SELECT group_id, jsonb_object_agg(partition::text, next_offset) AS offsets
        FROM sink_offsets WHERE topic = '{SETTLEMENT_TOPIC}' AND group_id LIKE $3 || '%'
        GROUP BY group_id) g"""

_LARGE_SCAN = "SET LOCAL work_mem = '256MB'; SET LOCAL jit = off"
"""For the close's passes over a month of entries and ledger rows, in their transaction
only. With the default 4 MB the join's hash and the grouping spill to disk in batches
(1,000,000 rows: 8 hash batches and an external merge sort, 2.4 s of a 4.5 s close), and
JIT compiles the sums' expressions for 0.35 s that the rows never pay back (measured with
EXPLAIN ANALYZE; docs/clearing.md, "How fast a close is")."""


def _totals(r: asyncpg.Record) -> tuple[PairKey, PairTotals]:
    funds = tuple(to_fen(r[c]) for c in AMOUNT_FIELDS[2:])
    return (r["home"], r["treatment"], r["payer"], r["payee"]), PairTotals(
        r["setl_cnt"], r["rev_cnt"], r["late_cnt"],
        to_fen(r["medfee_sumamt"]), to_fen(r["fund_pay_sumamt"]), funds,
    )  # fmt: skip


class PeriodSql:
    """Mixin of ``PgClearingRepository``: the period side."""

    conn: asyncpg.Connection

    async def freeze(self, period: str, scope: str, group_prefix: str) -> None:
        await self.conn.execute(
            f"""INSERT INTO clearing_periods (period, scope, status, frozen_offsets)
               VALUES ($1, $2, 'CLOSING', ({_FROZEN}))
               ON CONFLICT (period, scope) DO UPDATE SET status = 'CLOSING',
                   frozen_offsets = EXCLUDED.frozen_offsets, changed_at = now()""",
            period, scope, group_prefix,
        )  # fmt: skip

    async def ledger_missing(self, period: str, scope: str) -> int:
        await self.conn.execute(_LARGE_SCAN)
        return int(
            await self.conn.fetchval(
                """SELECT count(*) FROM clearing_entries e WHERE e.period = $1 AND e.scope = $2
                   AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.setl_id = e.setl_id)""",
                period,
                scope,
            )
        )

    async def ledger_totals(self, period: str, scope: str) -> LedgerTotals:
        """One hash join of the period's entries with the ledger. The entries missing from the
        ledger are the period's entry count less the joined rows (``setl_id`` is the key of
        both tables, so each entry joins at most one ledger row): an index-only count instead
        of a second pass over a month of rows."""
        await self.conn.execute(_LARGE_SCAN)
        sums = ", ".join(f"sum(s.{c}) AS {c}" for c in AMOUNT_FIELDS)
        rows = await self.conn.fetch(
            f"""SELECT s.insuplc_admdvs AS home, s.mdtrtarea_admvs AS treatment, e.payer, e.payee,
                       count(*) FILTER (WHERE s.kind = 'settlement') AS setl_cnt,
                       count(*) FILTER (WHERE s.kind = 'reversal') AS rev_cnt,
                       count(*) FILTER (WHERE e.late) AS late_cnt, {sums}
                FROM clearing_entries e JOIN settlements s USING (setl_id)
                WHERE e.period = $1 AND e.scope = $2
                GROUP BY 1, 2, 3, 4""",
            period, scope,
        )  # fmt: skip
        entries = await self.conn.fetchval(
            "SELECT count(*) FROM clearing_entries WHERE period = $1 AND scope = $2",
            period, scope,
        )  # fmt: skip
        joined = sum(r["setl_cnt"] + r["rev_cnt"] for r in rows)
        return LedgerTotals(dict(_totals(r) for r in rows), int(entries) - joined)

    async def position_totals(self, period: str, scope: str) -> dict[PairKey, PairTotals]:
        rows = await self.conn.fetch(
            f"""SELECT home, treatment, payer, payee, setl_cnt, rev_cnt, late_cnt,
                       {", ".join(AMOUNT_FIELDS)}
                FROM clearing_positions WHERE period = $1 AND scope = $2""",
            period, scope,
        )  # fmt: skip
        return dict(_totals(r) for r in rows)

    async def prepayments_for(self, period: str, scope: str) -> dict[tuple[str, str], Prepayment]:
        rows = await self.conn.fetch(
            """SELECT DISTINCT ON (payer, payee) payer, payee, amount, yellow_bp, red_bp
               FROM prepayments WHERE year BETWEEN $1 - 1 AND $1 AND scope = $2
               ORDER BY payer, payee, year DESC""",
            P.period_year(period), scope,
        )  # fmt: skip
        return {
            (r["payer"], r["payee"]): Prepayment(
                to_fen(r["amount"]), Thresholds(yellow_bp=r["yellow_bp"], red_bp=r["red_bp"])
            )
            for r in rows
        }

    async def add_statement(self, draft: Draft, issued_at: dt.datetime, payload: bytes) -> None:
        conn = self.conn
        await conn.execute(
            """INSERT INTO clearing_statements (statement_id, period, scope, issued_at, setl_cnt,
                   late_cnt, gross_fen, net_volume_fen, payload)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            draft.statement_id, draft.period, draft.scope, issued_at, draft.setl_cnt,
            draft.late_cnt, draft.gross_fen, draft.net_volume_fen, payload,
        )  # fmt: skip
        await conn.executemany(
            """INSERT INTO clearing_statement_pairs (statement_id, payer, payee, fund_pay_sumamt,
                   deduction, setl_cnt, late_cnt, prepayment, top_up)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            [
                (draft.statement_id, p.payer, p.payee, from_fen(p.fund_fen),
                 from_fen(p.deduction_fen), p.setl_cnt, p.late_cnt,
                 None if p.prepayment_fen is None else from_fen(p.prepayment_fen),
                 from_fen(p.top_up_fen))
                for p in draft.pairs
            ],
        )  # fmt: skip
        await conn.executemany(
            "INSERT INTO clearing_statement_nets (statement_id, participant, net) "
            "VALUES ($1, $2, $3)",
            [(draft.statement_id, k, from_fen(v)) for k, v in draft.nets.items()],
        )

    async def set_status(
        self, period: str, scope: str, status: P.Status, statement_id: str | None = None
    ) -> None:
        await self.conn.execute(
            """INSERT INTO clearing_periods (period, scope, status, statement_id)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (period, scope) DO UPDATE SET status = EXCLUDED.status,
                   statement_id = coalesce(EXCLUDED.statement_id, clearing_periods.statement_id),
                   changed_at = now()""",
            period, scope, status, statement_id,
        )  # fmt: skip

    async def stored_statement(self, period: str, scope: str) -> StatementView | None:
        row = await self.conn.fetchrow(
            """SELECT s.statement_id, s.payload, p.status FROM clearing_statements s
               JOIN clearing_periods p USING (period, scope) WHERE s.period = $1 AND s.scope = $2""",
            period, scope,
        )  # fmt: skip
        if row is None:
            return None
        return StatementView(
            row["statement_id"], period, scope, row["status"], bytes(row["payload"]), False
        )

    async def statement_period(self, statement_id: str) -> tuple[str, str, P.Status] | None:
        row = await self.conn.fetchrow(
            """SELECT s.period, s.scope, p.status FROM clearing_statements s
               JOIN clearing_periods p USING (period, scope) WHERE s.statement_id = $1""",
            statement_id,
        )
        return None if row is None else (row["period"], row["scope"], row["status"])

    async def net_of(self, statement_id: str, participant: str) -> Decimal | None:
        net: Decimal | None = await self.conn.fetchval(
            "SELECT net FROM clearing_statement_nets WHERE statement_id = $1 AND participant = $2",
            statement_id, participant,
        )  # fmt: skip
        return net

    async def add_confirmation(
        self,
        statement_id: str,
        participant: str,
        net: Decimal,
        ce_id: str,
        confirmed_at: dt.datetime,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO clearing_confirmations (statement_id, participant, net, ce_id, confirmed_at)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
            statement_id, participant, net, ce_id, confirmed_at,
        )  # fmt: skip

    async def unconfirmed(self, statement_id: str) -> int:
        return int(
            await self.conn.fetchval(
                """SELECT count(*) FROM clearing_statement_nets n WHERE n.statement_id = $1
                   AND NOT EXISTS (SELECT 1 FROM clearing_confirmations c
                       WHERE c.statement_id = n.statement_id AND c.participant = n.participant)""",
                statement_id,
            )
        )

    async def issued_pairs(self, period: str, scope: str) -> dict[tuple[str, str], int] | None:
        rows = await self.conn.fetch(
            """SELECT p.payer, p.payee, p.fund_pay_sumamt FROM clearing_statements s
               LEFT JOIN clearing_statement_pairs p USING (statement_id)
               WHERE s.period = $1 AND s.scope = $2""",
            period, scope,
        )  # fmt: skip
        if not rows:
            return None
        return {
            (r["payer"], r["payee"]): to_fen(r["fund_pay_sumamt"])
            for r in rows
            if r["fund_pay_sumamt"]
        }

    async def carried_from(self, origin: str, scope: str) -> dict[tuple[str, str], int]:
        rows = await self.conn.fetch(
            """SELECT payer, payee, sum(amount) AS amount FROM clearing_corrections
               WHERE origin_period = $1 AND scope = $2 GROUP BY 1, 2""",
            origin, scope,
        )  # fmt: skip
        return {(r["payer"], r["payee"]): to_fen(r["amount"]) for r in rows}

    async def add_corrections(
        self, period: str, scope: str, statement_id: str, lines: Sequence[CorrectionLine]
    ) -> None:
        await self.conn.executemany(
            """INSERT INTO clearing_corrections (origin_period, scope, payer, payee, carried_into,
                   statement_id, amount, issued, recomputed)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            [
                (c.origin_period, scope, c.payer, c.payee, period, statement_id,
                 from_fen(c.due_fen), from_fen(c.issued_fen), from_fen(c.recomputed_fen))
                for c in lines
            ],
        )  # fmt: skip

    async def recorded_corrections(self, period: str, scope: str) -> tuple[CorrectionLine, ...]:
        rows = await self.conn.fetch(
            """SELECT origin_period, payer, payee, issued, recomputed, amount
               FROM clearing_corrections WHERE carried_into = $1 AND scope = $2
               ORDER BY origin_period, payer, payee""",
            period, scope,
        )  # fmt: skip
        return tuple(
            CorrectionLine(
                r["origin_period"], r["payer"], r["payee"], to_fen(r["issued"]),
                to_fen(r["recomputed"]),
                to_fen(r["recomputed"]) - to_fen(r["issued"]) - to_fen(r["amount"]),
            )
            for r in rows
        )  # fmt: skip

    async def issued_statement(self, statement_id: str) -> IssuedStatement | None:
        s = await self.conn.fetchrow(
            "SELECT gross_fen, net_volume_fen, late_cnt FROM clearing_statements "
            "WHERE statement_id = $1",
            statement_id,
        )
        if s is None:
            return None
        nets = await self.conn.fetch(
            "SELECT participant, net FROM clearing_statement_nets WHERE statement_id = $1 "
            "ORDER BY net DESC, participant",
            statement_id,
        )
        pairs = await self.conn.fetch(
            "SELECT * FROM clearing_statement_pairs WHERE statement_id = $1 "
            "ORDER BY fund_pay_sumamt DESC, payer, payee",
            statement_id,
        )
        return IssuedStatement(
            statement_id, {r["participant"]: r["net"] for r in nets},
            [IssuedPair(r["payer"], r["payee"], r["fund_pay_sumamt"], r["setl_cnt"],
                        r["late_cnt"], r["prepayment"], r["top_up"], r["deduction"])
             for r in pairs],
            s["gross_fen"], s["net_volume_fen"], s["late_cnt"],
        )  # fmt: skip

    async def late_entries(self, period: str, scope: str, limit: int) -> list[LateEntry]:
        rows = await self.conn.fetch(
            """SELECT setl_id, natural_period, home, treatment, fund_pay_sumamt
               FROM clearing_entries WHERE period = $1 AND scope = $2 AND late
               ORDER BY abs(fund_pay_sumamt) DESC, setl_id LIMIT $3""",
            period, scope, limit,
        )  # fmt: skip
        return [
            LateEntry(r["setl_id"], r["natural_period"], r["home"], r["treatment"],
                      r["fund_pay_sumamt"])
            for r in rows
        ]  # fmt: skip
