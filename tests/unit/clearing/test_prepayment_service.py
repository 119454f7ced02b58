"""Prepayment sizing and the January re-set through the in-memory unit of work."""

from __future__ import annotations

import datetime as dt

import pytest

from services.clearing.adapters.memory import MemoryClearingUnitOfWork
from services.clearing.core.prepayment import Thresholds
from services.clearing.service_layer.prepayments import (
    overview,
    reset_prepayments,
    set_prepayment,
)
from tests.unit.clearing.fakes import fact, land

NATIONAL = "national"


@pytest.fixture
async def uow() -> MemoryClearingUnitOfWork:
    """2026's fourth quarter: 330000 -> 310000 cleared 300.00, 0, 600.01; 440000 -> 310000
    only 50.00 in December; 550000 -> 310000 held a 2026 prepayment and no Q4 traffic."""
    u = MemoryClearingUnitOfWork()
    await land(
        u, fact("O1", "300.00", period="2026-10"), fact("D1", "600.01", period="2026-12", offset=1),
        fact("D2", "50.00", period="2026-12", payer="440000", offset=2),
        fact("J1", "999.00", period="2027-01", offset=3),
    )  # fmt: skip
    async with u.transaction() as repo:
        await repo.set_prepayments(2026, NATIONAL, {("550000", "310000"): 80_000}, Thresholds())
    return u


async def test_one_flow_sized_from_last_years_fourth_quarter(uow: MemoryClearingUnitOfWork) -> None:
    t = Thresholds(6000, 8000)
    # 2 x (30000 + 0 + 60001) / 3 = 60000.67 fen -> 60001 (half up)
    assert await set_prepayment(uow, 2027, NATIONAL, "330000", "310000", None, t) == 60_001
    assert await set_prepayment(uow, 2027, NATIONAL, "660000", "310000", None) == 0
    assert await set_prepayment(uow, 2027, NATIONAL, "440000", "310000", 12_345) == 12_345
    async with uow.transaction() as repo:
        pre = await repo.prepayments_for("2027-03", NATIONAL)
    assert pre[("330000", "310000")].amount_fen == 60_001
    assert pre[("330000", "310000")].thresholds == t
    assert pre[("440000", "310000")].amount_fen == 12_345
    assert pre[("550000", "310000")].amount_fen == 80_000, "last year's until re-set"


async def test_january_reset_sizes_every_flow_once(uow: MemoryClearingUnitOfWork) -> None:
    dry = await reset_prepayments(uow, 2027, NATIONAL, write=False)
    async with uow.transaction() as repo:
        assert await repo.prepayment_flows(2027, NATIONAL) == []
    plan = await reset_prepayments(uow, 2027, NATIONAL)
    assert plan == dry
    assert [(p.payer, p.amount_fen, p.q4_fen) for p in plan] == [
        ("330000", 60_001, (30_000, 0, 60_001)),
        ("440000", 3_333, (0, 0, 5_000)),
        ("550000", 0, (0, 0, 0)),  # held one, no Q4 traffic: returned
    ]
    assert await reset_prepayments(uow, 2027, NATIONAL) == plan, "re-running it is idempotent"
    seen = await overview(uow, dt.date(2027, 1, 20))
    ((r,),) = [seen.resets]
    assert (r.flows_last_year, r.flows_set, r.state(dt.date(2027, 1, 20))) == (1, 3, "done")
    (y,) = seen.years
    assert y.year == 2026 and {p for p, _sc, _st in y.unsettled} == {"2026-10", "2026-12"}
