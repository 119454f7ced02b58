"""Audit deductions in PostgreSQL (``clearing_deductions``, migration 0010)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from contracts.money import from_fen, to_fen
from services.clearing.core.deductions import ClearedSettlement, Deduction
from services.clearing.ports import DeductionMeta, Entry

_COLUMNS = (
    "participant, deduction_id, setl_id, amount, reason, period, origin_period, scope, payer, "
    "payee, body_sha256, kind"
)


def _deduction(r: asyncpg.Record) -> Deduction:
    return Deduction(
        r["participant"], r["deduction_id"], r["setl_id"], to_fen(r["amount"]), r["reason"],
        r["period"], r["origin_period"], r["scope"], r["payer"], r["payee"], r["body_sha256"],
        r["kind"],
    )  # fmt: skip


class DeductionSql:
    """Mixin of ``PgClearingRepository``: audit deductions."""

    conn: asyncpg.Connection

    async def cleared_settlement(self, setl_id: str) -> ClearedSettlement | None:
        r = await self.conn.fetchrow(
            """SELECT period, scope, home, treatment, payer, payee, fund_pay_sumamt,
                      EXISTS (SELECT 1 FROM clearing_entries v
                              WHERE v.orig_setl_id = e.setl_id AND v.kind = 'reversal') AS reversed
               FROM clearing_entries e WHERE setl_id = $1 AND kind = 'settlement'""",
            setl_id,
        )
        if r is None:
            return None
        return ClearedSettlement(
            setl_id, r["period"], r["scope"], r["home"], r["treatment"], r["payer"], r["payee"],
            to_fen(r["fund_pay_sumamt"]), r["reversed"],
        )  # fmt: skip

    async def deducted_fen(self, setl_id: str) -> int:
        total = await self.conn.fetchval(
            "SELECT coalesce(sum(amount), 0) FROM clearing_deductions "
            "WHERE setl_id = $1 AND kind = 'deduction'",
            setl_id,
        )
        return to_fen(total)

    async def return_deductions(self, reversals: Sequence[Entry]) -> int:
        if not reversals:
            return 0
        result = await self.conn.execute(
            """INSERT INTO clearing_deductions (participant, deduction_id, setl_id, amount, reason,
                   period, origin_period, scope, payer, payee, late, alert_id, memo, ce_id,
                   issued_at, body_sha256, kind)
               SELECT d.participant, d.deduction_id || '~R', d.setl_id, d.amount, d.reason,
                      t.period, t.period, d.scope, d.payee, d.payer, false, d.alert_id,
                      'returned with reversal ' || t.setl_id, d.ce_id, now(), d.body_sha256,
                      'return'
               FROM unnest($1::text[], $2::text[], $3::text[]) AS t(orig, period, setl_id)
               JOIN clearing_deductions d ON d.setl_id = t.orig AND d.kind = 'deduction'
               ORDER BY d.participant, d.deduction_id
               ON CONFLICT (participant, deduction_id) DO NOTHING""",
            [e.orig_setl_id for e in reversals], [e.period for e in reversals],
            [e.setl_id for e in reversals],
        )  # fmt: skip
        return int(result.split()[-1])

    async def deduction(self, participant: str, deduction_id: str) -> Deduction | None:
        r = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM clearing_deductions "
            "WHERE participant = $1 AND deduction_id = $2",
            participant, deduction_id,
        )  # fmt: skip
        return None if r is None else _deduction(r)

    async def add_deduction(self, d: Deduction, meta: DeductionMeta) -> None:
        await self.conn.execute(
            f"""INSERT INTO clearing_deductions ({_COLUMNS}, late, alert_id, memo, ce_id, issued_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                       $17)""",
            d.participant, d.deduction_id, d.setl_id, from_fen(d.amount_fen), d.reason, d.period,
            d.origin_period, d.scope, d.payer, d.payee, d.body_sha256, d.kind, d.late,
            meta.alert_id,
            meta.memo, meta.ce_id, meta.issued_at,
        )  # fmt: skip

    async def deduction_totals(self, period: str, scope: str) -> dict[tuple[str, str], int]:
        rows = await self.conn.fetch(
            """SELECT payer, payee, sum(amount) AS amount FROM clearing_deductions
               WHERE period = $1 AND scope = $2 GROUP BY 1, 2""",
            period, scope,
        )  # fmt: skip
        return {(r["payer"], r["payee"]): to_fen(r["amount"]) for r in rows}

    async def deductions_in(self, period: str, scope: str) -> list[Deduction]:
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM clearing_deductions WHERE period = $1 AND scope = $2
               ORDER BY setl_id, participant, deduction_id""",
            period, scope,
        )  # fmt: skip
        return [_deduction(r) for r in rows]
