"""The guard's two judgements: what is the record's fault (dead-letter it, go on) and what is
the infrastructure's (stop or retry the worker, read the record again); and the sink loops
dead-letter a record their mapper raises on."""

from __future__ import annotations

import asyncio

import asyncpg
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from events import catalog
from events.dlq import DLQ_TOPIC, parse_dlq
from events.stream.guard import E_INTERNAL, E_UNPARSEABLE, RecordGuard
from events.stream.types import InputRecord, Output
from services.ledger.adapters.pg_sink import write_batch
from services.runtime.failures import is_infrastructure
from services.runtime.sink import SinkWorker, row_or_reject

RECORD = InputRecord("yidi.settlement.v1", 2, 41, b"k", b"{}", [("ce_id", b"x")], 0)


def test_broker_and_database_failures_are_infrastructure() -> None:
    assert is_infrastructure(KafkaConnectionError())
    assert is_infrastructure(ConnectionResetError())
    assert is_infrastructure(TimeoutError())
    assert is_infrastructure(asyncpg.exceptions.ConnectionDoesNotExistError("gone"))
    assert is_infrastructure(asyncpg.exceptions.SerializationError("retry"))
    assert is_infrastructure(asyncpg.exceptions.TooManyConnectionsError("full"))
    assert is_infrastructure(asyncio.CancelledError())
    # a missing grant of the service's database role: fix the deployment, keep the records
    assert is_infrastructure(asyncpg.exceptions.InsufficientPrivilegeError("denied"))
    assert is_infrastructure(asyncpg.exceptions.InvalidPasswordError("role"))


def test_what_a_record_causes_is_not() -> None:
    assert not is_infrastructure(ValueError("bad"))
    assert not is_infrastructure(MessageSizeTooLargeError())  # an output this record made
    assert not is_infrastructure(OverflowError())
    assert not is_infrastructure(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "x"))
    assert not is_infrastructure(asyncpg.exceptions.CheckViolationError("row"))
    assert not is_infrastructure(asyncpg.exceptions.NumericValueOutOfRangeError("row"))


def _sink(mapper: object) -> SinkWorker:
    return SinkWorker(
        "127.0.0.1:1", "postgresql://nowhere/none", mapper, catalog.SETTLEMENT,  # type: ignore[arg-type]
        catalog.LEDGER_GROUP, write_batch,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_sink_dead_letters_a_record_its_mapper_raises_on() -> None:
    def mapper(_: InputRecord) -> object:
        raise KeyError("setl_id")

    sink = _sink(mapper)
    out = row_or_reject(RECORD, sink.to_row, sink.guard)
    assert isinstance(out, Output) and out.topic == DLQ_TOPIC
    dead = parse_dlq(out.value)
    assert (dead.reason.code, dead.source.offset, dead.stage) == (E_INTERNAL, 41, "ledger")
    assert "KeyError" in dead.reason.message and "setl_id" not in dead.reason.message


def test_a_sink_dead_letters_an_unparseable_record() -> None:
    damaged = InputRecord(
        RECORD.topic, 2, 42, b"k", b"{}", [("\\xff", b"v")], 0,
        damaged="a record header name is not UTF-8", raw_header_names=(b"\xff",),
    )  # fmt: skip
    sink = _sink(lambda _: object())
    out = row_or_reject(damaged, sink.to_row, sink.guard)
    assert isinstance(out, Output) and parse_dlq(out.value).reason.code == E_UNPARSEABLE


def test_no_error_ack_without_a_verified_mac() -> None:
    outs = RecordGuard("adjudication").failed(RECORD, RuntimeError("x"))
    assert [o.topic for o in outs] == [DLQ_TOPIC]
    assert not parse_dlq(outs[0].value).authentic
