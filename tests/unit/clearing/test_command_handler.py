"""The clearing command handler (``commands.CommandHandler``) over the in-memory unit of
work: signed period commands and confirmations in, acks (or dead letters) out, the state
changes made through the service layer. No broker, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.ack import Ack
from contracts.clearing import ClearingConfirmed, PeriodCommand
from contracts.codes import AckStatus, ClearingStatus
from contracts.common import Contract
from events import catalog
from events.stream.types import InputRecord, Output
from events.wire.demo_keys import demo_codec
from services.clearing.adapters.memory import MemoryClearingUnitOfWork
from services.clearing.commands import CommandHandler
from services.clearing.service_layer.messages import latest_statements
from tests.unit.clearing.fakes import fact, land, outbox

NATIONAL_AGENCY = "AG000000"
SENDERS = [NATIONAL_AGENCY, "AG330000", "AG310000"]
READERS = SENDERS  # the national platform and both provinces on the statement
CODEC = demo_codec(SENDERS)
TOPIC = "yidi.clearing.v1"
PERIOD = "2026-10"  # over by any clock this test runs on
WHEN = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
STATEMENT = f"STMT-{PERIOD}-N"


def record(
    message: Contract, sender: str, ce_id: str, offset: int, *, sign: bool = True
) -> InputRecord:
    key, value, headers = CODEC.encode(message, ce_id=ce_id, sender=sender, ce_time=WHEN, sign=sign)
    return InputRecord(TOPIC, 0, offset, key, value, headers, 0)


def command(name: str, offset: int, period: str = PERIOD) -> InputRecord:
    cmd = PeriodCommand(participant="000000", period=period, scope="national", command=name,  # type: ignore[arg-type]
                        issued_by="000000", issued_at=WHEN)  # fmt: skip
    return record(cmd, NATIONAL_AGENCY, f"cmd-{name}-{offset}", offset)


def confirmation(participant: str, net: str, offset: int) -> InputRecord:
    message = ClearingConfirmed(participant=participant, period=PERIOD, scope="national",
                                statement_id=STATEMENT, net=Decimal(net), confirmed_at=WHEN)  # fmt: skip
    return record(message, f"AG{participant}", f"confirm-{participant}-{offset}", offset)


def acks(outputs: list[Output]) -> list[tuple[str, AckStatus, str | None]]:
    out = []
    for o in outputs:
        ack = CODEC.decode(o.key, o.value, o.headers, authenticate=False).message
        assert isinstance(ack, Ack), o.topic
        out.append((o.topic, ack.status, None if ack.error is None else ack.error.code))
    return out


@pytest.fixture
async def uow() -> MemoryClearingUnitOfWork:
    u = MemoryClearingUnitOfWork()
    await land(u, fact("S1", "300.00", period=PERIOD))
    return u


async def test_close_confirm_settle_by_messages(uow: MemoryClearingUnitOfWork) -> None:
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    assert acks(await handler.handle(command("close", 1))) == [
        ("yidi.ack.v1.AG000000", AckStatus.ACCEPTED, None)]  # fmt: skip
    assert uow.state.periods[(PERIOD, "national")].status == "CLOSED"
    assert acks(await handler.handle(command("settle", 2))) == [
        ("yidi.ack.v1.AG000000", AckStatus.REJECTED, "E_CLEARING_STATE")]  # fmt: skip
    assert acks(await handler.handle(confirmation("330000", "-300.01", 3))) == [
        ("yidi.ack.v1.AG330000", AckStatus.REJECTED, "E_CLEARING_CONFIRMATION")]  # fmt: skip
    assert uow.state.confirmations == {}
    for i, (who, net) in enumerate((("330000", "-300.00"), ("310000", "300.00"))):
        assert acks(await handler.handle(confirmation(who, net, 4 + i)))[0][1] == AckStatus.ACCEPTED
    assert uow.state.periods[(PERIOD, "national")].status == "CONFIRMED"
    assert acks(await handler.handle(command("settle", 6)))[0][1] == AckStatus.ACCEPTED
    assert uow.state.periods[(PERIOD, "national")].status == "SETTLED"
    assert outbox(uow) == [f"{STATEMENT}-closed", f"{STATEMENT}-confirmed", f"{STATEMENT}-settled"]
    # each agency the statement concerns gets every version on its own ack topic
    copies = {m.topic for _s, m, _p in uow.state.outbox.values() if m.topic != catalog.CLEARING}
    assert copies == {catalog.ack_topic(a) for a in READERS}, copies
    for agency in READERS:
        assert outbox(uow, catalog.ack_topic(agency)) == [
            f"{STATEMENT}-{step}.{agency}" for step in ("closed", "confirmed", "settled")
        ]
    # what the agency reads back: the newest version, acks on the same topic skipped
    topic = catalog.ack_topic("AG330000")
    records = [
        (dict(m.headers).get("ce_type"), m.value)
        for _s, m, _p in sorted(uow.state.outbox.values()) if m.topic == topic
    ]  # fmt: skip
    records.insert(1, (b"cn.yidi.ack.v1", b"{}"))
    [latest] = latest_statements(records)
    assert (latest.statement_id, latest.status) == (STATEMENT, ClearingStatus.CLEARED)
    assert {n.participant: n.net for n in latest.nets}["330000"] == Decimal("-300.00")


async def test_a_refused_command_is_a_rejected_ack_and_changes_nothing(
    uow: MemoryClearingUnitOfWork,
) -> None:
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    assert acks(await handler.handle(command("reopen", 1))) == [
        ("yidi.ack.v1.AG000000", AckStatus.REJECTED, "E_CLEARING_STATE")]  # fmt: skip
    assert acks(await handler.handle(command("defer", 2)))[0][2] == "E_CLEARING_STATE"
    uow.state.ledger.clear()  # the ledger has not landed October yet: the close waits, then refuses
    assert acks(await handler.handle(command("close", 3)))[0][2] == "E_CLEARING_LEDGER_BEHIND"
    assert uow.state.periods[(PERIOD, "national")].status == "CLOSING"
    assert outbox(uow) == [] and uow.state.statements == {}


async def test_clearing_outputs_are_skipped_and_forged_input_is_dead_lettered(
    uow: MemoryClearingUnitOfWork,
) -> None:
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    await handler.handle(command("close", 1))
    (_seq, statement, _), *_ = sorted(uow.state.outbox.values())
    as_read = InputRecord(TOPIC, 0, 2, statement.key, statement.value, list(statement.headers), 0)
    assert await handler.handle(as_read) == [], "a statement is an output, not an instruction"
    before = len(uow.transactions)
    forged = record(
        PeriodCommand(participant="000000", period="2026-09", scope="national", command="close",
                      issued_by="000000", issued_at=WHEN),
        NATIONAL_AGENCY, "cmd-forged", 3, sign=False,
    )  # fmt: skip
    (dead,) = await handler.handle(forged)
    assert dead.topic == "yidi.dlq.v1"
    assert len(uow.transactions) == before, "nothing reached the unit of work"
    assert ("2026-09", "national") not in uow.state.periods
