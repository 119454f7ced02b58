"""Every port's contract suite against its in-memory fake (the PostgreSQL runs are in
``tests/integration/ports/test_postgres.py``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from events.stream.positions import MemoryPositions
from services.clearing.adapters.memory import LedgerRow, MemoryClearingUnitOfWork
from services.clearing.ports import ClearingUnitOfWork, OutboxReader
from services.ledger.ports import MemoryLedgerSink
from services.registration.projection import MemoryFilingsProjection
from tests.port_suites.clearing import ClearingUnitOfWorkContract, LandInLedger, OutboxContract
from tests.port_suites.filings import FilingsProjectionContract
from tests.port_suites.ledger import LedgerSinkContract
from tests.port_suites.sink_positions import SinkPositionsContract


@pytest.fixture
def memory_uow() -> MemoryClearingUnitOfWork:
    return MemoryClearingUnitOfWork()


class TestMemoryClearingUnitOfWork(ClearingUnitOfWorkContract):
    @pytest.fixture
    def uow(self, memory_uow: MemoryClearingUnitOfWork) -> ClearingUnitOfWork:
        return memory_uow

    @pytest.fixture
    def ledger(self, memory_uow: MemoryClearingUnitOfWork) -> LandInLedger:
        async def land(
            setl_id: str, kind: str, home: str, treatment: str, amounts: tuple[Decimal, ...]
        ) -> None:
            memory_uow.state.ledger[setl_id] = LedgerRow(kind, home, treatment, amounts)

        return land


class TestMemoryOutbox(OutboxContract):
    @pytest.fixture
    def uow(self, memory_uow: MemoryClearingUnitOfWork) -> ClearingUnitOfWork:
        return memory_uow

    @pytest.fixture
    def reader(self, memory_uow: MemoryClearingUnitOfWork) -> OutboxReader:
        return memory_uow.outbox_reader()


class TestMemoryPositions(SinkPositionsContract):
    @pytest.fixture
    def positions(self) -> MemoryPositions:
        return MemoryPositions()


class TestMemoryFilingsProjection(FilingsProjectionContract):
    @pytest.fixture
    def projection(self) -> MemoryFilingsProjection:
        return MemoryFilingsProjection()


class TestMemoryLedgerSink(LedgerSinkContract):
    @pytest.fixture
    def sink(self) -> MemoryLedgerSink:
        return MemoryLedgerSink()
