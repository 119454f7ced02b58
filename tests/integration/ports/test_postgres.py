"""Every port's contract suite against PostgreSQL (a fresh migrated database per test);
the same classes run against the in-memory fakes in ``tests/unit/ports/test_memory.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from services.clearing.adapters.postgres import PgClearingUnitOfWork, PgOutboxReader
from services.clearing.ports import ClearingUnitOfWork, OutboxReader
from services.ledger.adapters.pg_sink import PgLedgerSink
from services.registration.projection import PgFilingsProjection
from services.runtime.positions import PgPositions
from services.runtime.settings import Settings
from tests.fresh_db import fresh_database
from tests.port_suites.clearing import ClearingUnitOfWorkContract, LandInLedger, OutboxContract
from tests.port_suites.filings import FilingsProjectionContract
from tests.port_suites.ledger import LedgerSinkContract
from tests.port_suites.sink_positions import SinkPositionsContract

pytestmark = pytest.mark.integration

_LEDGER_ROW = """
INSERT INTO settlements (setl_id, kind, orig_setl_id, refd_setl_flag, ce_id, mdtrt_id,
    medins_setl_id, psn_no, fixmedins_code, insuplc_admdvs, mdtrtarea_admvs, insutype, psn_type,
    med_type, clr_type, clr_way, clr_optins, setl_time, setl_date, medfee_sumamt,
    fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc, hifp_pay,
    cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay, maf_pay, oth_pay, fund_pay_sumamt,
    psn_part_amt, acct_pay, psn_cash_pay, hosp_part_amt, policy_version, catalog_version,
    payload, payload_sha256, src_topic, src_partition, src_offset)
VALUES ($1::text, $2, NULL, 0, 'ce-' || $1, 'M-' || $1, 'H-' || $1, 'P000000000001', 'H33090200001',
    $3::char(6), $4, '310', '11', '11', '11', '01', $3::text, '2026-10-15T10:00:00+08', '2026-10-15', $5,
    0, 0, 0, $5, 0, $7, $8, $9, $10, $11, $12, $13, $6, $5::numeric - $6::numeric, 0, $5::numeric - $6::numeric, 0, 'pv', 'cv',
    '\\x00', '\\x00', 'yidi.settlement.v1', 0, 0)"""


@pytest.fixture
async def url(settings: Settings) -> AsyncIterator[str]:
    async with fresh_database(settings) as fresh:
        yield fresh


@pytest.fixture
async def conn(url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(url)
    try:
        yield c
    finally:
        await c.close()


class TestPgClearingUnitOfWork(ClearingUnitOfWorkContract):
    @pytest.fixture
    def uow(self, conn: asyncpg.Connection) -> ClearingUnitOfWork:
        return PgClearingUnitOfWork(conn)

    @pytest.fixture
    def ledger(self, conn: asyncpg.Connection) -> LandInLedger:
        async def land(
            setl_id: str, kind: str, home: str, treatment: str, amounts: tuple[Decimal, ...]
        ) -> None:
            await conn.execute(_LEDGER_ROW, setl_id, kind, home, treatment, *amounts)

        return land


class TestPgOutbox(OutboxContract):
    @pytest.fixture
    def uow(self, conn: asyncpg.Connection) -> ClearingUnitOfWork:
        return PgClearingUnitOfWork(conn)

    @pytest.fixture
    async def reader(self, url: str) -> AsyncIterator[OutboxReader]:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            yield PgOutboxReader(pool)
        finally:
            await pool.close()


class TestPgPositions(SinkPositionsContract):
    @pytest.fixture
    def positions(self, conn: asyncpg.Connection) -> PgPositions:
        return PgPositions(conn)


class TestPgFilingsProjection(FilingsProjectionContract):
    @pytest.fixture
    def projection(self, conn: asyncpg.Connection) -> PgFilingsProjection:
        return PgFilingsProjection(conn)


class TestPgLedgerSink(LedgerSinkContract):
    @pytest.fixture
    def sink(self, conn: asyncpg.Connection) -> PgLedgerSink:
        return PgLedgerSink(conn)
