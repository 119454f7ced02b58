"""The engine's promise: every record ends in exactly one outcome, whatever it holds.

A task turns each record into its outcome (a result and an ack, or a DLQ record) and is
meant never to raise for bad input. ``RecordGuard`` is what holds when that fails: the
record's processing raised (a bug, or an input no check foresaw), or the client library
could not even parse the record. Either way the record becomes a DLQ record and, when the
sender's MAC verifies, an error ack; the batch and the partition go on. Only the infrastructure
(broker, database) may stop a worker, never a record's content.

The DLQ reason names the exception's *type* only: its message may quote the input, and
personal data must not reach a DLQ reason, a log line or an ack.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import structlog
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus
from events.catalog import owns
from events.dlq import dlq_output
from events.stream.types import InputRecord, Output, Result, Task
from events.wire.codec import Codec
from events.wire.envelope import parse_headers
from events.wire.limits import MAX_SHORT_TEXT, ack_ref, fit
from events.wire.rejection import ack_output

log = structlog.get_logger("yidi.stream")

E_INTERNAL = "E_INTERNAL"
"""Processing the record raised: the reason carries the exception's type name."""
E_UNPARSEABLE = "E_UNPARSEABLE"
"""The client library could not parse the record (e.g. a header name that is not UTF-8)."""


Verdict = Callable[[BaseException], "bool | None"]
"""A service's reading of its own clients' errors: True (infrastructure), False (the
record's doing), or None (not one of its errors). The PostgreSQL one is
``services/runtime/failures.py``: this layer knows no database."""


def is_infrastructure(exc: BaseException, verdict: Verdict | None = None) -> bool:
    """Whether ``exc`` is about the broker or a server (stop or pause the worker and read
    the record again later), rather than about the record being processed (dead-letter it).
    A broker refusing an output for its size is the record's doing, not the broker's.
    ``verdict`` classifies the errors of the service's other clients (its database)."""
    if isinstance(exc, (MessageSizeTooLargeError, RecordTooLargeError)):
        return False
    if isinstance(exc, (KafkaError, OSError, asyncio.TimeoutError)):
        return True
    if verdict is not None and (said := verdict(exc)) is not None:
        return said
    return not isinstance(exc, Exception)  # KeyboardInterrupt, CancelledError, SystemExit


class RecordGuard:
    """Outcomes for records a task could not handle: one per processor (``stage``)."""

    def __init__(
        self,
        stage: str,
        *,
        codec: Codec | None = None,
        processor: str | None = None,
        ack_topics: frozenset[str] = frozenset(),
        owner: str | None = None,
    ) -> None:
        """``codec``'s key registry authenticates senders for error acks; ``processor`` is
        the ack's ce_source; acks go only to senders of records on ``ack_topics`` (the
        topics this processor acknowledges). ``owner`` (default ``processor``) names this
        processor in the catalog's topic ownership: an unparseable record is a verdict on the
        input's bytes, so only the topic's owner dead-letters it (every reader sees the same
        bytes; one bad input, one DLQ record). A record whose processing *raised* is this
        processor's own failure and is dead-lettered by whichever processor it happened in."""
        self.stage = stage
        self.codec = codec
        self.processor = processor
        self.ack_topics = ack_topics
        self.owner = owner if owner is not None else processor
        self.handled = 0
        """Records this guard gave an outcome to (unparseable, or processing raised)."""

    def unparseable(self, record: InputRecord) -> list[Output]:
        """A record the client could not parse: dead-lettered by position with what was read,
        by the topic's owner only (the other readers skip it)."""
        if self.owner is not None and not owns(record.topic, self.owner):
            return []
        self.handled += 1
        log.warning(
            "record_unparseable", stage=self.stage, topic=record.topic,
            partition=record.partition, offset=record.offset,
        )  # fmt: skip
        message = f"the record could not be parsed: {record.damaged or 'unknown damage'}"
        return [dlq_output(record, stage=self.stage, code=E_UNPARSEABLE, message=message)]

    def failed(self, record: InputRecord, exc: BaseException) -> list[Output]:
        """Processing ``record`` raised ``exc``: a DLQ record, and an error ack when the
        sender is authentic. Never raises."""
        self.handled += 1
        kind = type(exc).__name__
        log.error(
            "record_failed", stage=self.stage, topic=record.topic, partition=record.partition,
            offset=record.offset, error=kind,
        )  # fmt: skip
        message = f"internal error while processing the record ({kind})"
        sender = self._authentic_sender(record)
        acks: list[Output] = []
        if sender is not None:
            try:
                acks.append(self._error_ack(record, sender, kind))
            except Exception as again:  # the DLQ record then says no ack was sent
                log.error("error_ack_failed", stage=self.stage, error=type(again).__name__)
        try:
            dead = dlq_output(
                record, stage=self.stage, code=E_INTERNAL, message=message, authentic=bool(acks)
            )
        except Exception as again:  # the original itself cannot be carried: its position can
            log.error("dlq_build_failed", stage=self.stage, error=type(again).__name__)
            bare = InputRecord(
                record.topic, record.partition, record.offset, None, None, (), record.timestamp_ms
            )
            dead = dlq_output(
                bare, stage=self.stage, code=E_INTERNAL, message=message, authentic=bool(acks)
            )
        return [dead, *acks]

    def _authentic_sender(self, record: InputRecord) -> str | None:
        """The sender, when this processor acks this topic and the record's MAC verifies."""
        if self.codec is None or record.topic not in self.ack_topics:
            return None
        try:
            env = parse_headers(record.headers)
            when = dt.datetime.fromisoformat(env.ce_time)
            if when.tzinfo is None or record.value is None:
                return None
            self.codec.keys.verify(env, record.value, when)
        except Exception:
            return None
        return env.sender

    def _error_ack(self, record: InputRecord, sender: str, kind: str) -> Output:
        assert self.codec is not None and self.processor is not None
        env = parse_headers(record.headers)
        ack = Ack(
            ack_for=ack_ref(env.ce_id), ack_for_type=fit(env.ce_type, MAX_SHORT_TEXT),
            sender=sender, status=AckStatus.REJECTED,
            acked_at=dt.datetime.fromisoformat(env.ce_time),
            error=AckError(code=E_INTERNAL, message=f"internal error ({kind}); see the DLQ"),
        )  # fmt: skip
        return ack_output(
            self.codec, ack, offset=record.offset, stage=self.stage, processor=self.processor
        )


def process_record(task: Task, record: InputRecord, guard: RecordGuard) -> Result:
    """One record to exactly one outcome, whatever it holds: the task's result, or (when the
    record could not be parsed, or processing it raised) the guard's DLQ record and error ack.
    The engine's per-record step; tests and benches drive tasks through it too. Tasks apply a
    record's state change only once its outputs are built, so a record that raises leaves
    their state as it was."""
    if record.damaged is not None:
        return Result(guard.unparseable(record))
    try:
        return task.process(record)
    except Exception as exc:  # a record's content never stops the engine
        return Result(guard.failed(record, exc))
