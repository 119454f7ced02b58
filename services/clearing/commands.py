"""Commands and confirmations arriving on ``yidi.clearing.v1``.

The same topic carries clearing's own outputs (statements, warnings) and
reconciliation summaries for the clearing center; those are decoded (the
topic's verdicts are this processor's) and skipped here.
Signed inputs from agencies — period commands and confirmations — are
applied idempotently in PostgreSQL and acknowledged to their sender; a
refused step is a business answer (a rejected ack), unreadable or unsigned
input goes to the DLQ.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import structlog
from aiokafka import AIOKafkaProducer

from contracts.ack import Ack, AckError
from contracts.clearing import AuditDeduction, ClearingConfirmed, PeriodCommand
from contracts.codes import AckStatus
from contracts.common import Contract
from contracts.pools import PoolingRegions
from contracts.registry import SENDER_SIGNED
from events import catalog
from events.stream.batch_loop import Batch, BatchLoop, LoopConfig, Publish
from events.stream.clients import KafkaConnection
from events.stream.guard import RecordGuard
from events.stream.metrics import StreamMetrics
from events.stream.types import InputRecord, Output
from events.wire.codec import Codec, Decoded
from events.wire.errors import DecodeError
from events.wire.limits import MAX_LONG_TEXT, MAX_SHORT_TEXT, ack_ref, fit
from events.wire.rejection import ack_output, rejected_input
from services.clearing.core.errors import ClearingError, WrongState
from services.clearing.core.periods import scope_from_message
from services.clearing.ports import ClearingUnitOfWork
from services.clearing.service_layer.deductions import deduct
from services.clearing.service_layer.messages import PROCESSOR, TOPIC
from services.clearing.service_layer.periods import close_waiting, confirm, settle
from services.runtime.db import through_outage
from services.runtime.failures import is_infrastructure

log = structlog.get_logger("yidi.clearing")

GROUP = catalog.CLEARING_COMMANDS_GROUP

M = TypeVar("M", bound=Contract)


STAGE = "clearing"


class CommandHandler:
    """One input record -> its outputs (acks, DLQ records); state changes go through the
    clearing unit of work (PostgreSQL in production, ``adapters.memory`` in unit tests)."""

    def __init__(
        self,
        codec: Codec,
        uow: ClearingUnitOfWork,
        ledger_wait_s: float = 30.0,
        pools: PoolingRegions | None = None,
    ) -> None:
        self.codec = codec
        self.uow = uow
        self.ledger_wait_s = ledger_wait_s
        self.pools = pools

    async def handle(self, record: InputRecord) -> list[Output]:
        """This processor owns the topic's verdicts (``events.catalog``): every record is
        decoded against the topic's ``accepts``, and a valid output of clearing or
        reconciliation (for the clearing center) is skipped; anything else the topic does not
        carry (a visit event, an ack, a settlement) is refused ``E_WRONG_TOPIC``."""
        try:
            decoded = self.codec.decode(
                record.key, record.value, record.headers, topic=record.topic
            )
        except DecodeError as err:
            return rejected_input(record, err, codec=self.codec, stage=STAGE, processor=PROCESSOR)
        message, env = decoded.message, decoded.envelope
        if env.ce_type not in SENDER_SIGNED:
            return []  # an output for the clearing center, not an instruction
        duplicate = False
        try:
            if isinstance(message, PeriodCommand):
                await self._command(message)
            elif isinstance(message, AuditDeduction):
                applied = await deduct(
                    self.uow, agency_signed(decoded, AuditDeduction), env.ce_id, self.pools
                )
                duplicate = not applied.new
            elif isinstance(message, ClearingConfirmed):
                await confirm(
                    self.uow, self.codec, message.statement_id, message.participant,
                    message.net, env.ce_id, message.confirmed_at,
                )  # fmt: skip
            else:
                unhandled = DecodeError(
                    f"{env.ce_type} is not a clearing instruction", "ce_type", "E_UNHANDLED"
                )
                unhandled.authentic_sender = env.sender
                return rejected_input(
                    record, unhandled, codec=self.codec, stage=STAGE, processor=PROCESSOR
                )
            error = None
        except ClearingError as exc:
            log.warning("clearing_instruction_refused", code=exc.code, reason=exc.message)
            error = AckError(code=exc.code, message=fit(exc.message, MAX_LONG_TEXT))
        ack = Ack(
            ack_for=ack_ref(env.ce_id), ack_for_type=fit(env.ce_type, MAX_SHORT_TEXT),
            sender=env.sender,
            status=AckStatus.REJECTED if error else AckStatus.DUPLICATE if duplicate
            else AckStatus.ACCEPTED, error=error,
            acked_at=dt.datetime.fromisoformat(env.ce_time),
        )  # fmt: skip
        return [ack_output(self.codec, ack, offset=record.offset, stage=STAGE, processor=PROCESSOR)]

    async def _command(self, cmd: PeriodCommand) -> None:
        scope = scope_from_message(cmd.scope, cmd.participant)
        if cmd.command == "close":
            await close_waiting(
                self.uow, self.codec, cmd.period, scope, self.ledger_wait_s, self.pools
            )
        elif cmd.command == "settle":
            await settle(self.uow, self.codec, cmd.period, scope)
        elif cmd.command == "reopen":
            raise WrongState(
                "a closed period is never reopened: late settlements go to the next one"
            )
        else:
            raise WrongState(f"{cmd.command} is not supported by this clearing processor")


def agency_signed(decoded: Decoded, kind: type[M]) -> M:
    """The one place where an agency-signed clearing input is verified before it is applied.

    The codec has checked the agency's Ed25519 signature (every ``CLEARING_SIGNED`` type is
    ``AGENCY_SIGNED``: a MAC, a foreign key or an altered body never decodes) and this asserts
    that it did and that the agency speaks for its own region (``AG<participant>``)."""
    message = decoded.message
    if not isinstance(message, kind) or not decoded.sender_verified:
        raise AssertionError(f"{kind.__name__} reached the handler unverified")
    if decoded.envelope.sender != f"AG{getattr(message, 'participant', None)}":
        raise AssertionError(f"{kind.__name__} signed by another than its participant's agency")
    return message


class CommandConsumer:
    """At-least-once over the topic, on the stream layer's batch loop; every step the
    handler applies is idempotent in PostgreSQL, so a batch read again re-applies cleanly."""

    def __init__(
        self,
        bootstrap: KafkaConnection,
        handler: CommandHandler,
        producer: AIOKafkaProducer,
        after_batch: Callable[[], Awaitable[None]],
        instance_id: str | None = None,
        group_id: str = GROUP,
        metrics: StreamMetrics | None = None,
    ) -> None:
        self.group_id = group_id
        self.handler = handler
        self.after_batch = after_batch
        self.guard = RecordGuard(
            STAGE, codec=handler.codec, processor=PROCESSOR,
            ack_topics=frozenset({TOPIC}),
        )  # fmt: skip
        self.loop = BatchLoop(
            LoopConfig(
                bootstrap, TOPIC, group_id, catalog.CLEARING_COMMANDS_GROUP, instance_id,
                max_records=200, poll_ms=200,
            ),
            self,
            producer,
            metrics,
        )  # fmt: skip

    async def start(self) -> None:
        await self.loop.start()

    async def run(self, stop: asyncio.Event) -> None:
        await self.loop.run(stop)

    async def stop(self) -> None:
        await self.loop.stop()

    async def resume(self, partitions: Sequence[int]) -> None:
        """Commands resume from the group's offsets in Kafka."""

    async def land(self, batch: Batch, publish: Publish) -> None:
        outputs: list[Output] = []
        for record in batch.records:
            outputs.extend(await self._handle(record))
        await publish(outputs)
        await through_outage(self.after_batch)

    async def _handle(self, record: InputRecord) -> list[Output]:
        """The handler's outputs; a record that cannot be parsed, or that makes the handler
        raise for a reason other than the broker or the database, is dead-lettered (with an
        error ack to an authentic sender) and the batch goes on."""
        if record.damaged is not None:
            return self.guard.unparseable(record)
        try:  # a command is one unit of work: rolled back when the database went away
            return await through_outage(lambda: self.handler.handle(record))
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            return self.guard.failed(record, exc)
