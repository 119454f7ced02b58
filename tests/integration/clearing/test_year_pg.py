"""January's prepayment re-set, the prepayment in force across the year, and the year-end
status, on the real PostgreSQL (a fresh migrated database per test)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from services.clearing.adapters.postgres import PgClearingUnitOfWork
from services.clearing.core.statement import Prepayment
from services.clearing.service_layer.prepayments import (
    reset_prepayments,
    reset_states,
    year_end_status,
)
from services.runtime.settings import Settings
from tests.fresh_db import fresh_database

NATIONAL = "national"


async def prepayments_for(
    conn: asyncpg.Connection, period: str, scope: str
) -> dict[tuple[str, str], Prepayment]:
    async with PgClearingUnitOfWork(conn).transaction() as repo:
        return await repo.prepayments_for(period, scope)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(settings) as url:
        conn = await asyncpg.connect(url)
        try:
            yield conn
        finally:
            await conn.close()


async def _position(
    conn: asyncpg.Connection, period: str, home: str, treatment: str, fund: str
) -> None:
    zero = Decimal(0)
    await conn.execute(
        """INSERT INTO clearing_positions (period, scope, home, treatment, payer, payee,
               setl_cnt, rev_cnt, late_cnt, medfee_sumamt, fund_pay_sumamt, hifp_pay,
               cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay, maf_pay, oth_pay)
           VALUES ($1, $2, $3, $4, $5, $6, 1, 0, 0, $7, $7, $7, $8, $8, $8, $8, $8, $8)""",
        period, NATIONAL, home, treatment, home[:2] + "0000", treatment[:2] + "0000",
        Decimal(fund), zero,
    )  # fmt: skip


async def test_january_reset_writes_every_flow_and_takes_over_from_last_year(
    db: asyncpg.Connection,
) -> None:
    """Zhejiang -> Shanghai: Q4 2026 fund 100.00 + 200.00 + 300.01 (two home pools in
    December: 120.00 + 180.01) -> 2 x 600.01 / 3 = 400.01. Xinjiang -> Zhejiang held 5,000.00
    for 2026 and had no Q4 traffic: re-set to 0.00. Before the re-set, January 2027 uses the
    2026 prepayments; after it, the 2027 ones. Re-running the re-set changes nothing."""
    await _position(db, "2026-10", "330900", "310104", "100.00")
    await _position(db, "2026-11", "330900", "310104", "200.00")
    await _position(db, "2026-12", "330900", "310104", "120.00")
    await _position(db, "2026-12", "330421", "310104", "180.01")
    await _position(db, "2026-09", "330900", "310104", "999999.00")
    for payer, payee, amount in (("330000", "310000", "300.00"), ("650000", "330000", "5000.00")):
        await db.execute(
            "INSERT INTO prepayments (year, scope, payer, payee, amount, yellow_bp, red_bp) "
            "VALUES (2026, $1, $2, $3, $4, 7000, 9000)",
            NATIONAL, payer, payee, Decimal(amount),
        )  # fmt: skip
    before = await prepayments_for(db, "2027-01", NATIONAL)
    assert {k: v.amount_fen for k, v in before.items()} == {
        ("330000", "310000"): 30_000,
        ("650000", "330000"): 500_000,
    }
    (state,) = await reset_states(PgClearingUnitOfWork(db), 2027)
    assert state.state(dt.date(2027, 1, 5)) == "due"
    assert state.state(dt.date(2027, 3, 1)) == "OVERDUE"

    plan = await reset_prepayments(PgClearingUnitOfWork(db), 2027, NATIONAL)
    assert [(p.payer, p.payee, p.amount_fen) for p in plan] == [
        ("330000", "310000", 40_001),
        ("650000", "330000", 0),
    ]
    rows = await db.fetch(
        "SELECT payer, payee, amount FROM prepayments WHERE year = 2027 ORDER BY 1, 2"
    )
    assert [(r["payer"], r["payee"], r["amount"]) for r in rows] == [
        ("330000", "310000", Decimal("400.01")),
        ("650000", "330000", Decimal("0.00")),
    ]
    after = await prepayments_for(db, "2027-01", NATIONAL)
    assert {k: v.amount_fen for k, v in after.items()} == {
        ("330000", "310000"): 40_001,
        ("650000", "330000"): 0,
    }
    assert (await prepayments_for(db, "2026-12", NATIONAL))[("330000", "310000")].amount_fen == (
        30_000
    )
    (state,) = await reset_states(PgClearingUnitOfWork(db), 2027)
    assert state.state(dt.date(2027, 3, 1)) == "done"
    again = await reset_prepayments(PgClearingUnitOfWork(db), 2027, NATIONAL)
    assert again == plan
    assert await db.fetchval("SELECT count(*) FROM prepayments WHERE year = 2027") == 2


async def test_year_end_status_reads_positions_and_period_states(db: asyncpg.Connection) -> None:
    """December 2026 has positions and no state row (OPEN); November is CLOSED; on
    5 January 2027 both are listed for 2026 with the deadline 31 March 2027."""
    await _position(db, "2026-12", "330900", "310104", "10.00")
    await _position(db, "2027-01", "330900", "310104", "10.00")
    await db.execute(
        "INSERT INTO clearing_periods (period, scope, status, statement_id) "
        "VALUES ('2026-11', 'national', 'CLOSED', 'STMT-2026-11-N')"
    )
    (y,) = await year_end_status(PgClearingUnitOfWork(db), dt.date(2027, 1, 5))
    assert y.year == 2026 and y.deadline == dt.date(2027, 3, 31)
    assert y.unsettled == (("2026-11", NATIONAL, "CLOSED"), ("2026-12", NATIONAL, "OPEN"))
