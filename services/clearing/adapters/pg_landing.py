"""The settlement feed's SQL: COPY-staged entries, running positions, usage and levels.

Positions are upserted in key order, so concurrent batches (two members of the group, a
rebuild's worker processes) lock their rows in one order, never in a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import orjson

from contracts.money import to_fen
from services.clearing.core import periods as P
from services.clearing.core.prepayment import Level, Thresholds
from services.clearing.feed import AMOUNT_FIELDS
from services.clearing.ports import Entry, FlowKey, PeriodStates, Usage
from services.runtime.pg_copy import copy_rows
from services.runtime.positions import PgPositions

ENTRY_COLUMNS = (
    "setl_id", "period", "natural_period", "scope", "late", "kind", "home", "treatment", "payer",
    "payee", *AMOUNT_FIELDS, "src_partition", "src_offset", "orig_setl_id",
)  # fmt: skip
_SUMS = ", ".join(f"sum({c})" for c in AMOUNT_FIELDS)
_STAGE = "clearing_stage"
_SETS = ", ".join(
    f"{c} = clearing_positions.{c} + EXCLUDED.{c}"
    for c in ("setl_cnt", "rev_cnt", "late_cnt", *AMOUNT_FIELDS)
)


class LandingSql:
    """Mixin of ``PgClearingRepository``: the batch side."""

    conn: asyncpg.Connection

    async def period_states(self, scopes: Sequence[str]) -> PeriodStates:
        rows = await self.conn.fetch(
            "SELECT scope, period, status, frozen_offsets FROM clearing_periods "
            "WHERE scope = ANY($1::text[])",
            list(scopes),
        )
        out = PeriodStates({s: {} for s in scopes}, {})
        for r in rows:
            out.statuses[r["scope"]][r["period"]] = r["status"]
            if r["frozen_offsets"] is not None:
                out.frozen[(r["scope"], r["period"])] = orjson.loads(r["frozen_offsets"])
        return out

    async def add_entries(self, entries: Sequence[Entry]) -> tuple[int, list[FlowKey]]:
        if not entries:
            return 0, []
        conn = self.conn
        records = [
            (e.setl_id, e.period, e.natural_period, e.scope, e.late, e.kind, e.home, e.treatment,
             e.payer, e.payee, *e.amounts, e.src_partition, e.src_offset, e.orig_setl_id)
            for e in entries
        ]  # fmt: skip
        await conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} "
            "(LIKE clearing_entries INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await copy_rows(conn, _STAGE, ENTRY_COLUMNS, records)
        cols = ", ".join(ENTRY_COLUMNS)
        unique = len({e.setl_id for e in entries}) == len(entries)  # else the first by offset
        first, order = (
            ("", "") if unique else (" DISTINCT ON (setl_id)", " ORDER BY setl_id, src_offset")
        )
        rows = await conn.fetch(
            f"""WITH ins AS (
                    INSERT INTO clearing_entries ({cols})
                    SELECT{first} {cols} FROM {_STAGE}{order}
                    ON CONFLICT (setl_id) DO NOTHING RETURNING *),
                pos AS (
                    INSERT INTO clearing_positions (period, scope, home, treatment, payer, payee,
                        setl_cnt, rev_cnt, late_cnt, {", ".join(AMOUNT_FIELDS)})
                    SELECT period, scope, home, treatment, payer, payee,
                        count(*) FILTER (WHERE kind = 'settlement'),
                        count(*) FILTER (WHERE kind = 'reversal'),
                        count(*) FILTER (WHERE late), {_SUMS}
                    FROM ins GROUP BY period, scope, home, treatment, payer, payee
                    ORDER BY period, scope, home, treatment
                    ON CONFLICT (period, scope, home, treatment) DO UPDATE SET {_SETS},
                        updated_at = now()
                    RETURNING period, scope, payer, payee)
                SELECT 'n' AS what, (SELECT count(*) FROM ins)::text AS period,
                       NULL AS scope, NULL AS payer, NULL AS payee
                UNION ALL SELECT DISTINCT 'p', period, scope, payer, payee FROM pos"""
        )
        inserted = next(int(r["period"]) for r in rows if r["what"] == "n")
        touched = sorted(
            (r["period"], r["scope"], r["payer"], r["payee"]) for r in rows if r["what"] == "p"
        )
        return inserted, touched

    async def usage(self, flows: Sequence[FlowKey]) -> list[Usage]:
        if not flows:
            return []
        cols = list(zip(*flows, strict=True))
        rows = await self.conn.fetch(
            """SELECT t.period, t.scope, t.payer, t.payee, p.amount, p.yellow_bp, p.red_bp,
                      l.level, coalesce(l.crossings, 0) AS crossings,
                      (SELECT coalesce(sum(c.fund_pay_sumamt), 0) FROM clearing_positions c
                        WHERE c.period = t.period AND c.scope = t.scope
                          AND c.payer = t.payer AND c.payee = t.payee) AS used
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                    AS t(period, scope, payer, payee)
               JOIN LATERAL (
                    SELECT q.amount, q.yellow_bp, q.red_bp FROM prepayments q
                    WHERE q.scope = t.scope AND q.payer = t.payer AND q.payee = t.payee
                      AND q.year BETWEEN substr(t.period, 1, 4)::int - 1
                                     AND substr(t.period, 1, 4)::int
                    ORDER BY q.year DESC LIMIT 1) p ON true
               LEFT JOIN prepayment_levels l ON l.period = t.period AND l.scope = t.scope
                    AND l.payer = t.payer AND l.payee = t.payee
               ORDER BY 1, 2, 3, 4""",
            *[list(c) for c in cols],
        )
        return [
            Usage(
                (r["period"], r["scope"], r["payer"], r["payee"]), to_fen(r["amount"]),
                Thresholds(yellow_bp=r["yellow_bp"], red_bp=r["red_bp"]), to_fen(r["used"]),
                r["level"], r["crossings"],
            )
            for r in rows
        ]  # fmt: skip

    async def set_level(self, flow: FlowKey, level: Level | None, crossings: int) -> None:
        await self.conn.execute(
            """INSERT INTO prepayment_levels (period, scope, payer, payee, level, crossings)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (period, scope, payer, payee)
               DO UPDATE SET level = EXCLUDED.level, crossings = EXCLUDED.crossings""",
            *flow, level, crossings,
        )  # fmt: skip

    async def record_positions(self, group_id: str, positions: dict[tuple[str, int], int]) -> None:
        await PgPositions(self.conn).record(group_id, positions)

    async def status(self, period: str, scope: str) -> P.Status | None:
        status: P.Status | None = await self.conn.fetchval(
            "SELECT status FROM clearing_periods WHERE period = $1 AND scope = $2", period, scope
        )
        return status
