"""Every PostgreSQL read of the dashboard, as the read-only role ``yidi_dashboard``.

Why one class over a pool: each page is a handful of small queries on indexed or small
tables (periods, positions, statements, prepayments, alerts); nothing here scans the ledger
except the drill-down to one pair's settlements, which uses ``clearing_entries``' period
index and is limited. The clearing figures of a period (nets, netted pairs) come from the
clearing processor's own ``load_report``, so the dashboard shows what a close would issue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from contracts.clearing import PrepaymentWarning
from contracts.money import to_fen
from services.clearing.adapters.postgres import PgClearingUnitOfWork
from services.clearing.core.prepayment import Thresholds, level_of
from services.clearing.report import Report, load_report
from services.dashboard.core.clearing_views import FlowRow, GaugeRow, PeriodState
from services.dashboard.core.feeds import AlertRow


@dataclass(frozen=True, slots=True)
class StatementPair:
    payer: str
    payee: str
    fund: Decimal
    deduction: Decimal
    setl_cnt: int
    late_cnt: int
    prepayment: Decimal | None
    top_up: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    statement_id: str
    period: str
    scope: str
    status: str
    issued_at: dt.datetime
    pairs: list[StatementPair]
    nets: dict[str, Decimal]
    confirmed: dict[str, dt.datetime]


class DashboardReads:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows

    async def periods(self) -> list[PeriodState]:
        """Every (period, scope) with positions or a state row; no row means OPEN."""
        rows = await self._fetch(
            """SELECT p.period, p.scope, coalesce(c.status, 'OPEN') AS status, c.statement_id
               FROM (SELECT DISTINCT period, scope FROM clearing_positions
                     UNION SELECT period, scope FROM clearing_periods) p
               LEFT JOIN clearing_periods c USING (period, scope)
               ORDER BY p.period DESC, p.scope"""
        )
        return [PeriodState(r["period"], r["scope"], r["status"], r["statement_id"]) for r in rows]

    async def flows(self, period: str, scope: str) -> list[FlowRow]:
        rows = await self._fetch(
            """SELECT payer, payee, sum(fund_pay_sumamt) AS fund, sum(setl_cnt) AS cnt
               FROM clearing_positions WHERE period = $1 AND scope = $2
               GROUP BY payer, payee ORDER BY payer, payee""",
            period, scope,
        )  # fmt: skip
        return [FlowRow(r["payer"], r["payee"], r["fund"], int(r["cnt"])) for r in rows]

    async def report(self, period: str, scope: str) -> Report:
        async with self.pool.acquire() as conn:
            return await load_report(PgClearingUnitOfWork(conn), period, scope, late_limit=0)

    async def pair_entries(
        self, period: str, scope: str, payer: str, payee: str, limit: int = 200
    ) -> tuple[int, list[asyncpg.Record]]:
        """A pair's cleared settlements and reversals in a period, newest source offset first
        (the drill-down), and how many there are in all."""
        async with self.pool.acquire() as conn:
            total = await conn.fetchval(
                "SELECT count(*) FROM clearing_entries WHERE period = $1 AND scope = $2 "
                "AND payer = $3 AND payee = $4",
                period, scope, payer, payee,
            )  # fmt: skip
            rows = await conn.fetch(
                """SELECT e.setl_id, e.kind, e.home, e.treatment, e.late, e.natural_period,
                          e.medfee_sumamt, e.fund_pay_sumamt, s.fixmedins_code, s.setl_time,
                          s.med_type
                   FROM clearing_entries e LEFT JOIN settlements s USING (setl_id)
                   WHERE e.period = $1 AND e.scope = $2 AND e.payer = $3 AND e.payee = $4
                   ORDER BY e.src_partition, e.src_offset DESC LIMIT $5""",
                period, scope, payer, payee, limit,
            )  # fmt: skip
        return int(total), list(rows)

    async def statement(self, statement_id: str) -> Statement | None:
        async with self.pool.acquire() as conn:
            head = await conn.fetchrow(
                """SELECT s.statement_id, s.period, s.scope, s.issued_at,
                          coalesce(p.status, 'CLOSED') AS status
                   FROM clearing_statements s LEFT JOIN clearing_periods p USING (period, scope)
                   WHERE s.statement_id = $1""",
                statement_id,
            )
            if head is None:
                return None
            pairs = await conn.fetch(
                "SELECT * FROM clearing_statement_pairs WHERE statement_id = $1 "
                "ORDER BY fund_pay_sumamt DESC, payer, payee",
                statement_id,
            )
            nets = await conn.fetch(
                "SELECT participant, net FROM clearing_statement_nets WHERE statement_id = $1 "
                "ORDER BY net DESC, participant",
                statement_id,
            )
            confirmed = await conn.fetch(
                "SELECT participant, confirmed_at FROM clearing_confirmations "
                "WHERE statement_id = $1",
                statement_id,
            )
        return Statement(
            head["statement_id"], head["period"], head["scope"], head["status"],
            head["issued_at"],
            [StatementPair(r["payer"], r["payee"], r["fund_pay_sumamt"], r["deduction"],
                           r["setl_cnt"], r["late_cnt"], r["prepayment"], r["top_up"])
             for r in pairs],
            {r["participant"]: r["net"] for r in nets},
            {r["participant"]: r["confirmed_at"] for r in confirmed},
        )  # fmt: skip

    async def gauges(self, period: str) -> list[GaugeRow]:
        """Each prepayment of the period's year (or the year before, as clearing reads it)
        and what its pair used in the period, with its warning level."""
        rows = await self._fetch(
            """SELECT p.scope, p.payer, p.payee, p.amount, p.yellow_bp, p.red_bp,
                      coalesce((SELECT sum(c.fund_pay_sumamt) FROM clearing_positions c
                                WHERE c.period = $2 AND c.scope = p.scope
                                  AND c.payer = p.payer AND c.payee = p.payee), 0) AS used
               FROM (SELECT DISTINCT ON (scope, payer, payee) * FROM prepayments
                     WHERE year BETWEEN $1 - 1 AND $1
                     ORDER BY scope, payer, payee, year DESC) p""",
            int(period[:4]), period,
        )  # fmt: skip
        out = []
        for r in rows:
            t = Thresholds(yellow_bp=r["yellow_bp"], red_bp=r["red_bp"])
            level = level_of(max(0, to_fen(r["used"])), to_fen(r["amount"]), t)
            out.append(GaugeRow(r["scope"], r["payer"], r["payee"], r["amount"], r["used"],
                                r["yellow_bp"], r["red_bp"], level))  # fmt: skip
        return out

    async def warnings(self, limit: int = 200) -> list[PrepaymentWarning]:
        """The prepayment warnings clearing raised (its outbox), newest first."""
        rows = await self._fetch(
            """SELECT value FROM clearing_outbox
               WHERE convert_from(headers, 'UTF8') LIKE '%' || $1 || '%'
               ORDER BY seq DESC LIMIT $2""",
            PrepaymentWarning.ce_type, limit,
        )  # fmt: skip
        return [PrepaymentWarning.model_validate_json(bytes(r["value"])) for r in rows]

    async def alerts(self, limit: int = 1000) -> list[AlertRow]:
        rows = await self._fetch(
            """SELECT alert_id, rule_id, rule_kind, severity, subject_kind, subject, admdvs,
                      window_start, window_end, setl_ids, amount, detail, first_seen_at
               FROM alerts ORDER BY first_seen_at DESC, alert_id LIMIT $1""",
            limit,
        )
        return [
            AlertRow(r["alert_id"], r["rule_id"], r["rule_kind"], r["severity"],
                     r["subject_kind"], r["subject"], r["admdvs"], r["window_start"],
                     r["window_end"], tuple(r["setl_ids"]), r["amount"], r["detail"],
                     r["first_seen_at"])
            for r in rows
        ]  # fmt: skip

    async def settlement(self, setl_id: str) -> asyncpg.Record | None:
        """One ledger row for an evidence link: amounts, sides, institution, versions; the
        caller never shows ``psn_no`` (it is not selected)."""
        async with self.pool.acquire() as conn:
            row: asyncpg.Record | None = await conn.fetchrow(
                """SELECT setl_id, kind, orig_setl_id, fixmedins_code, insuplc_admdvs,
                          mdtrtarea_admvs, insutype, med_type, setl_time, setl_date,
                          medfee_sumamt, fund_pay_sumamt, hifp_pay, psn_part_amt, acct_pay,
                          psn_cash_pay, policy_version, catalog_version, landed_at
                   FROM settlements WHERE setl_id = $1""",
                setl_id,
            )
            return row

    async def sink_positions(
        self,
    ) -> tuple[dict[tuple[str, str], dict[int, int]], dict[tuple[str, str], dt.datetime]]:
        rows = await self._fetch(
            "SELECT group_id, topic, partition, next_offset, updated_at FROM sink_offsets"
        )
        positions: dict[tuple[str, str], dict[int, int]] = {}
        updated: dict[tuple[str, str], dt.datetime] = {}
        for r in rows:
            key = (r["group_id"], r["topic"])
            positions.setdefault(key, {})[r["partition"]] = r["next_offset"]
            if key not in updated or r["updated_at"] > updated[key]:
                updated[key] = r["updated_at"]
        return positions, updated

    async def replay_runs(self, limit: int = 50) -> list[asyncpg.Record]:
        return await self._fetch(
            "SELECT run_id, kind, target, status, records, seconds, started_at, finished_at "
            "FROM replay_runs ORDER BY started_at DESC LIMIT $1",
            limit,
        )

    async def redrives(self) -> list[asyncpg.Record]:
        return await self._fetch(
            "SELECT reason_code, status, count(*) AS n FROM dlq_redrives "
            "GROUP BY reason_code, status ORDER BY reason_code, status"
        )
