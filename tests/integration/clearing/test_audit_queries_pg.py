"""Queries on large stays (协查) on PostgreSQL: a simulated ledger in a fresh database, the
query steps through the service layer and ``yidi audit query list``; the deadlines of the
shipped holiday calendar."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import asyncpg

from contracts.audit import QueryRules
from services.clearing.adapters.pg_deductions import DeductionSql
from services.clearing.adapters.pg_queries import PgQueryStore
from services.clearing.audit_reference import load_working_days
from services.clearing.core import queries as Q
from services.clearing.core.deductions import Deduction
from services.clearing.ports import DeductionMeta
from services.clearing.service_layer import queries as S
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from tests.cli_zygote import run_yidi
from tests.fresh_db import fresh_database
from tests.integration.recon_support import land_simulated_ledger


async def test_a_query_from_raise_to_deduction_and_one_that_lapses() -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    async with fresh_database(settings) as db_url:
        await land_simulated_ledger(db_url, runtime.codec, f"q-{uuid.uuid4().hex[:8]}", 400)
        conn = await asyncpg.connect(db_url)
        try:
            stays = await conn.fetch(
                """SELECT setl_id, insuplc_admdvs, mdtrtarea_admvs, medfee_sumamt, setl_date
                   FROM settlements WHERE kind = 'settlement' AND clr_type = '21'
                     AND substr(insuplc_admdvs, 1, 2) <> substr(mdtrtarea_admvs, 1, 2)
                     AND NOT EXISTS (SELECT 1 FROM settlements v WHERE v.orig_setl_id = setl_id)
                   ORDER BY medfee_sumamt DESC, setl_id LIMIT 3"""
            )
            assert len(stays) == 3, "the simulated day has cross-province inpatient stays"
            big, other, small = stays
            # The threshold is a parameter: here the second-largest stay's bill, so the
            # smallest of the three is below it (30,000 yuan by default).
            rules = QueryRules(threshold_yuan=other["medfee_sumamt"])
            ctx = S.QueryContext(rules, load_working_days(), runtime.ref.pooling)
            store = PgQueryStore(conn)
            home, treatment = big["insuplc_admdvs"][:2] + "0000", big["mdtrtarea_admvs"]
            raised = dt.date(2026, 9, 28)  # batch 2026-10, reply by 25 Nov
            q = await S.raise_query(store, ctx, setl_id=big["setl_id"], agency=home,
                                    query_id="Q1", today=raised)  # fmt: skip
            assert (q.batch, q.reply_by) == ("2026-10", dt.date(2026, 11, 25))
            await _refusals(store, ctx, home, raised, big["setl_id"], small["setl_id"])
            a = await S.answer(store, ctx, "Q1", agency=treatment, today=dt.date(2026, 11, 2),
                               text="medical records reviewed")  # fmt: skip
            assert a.state == Q.QueryState.ANSWERED and not a.answered_late
            d = await S.dispute(store, ctx, "Q1", agency=home, today=dt.date(2026, 11, 4))
            assert d.state == Q.QueryState.DISPUTED
            try:
                await S.resolve(store, ctx, "Q1", agency=treatment, today=dt.date(2026, 11, 20),
                                deduction_id="D-none")  # fmt: skip
            except Q.QueryStepRefused as exc:
                assert "no applied deduction" in exc.message
            else:
                raise AssertionError("a deduction that was not applied resolves nothing")
            await _Conn(conn).add_deduction(
                Deduction(treatment, "D-Q1", big["setl_id"], 10_000, "query_disputed", "2026-11",
                          "2026-09", "national", home, treatment[:2] + "0000", "h"),
                DeductionMeta("ce-D-Q1", dt.datetime(2026, 11, 20, tzinfo=dt.UTC)),
            )  # fmt: skip
            done = await S.resolve(store, ctx, "Q1", agency=treatment,
                                   today=dt.date(2026, 11, 20), deduction_id="D-Q1")  # fmt: skip
            assert (done.state, done.deduction_id) == (Q.QueryState.DEDUCTED, "D-Q1")

            # Another stay, never answered: it counts as confirmed 10 working days after the
            # reply date, as read by ``yidi audit query list`` (which records it).
            home2 = other["insuplc_admdvs"][:2] + "0000"
            lapsing = await S.raise_query(store, ctx, setl_id=other["setl_id"], agency=home2,
                                          query_id="Q4", today=dt.date(2026, 9, 10))  # fmt: skip
            assert (lapsing.reply_by, lapsing.lapses_on) == (
                dt.date(2026, 10, 25), dt.date(2026, 11, 6))  # fmt: skip
        finally:
            await conn.close()
        rows = _listed(db_url)
        assert (
            rows["Q4"]["state"] == "DEEMED_CONFIRMED" and rows["Q4"]["resolved_on"] == "2026-11-06"
        )
        assert rows["Q1"]["state"] == "DEDUCTED"
        conn = await asyncpg.connect(db_url)
        try:
            stored = await conn.fetchval("SELECT state FROM audit_queries WHERE query_id = 'Q4'")
        finally:
            await conn.close()
        assert stored == "DEEMED_CONFIRMED", "the lapse is recorded"


async def _refusals(store: PgQueryStore, ctx: S.QueryContext, home: str, raised: dt.date,
                    big: str, small: str) -> None:  # fmt: skip
    """A second open query on one stay, and a stay below the threshold, are refused."""
    for kw, code in (
        (dict(setl_id=big, query_id="Q2"), "E_QUERY_STATE"),  # open already
        (dict(setl_id=small, query_id="Q3"), "E_QUERY_NOT_QUERYABLE"),
    ):
        try:
            await S.raise_query(store, ctx, agency=home, today=raised, **kw)
        except Q.QueryError as exc:
            assert exc.code == code
        else:
            raise AssertionError(f"{kw} was not refused")


def _listed(db_url: str) -> dict[str, dict[str, object]]:
    """``yidi audit query list`` against the database, by query id."""
    listed = run_yidi(["audit", "query", "list"], {"YIDI_DATABASE_URL": db_url}, timeout_s=120)
    assert listed.returncode == 0, listed.stderr[-2000:]
    return {r["query_id"]: r for r in map(json.loads, listed.stdout.splitlines())}


class _Conn(DeductionSql):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
