"""The clearing gauges' query (services/clearing/adapters/pg_metrics.py) on a real database:
open periods only, positions summed per pair, the prepayment in force (the pair's latest up
to the period's year) and its usage."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from services.clearing.adapters.pg_metrics import open_pairs
from services.runtime.settings import Settings
from tests.fresh_db import fresh_database

ZEROS = (0, 0, 0, 0, 0, 0, 0)


async def _position(
    conn: asyncpg.Connection, period: str, home: str, treatment: str, fund: str
) -> None:
    await conn.execute(
        """INSERT INTO clearing_positions (period, scope, home, treatment, payer, payee, setl_cnt,
               rev_cnt, late_cnt, medfee_sumamt, fund_pay_sumamt, hifp_pay, cvlserv_pay, hifes_pay,
               hifmi_pay, hifob_pay, maf_pay, oth_pay)
           VALUES ($1, 'national', $2, $3, $4, $5, 1, 0, 0, $6, $6, $7, $8, $9, $10, $11, $12, $13)""",
        period, home, treatment, home[:2] + "0000", treatment[:2] + "0000", Decimal(fund), *ZEROS,
    )  # fmt: skip


async def test_open_pairs_with_their_prepayment_in_force(settings: Settings) -> None:
    async with fresh_database(settings) as url:
        conn = await asyncpg.connect(url)
        try:
            await _position(conn, "2026-10", "310101", "330902", "600.00")
            await _position(conn, "2026-10", "310104", "330903", "300.00")  # same province pair
            await _position(conn, "2026-10", "320500", "330902", "50.00")  # no prepayment
            await _position(conn, "2026-09", "310101", "330902", "999.00")  # closed below
            await conn.execute(
                "INSERT INTO clearing_periods (period, scope, status) VALUES ('2026-09', 'national', 'CLOSED')"
            )
            await conn.execute(
                """INSERT INTO prepayments (year, scope, payer, payee, amount, yellow_bp, red_bp)
                   VALUES (2025, 'national', '310000', '330000', 100.00, 7000, 9000),
                          (2026, 'national', '310000', '330000', 1000.00, 7000, 9000)"""
            )
            pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
            try:
                pairs = {p.labels: p for p in await open_pairs(pool)}
            finally:
                await pool.close()
        finally:
            await conn.close()
    assert set(pairs) == {
        ("national", "2026-10", "310000", "330000"),
        ("national", "2026-10", "320000", "330000"),
    }
    shanghai = pairs[("national", "2026-10", "310000", "330000")]
    assert shanghai.fund == Decimal("900.00")
    assert shanghai.prepayment == Decimal("1000.00")
    assert shanghai.usage == 0.9
    assert (shanghai.yellow_bp, shanghai.red_bp) == (7000, 9000)
    assert pairs[("national", "2026-10", "320000", "330000")].usage is None
