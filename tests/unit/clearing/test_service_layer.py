"""The clearing service layer through the in-memory unit of work: no broker, no database.

The same rules run against PostgreSQL in ``tests/integration/clearing/test_close.py``;
the fake is held to the PostgreSQL adapter by ``tests/port_suites/clearing.py``."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from contracts.codes import ClearingStatus
from services.clearing.adapters.memory import MemoryClearingUnitOfWork
from services.clearing.adapters.memory_repo import MemoryClearingRepository
from services.clearing.core.errors import (
    ConfirmationMismatch,
    LedgerBehind,
    PositionsDisagree,
    WrongState,
)
from services.clearing.core.prepayment import Thresholds
from services.clearing.ports import Entry
from services.clearing.report import load_report
from services.clearing.service_layer.periods import (
    close_period,
    close_waiting,
    confirm,
    settle,
)
from tests.unit.clearing.fakes import CODEC, fact, land, outbox, statement, warnings

OCT, NOV, DEC = "2026-10", "2026-11", "2026-12"
AFTER = dt.date(2027, 1, 10)
WHEN = dt.datetime(2026, 11, 5, 9, 0, tzinfo=dt.UTC)
NATIONAL = "national"


@pytest.fixture
def uow() -> MemoryClearingUnitOfWork:
    return MemoryClearingUnitOfWork()


async def _close(uow: MemoryClearingUnitOfWork, period: str = OCT) -> tuple[str, str, bool]:
    view = await close_period(uow, CODEC, period, NATIONAL, today=AFTER)
    return view.statement_id, view.status, view.created


async def test_close_issues_the_statement_under_the_exclusive_lock(
    uow: MemoryClearingUnitOfWork,
) -> None:
    await land(uow, fact("S1", "300.00", offset=1), fact("S2", "100.00", payer="440000", offset=2))
    uow.transactions.clear()
    assert await _close(uow) == ("STMT-2026-10-N", "CLOSED", True)
    # the freeze, then the ledger check and the issue in one pass under the lock
    assert uow.transactions == ["exclusive", "exclusive"]
    message = statement(uow, "STMT-2026-10-N-closed")
    assert message.status == ClearingStatus.APPLIED
    assert {(p.payer, p.payee): p.fund_pay_sumamt for p in message.pairs} == {
        ("330000", "310000"): Decimal("300.00"), ("440000", "310000"): Decimal("100.00")}  # fmt: skip
    nets = {n.participant: n.net for n in message.nets}
    assert nets == {"310000": Decimal("400.00"), "330000": Decimal("-300.00"),
                    "440000": Decimal("-100.00")}  # fmt: skip
    assert sum(nets.values()) == 0
    # the month froze where the clearing group stood
    assert uow.state.periods[(OCT, NATIONAL)].frozen == {"yidi-clearing": {"0": 3}}


async def test_re_close_returns_the_same_statement_and_writes_nothing(
    uow: MemoryClearingUnitOfWork,
) -> None:
    await land(uow, fact("S1", "300.00"))
    first = await close_period(uow, CODEC, OCT, NATIONAL, today=AFTER)
    queued = outbox(uow)
    again = await close_period(uow, CODEC, OCT, NATIONAL, today=AFTER)
    assert (again.statement_id, again.payload, again.created) == (
        first.statement_id, first.payload, False)  # fmt: skip
    assert outbox(uow) == queued == ["STMT-2026-10-N-closed"]


async def test_an_empty_period_is_confirmed_at_close(uow: MemoryClearingUnitOfWork) -> None:
    assert await _close(uow) == ("STMT-2026-10-N", "CONFIRMED", True)
    assert outbox(uow) == ["STMT-2026-10-N-closed", "STMT-2026-10-N-confirmed"]
    assert statement(uow, "STMT-2026-10-N-confirmed").status == ClearingStatus.ACCEPTED
    assert await settle(uow, CODEC, OCT, NATIONAL) == "SETTLED"


async def test_a_month_not_over_is_refused(uow: MemoryClearingUnitOfWork) -> None:
    with pytest.raises(WrongState):
        await close_period(uow, CODEC, OCT, NATIONAL, today=dt.date(2026, 10, 31))
    assert uow.state.periods == {}


async def test_ledger_behind_leaves_the_month_frozen_then_closes(
    uow: MemoryClearingUnitOfWork,
) -> None:
    await land(uow, fact("S1", "300.00"), fact("S2", "5.00", offset=1), ledger=False)
    with pytest.raises(LedgerBehind, match="2 settlements"):
        await _close(uow)
    assert uow.state.periods[(OCT, NATIONAL)].status == "CLOSING"
    assert uow.state.statements == {} and outbox(uow) == []
    # a settlement read after the freeze goes to the next month, late
    await land(uow, fact("S3", "7.00", offset=9))
    assert uow.state.entries["S3"].period == NOV and uow.state.entries["S3"].late
    await land(uow, fact("S1", "300.00"), fact("S2", "5.00", offset=1))  # the ledger catches up
    assert await _close(uow) == ("STMT-2026-10-N", "CLOSED", True)
    assert statement(uow, "STMT-2026-10-N-closed").pairs[0].setl_cnt == 2


async def test_close_waiting_polls_the_ledger_without_the_lock_then_closes(
    uow: MemoryClearingUnitOfWork,
) -> None:
    """The check under the exclusive lock refuses once; the wait that follows reads the
    ledger lock-free (the feed's batches are not held up) and closes once it has landed."""
    await land(uow, fact("S1", "300.00"), ledger=False)
    uow.transactions.clear()
    task = asyncio.create_task(close_waiting(uow, CODEC, OCT, NATIONAL, 30, today=AFTER))
    await asyncio.sleep(1.3)  # the refused close, then two lock-free polls
    assert not task.done()
    waited = list(uow.transactions)
    assert waited[:2] == ["exclusive", "exclusive"] and waited[2:] == ["none", "none"]
    await land(uow, fact("S1", "300.00"))  # the ledger catches up
    view = await asyncio.wait_for(task, 5)
    assert (view.status, view.created) == ("CLOSED", True)
    assert uow.transactions[-2:] == ["exclusive", "exclusive"]  # status, then the issue
    assert statement(uow, "STMT-2026-10-N-closed").pairs[0].setl_cnt == 1


async def test_close_waiting_gives_up_at_its_deadline_with_the_count_missing(
    uow: MemoryClearingUnitOfWork,
) -> None:
    await land(uow, fact("S1", "300.00"), fact("S2", "5.00", offset=1), ledger=False)
    with pytest.raises(LedgerBehind, match="2 settlements of 2026-10 national"):
        await close_waiting(uow, CODEC, OCT, NATIONAL, 0.6, today=AFTER)
    assert uow.state.periods[(OCT, NATIONAL)].status == "CLOSING"
    assert uow.state.statements == {} and outbox(uow) == []


async def test_positions_that_disagree_with_the_ledger_issue_nothing(
    uow: MemoryClearingUnitOfWork,
) -> None:
    await land(uow, fact("S1", "300.00"))
    uow.state.ledger["S1"] = uow.state.ledger["S1"].__class__(
        "settlement", "330100", "310100", fact("S1", "300.01").amounts
    )
    with pytest.raises(PositionsDisagree):
        await _close(uow)
    assert uow.state.statements == {} and outbox(uow) == []
    assert uow.state.periods[(OCT, NATIONAL)].status == "CLOSING"


async def test_late_settlements_go_to_the_next_open_month(uow: MemoryClearingUnitOfWork) -> None:
    await land(uow, fact("S1", "300.00", offset=0))
    await _close(uow)
    await land(uow, fact("L1", "50.00", offset=1), fact("L2", "-20.00", kind="reversal", offset=2))
    assert [(e.period, e.natural_period, e.late) for k, e in sorted(uow.state.entries.items())
            if k != "S1"] == [(NOV, OCT, True), (NOV, OCT, True)]  # fmt: skip
    # replaying the feed from before the freeze puts each settlement where it was
    uow2 = MemoryClearingUnitOfWork()
    uow2.state.periods = uow.state.periods
    uow2.state.ledger = uow.state.ledger
    await land(uow2, fact("S1", "300.00", offset=0), fact("L1", "50.00", offset=1))
    assert (uow2.state.entries["S1"].period, uow2.state.entries["L1"].period) == (OCT, NOV)
    nov = await close_period(uow, CODEC, NOV, NATIONAL, today=AFTER)
    s = statement(uow, f"{nov.statement_id}-closed")
    assert (s.pairs[0].fund_pay_sumamt, s.pairs[0].setl_cnt) == (Decimal("30.00"), 2)
    report = await load_report(uow, NOV, NATIONAL)
    assert report.late_cnt == 2 and [x.setl_id for x in report.late] == ["L1", "L2"]


async def test_confirmations_wrong_unknown_repeated_then_confirmed_and_settled(
    uow: MemoryClearingUnitOfWork,
) -> None:
    await land(uow, fact("S1", "300.00"))
    await _close(uow)
    sid = "STMT-2026-10-N"
    with pytest.raises(WrongState, match="needs CONFIRMED"):
        await settle(uow, CODEC, OCT, NATIONAL)
    refused = [
        (sid, "330000", "-300.01"),  # the wrong net
        (sid, "110000", "0.00"),  # no position on the statement
        ("STMT-2026-10-X", "330000", "-300.00"),  # no such statement
    ]
    for statement_id, who, net in refused:
        with pytest.raises(ConfirmationMismatch):
            await confirm(uow, CODEC, statement_id, who, Decimal(net), "ce-bad", WHEN)
    assert uow.state.confirmations == {}
    assert await confirm(uow, CODEC, sid, "330000", Decimal("-300.00"), "c1", WHEN) == "CLOSED"
    assert await confirm(uow, CODEC, sid, "330000", Decimal("-300.00"), "c1b", WHEN) == "CLOSED"
    assert await confirm(uow, CODEC, sid, "310000", Decimal("300.00"), "c2", WHEN) == "CONFIRMED"
    assert uow.state.confirmations[(sid, "330000")][1] == "c1", "the first sign-off is kept"
    assert await confirm(uow, CODEC, sid, "310000", Decimal("300.00"), "c3", WHEN) == "CONFIRMED"
    assert outbox(uow) == [f"{sid}-closed", f"{sid}-confirmed"]
    assert await settle(uow, CODEC, OCT, NATIONAL) == "SETTLED"
    assert await settle(uow, CODEC, OCT, NATIONAL) == "SETTLED"
    assert outbox(uow) == [f"{sid}-closed", f"{sid}-confirmed", f"{sid}-settled"]
    assert statement(uow, f"{sid}-settled").status == ClearingStatus.CLEARED
    with pytest.raises(WrongState, match="OPEN"):
        await settle(uow, CODEC, NOV, NATIONAL)


async def test_a_correction_is_carried_once_into_the_next_open_month(
    uow: MemoryClearingUnitOfWork,
) -> None:
    await land(uow, fact("S1", "300.00"))
    await _close(uow)
    # a rebuild re-derives October's positions: one more settlement counts in the month now
    async with uow.transaction("shared") as repo:
        await repo.add_entries([Entry("S9", OCT, OCT, NATIONAL, False, "settlement", "330100",
                                      "310100", "330000", "310000", fact("S9", "25.00").amounts,
                                      0, 50)])  # fmt: skip
    due = await load_report(uow, OCT, NATIONAL)
    assert [(c.payer, c.amount) for c in due.correction_due] == [("330000", Decimal("25.00"))]
    assert due.correction_due_into == NOV
    await land(uow, fact("N1", "10.00", period=NOV, offset=60))
    nov = await close_period(uow, CODEC, NOV, NATIONAL, today=AFTER)
    carried = await load_report(uow, NOV, NATIONAL)
    assert [(c.origin_period, c.amount) for c in carried.corrections] == [(OCT, Decimal("25.00"))]
    assert carried.correction_nets == {"310000": Decimal("25.00"), "330000": Decimal("-25.00")}
    assert (await load_report(uow, OCT, NATIONAL)).correction_due == []
    await close_period(uow, CODEC, DEC, NATIONAL, today=AFTER)
    assert (await load_report(uow, DEC, NATIONAL)).corrections == [], "carried once"
    assert nov.status == "CLOSED"


async def test_prepayment_crossings_warn_once_each(uow: MemoryClearingUnitOfWork) -> None:
    async with uow.transaction() as repo:
        await repo.set_prepayments(2026, NATIONAL, {("330000", "310000"): 100_000}, Thresholds())
    await land(uow, fact("A", "600.00", offset=0))  # 60 %
    assert warnings(uow) == []
    await land(uow, fact("B", "150.00", offset=1))  # 75 %: yellow
    await land(uow, fact("C", "50.00", offset=2), fact("D", "10.00", offset=3))  # 86 %: nothing
    assert [(w.level, w.threshold, w.clearing_amt) for w in warnings(uow)] == [
        ("yellow", "0.70", Decimal("750.00"))]  # fmt: skip
    await land(uow, fact("E", "-500.00", kind="reversal", offset=4))  # 36 %: re-armed
    await land(uow, fact("F", "700.00", offset=5))  # 106 %: yellow and red again
    assert [w.level for w in warnings(uow)] == ["yellow", "yellow", "red"]
    assert [c for c in outbox(uow) if c.startswith("warn-")] == [
        "warn-2026-10-national-330000-310000-1-yellow",
        "warn-2026-10-national-330000-310000-2-yellow",
        "warn-2026-10-national-330000-310000-3-red",
    ]
    # a rebuild re-lands history: no warning again
    rebuilt = MemoryClearingUnitOfWork()
    rebuilt.state.prepayments = uow.state.prepayments
    await land(rebuilt, fact("A", "600.00"), fact("B", "350.00", offset=1), rebuild=True)
    assert outbox(rebuilt) == []
    assert rebuilt.transactions == ["shared"]


async def test_a_batch_is_all_or_nothing(
    uow: MemoryClearingUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries, positions, warnings and offsets commit together: a failure writing the
    offsets (the last step) leaves none of the batch behind."""

    async def fail(*_args: object) -> None:
        raise ConnectionResetError("the database went away")

    async with uow.transaction() as repo:
        await repo.set_prepayments(2026, NATIONAL, {("330000", "310000"): 100}, Thresholds())
    monkeypatch.setattr(MemoryClearingRepository, "record_positions", fail)
    with pytest.raises(ConnectionResetError):
        await land(uow, fact("S1", "300.00"), ledger=False)
    assert uow.state.entries == {} and uow.state.positions == {}
    assert uow.state.outbox == {} and uow.state.levels == {} and uow.state.sink.next == {}
