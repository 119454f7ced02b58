"""The reconciliation worker: ``yidi.recon.v1`` -> answers on each hospital's own ack topic,
summaries on ``yidi.clearing.v1``.

One request at a time, in partition order (a hospital's requests share its partition).
Each request is recorded, staged and, once complete, answered in one PostgreSQL
transaction; its outputs are then built from the stored answer and published, and the
fetched batch's offsets are committed only after every output was acknowledged. After a
crash the uncommitted requests come again: recognised by their log position, they emit
the same outputs from the same stored answer, byte for byte. Per-request SQL is fine
here: reconciliation is a few requests per hospital per day, not the settlement hot path.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass

import asyncpg
import structlog

from contracts.ack import Ack, AckError
from contracts.clearing import CLEARING_TOPIC
from contracts.codes import AckStatus
from contracts.recon import (
    RECON_TOPIC,
    DetailReconRequested,
    ReconResult,
    ReconSummary,
    TotalsReconRequested,
)
from events import catalog
from events.catalog import ack_topic
from events.dlq import dlq_output
from events.stream.batch_loop import Batch, BatchLoop, LoopConfig, Publish
from events.stream.clients import KafkaConnection
from events.stream.guard import RecordGuard
from events.stream.metrics import StreamMetrics
from events.stream.types import InputRecord, Output
from events.wire.codec import Codec, Decoded
from events.wire.errors import DecodeError
from events.wire.limits import MAX_LONG_TEXT, MAX_SHORT_TEXT, ack_ref, fit, fit_optional
from events.wire.rejection import ack_output, rejected_input
from services.recon.adapters.pg_repository import PgReconRepository
from services.recon.core.answers import (
    RESULT_ROWS_PER_PART,
    part_count,
    result_part,
)
from services.recon.core.errors import ReconRefused
from services.recon.core.requests import (
    Arrival,
    Position,
    Request,
    answer_key,
)
from services.recon.ports import ReconRepository, StoredAnswer
from services.recon.service_layer import apply_request
from services.runtime.failures import is_infrastructure

log = structlog.get_logger("yidi.recon")

STAGE = "recon"
SENDER = catalog.RECON_ID
GROUP = catalog.RECON_GROUP
CST = dt.timezone(dt.timedelta(hours=8))
MAX_IN_FLIGHT = 8
"""Answer parts awaiting the broker at once: bounds what a 100,000-row answer holds in memory."""


@dataclass(slots=True)
class ReconStats:
    requests: int = 0
    answered: int = 0
    resent: int = 0
    refused: int = 0
    dead_lettered: int = 0
    outputs: int = 0


def _output_id(kind: str, fixmedins_code: str, key: str, part_no: int = 1) -> str:
    """Output ids derive from the answer, so every emission of it carries the same ids."""
    digest = hashlib.sha256(f"{kind}|{fixmedins_code}|{key}|{part_no}".encode()).hexdigest()
    return f"recon-{digest[:32]}"


class ReconWorker:
    """Reconciliation requests on the stream layer's batch loop, one request at a time."""

    def __init__(
        self,
        bootstrap: KafkaConnection,
        database_url: str,
        codec: Codec,
        *,
        topic: str = RECON_TOPIC,
        clearing_topic: str = CLEARING_TOPIC,
        group_id: str = GROUP,
        ledger_group: str = catalog.LEDGER_GROUP,
        instance_id: str | None = None,
        max_records: int = 16,
        metrics: StreamMetrics | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(CST),
    ) -> None:
        self.database_url = database_url
        self.codec = codec
        self.clearing_topic = clearing_topic
        self.ledger_group = ledger_group
        self.clock = clock
        self.stats = ReconStats()
        self.guard = RecordGuard(
            STAGE, codec=codec, processor=SENDER, ack_topics=frozenset({topic})
        )
        self.pool: asyncpg.Pool | None = None
        self.loop = BatchLoop(
            LoopConfig(bootstrap, topic, group_id, SENDER, instance_id, max_records),
            self,
            metrics=metrics,
            ack_topics=frozenset({topic}),
        )

    async def start(self) -> None:
        self.pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=2)
        await self.loop.start()

    async def run(self, stop: asyncio.Event) -> None:
        await self.loop.run(stop)

    async def stop(self) -> None:
        await self.loop.stop()
        if self.pool is not None:
            await self.pool.close()

    async def resume(self, partitions: Sequence[int]) -> None:
        """Requests resume from the group's offsets in Kafka (answers are stored, so a
        request read again is answered again from the store, byte for byte)."""
        log.info("recon_assigned", partitions=sorted(partitions))

    async def land(self, batch: Batch, publish: Publish) -> None:
        for record in batch.records:
            await self.handle_guarded(record)

    async def handle_guarded(self, record: InputRecord) -> None:
        """``handle``, except that a record that cannot be parsed, or whose handling raises
        for a reason other than the broker or the database, is dead-lettered (with an error
        ack to an authentic sender) and the batch goes on. A request's database work is one
        transaction, so a failed request leaves nothing behind."""
        if record.damaged is not None:
            self.stats.dead_lettered += 1
            await self._send(_aiter(self.guard.unparseable(record)))
            return
        try:
            await self.handle(record)
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            self.stats.dead_lettered += 1
            await self._send(_aiter(self.guard.failed(record, exc)))

    async def handle(self, record: InputRecord) -> None:
        """One request to its terminal outcome, published and acknowledged by the broker."""
        self.stats.requests += 1
        with structlog.contextvars.bound_contextvars(
            topic=record.topic, partition=record.partition, offset=record.offset
        ):
            try:
                decoded = self.codec.decode(
                    record.key, record.value, record.headers, topic=record.topic
                )
            except DecodeError as err:
                self.stats.dead_lettered += 1
                log.info("recon_rejected_input", code=err.code, field=err.field)
                outs = rejected_input(record, err, codec=self.codec, stage=STAGE, processor=SENDER)
                await self._send(_aiter(outs))
                return
            request = decoded.message
            if not isinstance(request, (TotalsReconRequested, DetailReconRequested)):
                self.stats.dead_lettered += 1
                text = f"not a reconciliation request: {decoded.envelope.ce_type}"
                dead = dlq_output(record, stage=STAGE, code="E_UNHANDLED", message=text)
                await self._send(_aiter([dead]))
                return
            with structlog.contextvars.bound_contextvars(ce_id=decoded.envelope.ce_id):
                await self._answer(record, decoded, request)

    async def _answer(self, record: InputRecord, decoded: Decoded, request: Request) -> None:
        assert self.pool is not None
        at = Position(record.topic, record.partition, record.offset)
        async with self.pool.acquire() as conn:
            repo = PgReconRepository(conn)
            try:
                async with conn.transaction(isolation="repeatable_read"):
                    applied = await apply_request(
                        repo, request, decoded.envelope.ce_id, at,
                        ledger_group=self.ledger_group, clock=self.clock,
                    )  # fmt: skip
                    answer = await repo.load_answer(request.fixmedins_code, answer_key(request))
                self.stats.answered += applied.answered
                kind = applied.arrival
            except ReconRefused as refused:
                self.stats.refused += 1
                log.info("recon_refused", code=refused.code, fixmedins_code=request.fixmedins_code)
                await self._send(_aiter([self._ack(record, decoded, request, refused)]))
                return
            status = AckStatus.DUPLICATE if kind is Arrival.RESEND else AckStatus.ACCEPTED
            await self._send(_aiter([self._ack(record, decoded, request, status)]))
            if kind is Arrival.RESEND:
                self.stats.resent += 1
            if answer is None:
                return
            completed_here = answer.completed_by == request.msgid
            if completed_here or kind is Arrival.RESEND:
                summary = completed_here and kind is not Arrival.RESEND
                await self._send(self._answer_outputs(repo, request, answer, summary))

    async def _answer_outputs(
        self,
        repo: ReconRepository,
        request: Request,
        answer: StoredAnswer,
        with_summary: bool,
    ) -> AsyncIterator[Output]:
        code, key = request.fixmedins_code, answer_key(request)
        head = ReconResult.model_validate_json(answer.result_head)
        parts = part_count(answer.row_cnt)
        if answer.row_cnt == 0:
            yield self._output(ack_topic(code), result_part(head, (), 1, 1), "result", key)
        else:
            part_no = 0
            async for rows in repo.answer_rows(code, key, RESULT_ROWS_PER_PART):
                part_no += 1
                part = result_part(head, rows, part_no, parts)
                yield self._output(ack_topic(code), part, "result", key)
            assert part_no == parts, f"stored {answer.row_cnt} rows, read {part_no} parts"
        if with_summary:
            summary = ReconSummary.model_validate_json(answer.summary)
            yield self._output(self.clearing_topic, summary, "summary", key)

    def _output(
        self, topic: str, message: ReconResult | ReconSummary, kind: str, key: str
    ) -> Output:
        part_no = message.part_no if isinstance(message, ReconResult) else 1
        ce_id = _output_id(kind, message.fixmedins_code, key, part_no)
        out_key, value, headers = self.codec.encode(
            message, ce_id=ce_id, sender=SENDER, ce_time=message.answered_at, sign=False
        )
        return Output(topic, out_key, value, headers)

    def _ack(
        self,
        record: InputRecord,
        decoded: Decoded,
        request: Request,
        outcome: AckStatus | ReconRefused,
    ) -> Output:
        env = decoded.envelope
        if isinstance(outcome, ReconRefused):
            status = AckStatus.REJECTED
            error = AckError(
                code=outcome.code, field=fit_optional(outcome.field, MAX_SHORT_TEXT),
                message=fit(outcome.message, MAX_LONG_TEXT),
            )  # fmt: skip
        else:
            status, error = outcome, None
        ack = Ack(
            ack_for=ack_ref(env.ce_id), ack_for_type=fit(env.ce_type, MAX_SHORT_TEXT),
            msgid=request.msgid,
            sender=request.fixmedins_code, status=status, error=error,
            acked_at=dt.datetime.fromisoformat(env.ce_time),
        )  # fmt: skip
        return ack_output(self.codec, ack, offset=record.offset, stage=STAGE, processor=SENDER)

    async def _send(self, outputs: AsyncIterator[Output]) -> None:
        """Publish a stream of outputs, at most ``MAX_IN_FLIGHT`` unacknowledged at a time."""
        pending: list[Output] = []
        async for out in outputs:
            pending.append(out)
            self.stats.outputs += 1
            if len(pending) >= MAX_IN_FLIGHT:
                await self.loop.publish(pending)
                pending = []
        await self.loop.publish(pending)


async def _aiter(outputs: Iterable[Output]) -> AsyncIterator[Output]:
    for out in outputs:
        yield out
