"""The hospital SDK: publish signed visit events, await their acks, read this hospital's acks;
reconcile its books (3201 totals, 3202 details in parts) and await the answers.

A hospital reads only its own ack topic (``yidi.ack.v1.<code>``) in its own
group (``hospital-<code>``): a broker ACL granting READ on exactly those two
resources confines it to its own acks and reconciliation answers (both arrive there), and
WRITE on ``yidi.visit.v1`` and ``yidi.recon.v1`` lets it publish. Publishing uses the idempotent producer, so a retried send never
duplicates a message on the log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import ValidationError

from contracts.ack import Ack
from contracts.codes import AckStatus
from contracts.common import Contract
from contracts.recon import ReconDetailRow, ReconResult, TotalsReconRequested
from events.catalog import ack_topic
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from services.sdk.ack_waiter import AckWaiter
from services.sdk.recon import (
    ROWS_PER_PART,
    AnswerCollector,
    ReconAnswer,
    ReconRejected,
    ReconSlice,
    detail_parts,
)


class AckTimeout(TimeoutError):
    """No ack within the timeout: the message may still be processed; wait or re-send it
    with the same ``ce_id`` (a re-send is recognised and re-acked, never applied twice)."""


class HospitalClient:
    def __init__(self, bootstrap: KafkaConnection, fixmedins_code: str, codec: Codec) -> None:
        self.bootstrap = bootstrap
        self.code = fixmedins_code
        self.codec = codec
        self.waiter: AckWaiter[Ack] = AckWaiter()
        self.answers = AnswerCollector()
        self.unreadable = 0
        """Records on the ack topic that were neither a readable ack nor a readable answer."""
        self._queue: asyncio.Queue[Ack] = asyncio.Queue()
        self._seen_ack_ids: set[str] = set()
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._producer = clients.producer(self.bootstrap, enable_idempotence=True, linger_ms=2)
        self._consumer = clients.consumer(
            self.bootstrap,
            ack_topic(self.code),
            group_id=f"hospital-{self.code}",
            enable_auto_commit=True,
            auto_offset_reset="latest",
            isolation_level="read_committed",
            fetch_max_wait_ms=20,
        )
        await self._producer.start()
        await self._consumer.start()
        while not self._consumer.assignment():
            await self._consumer.getmany(timeout_ms=100)
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    async def publish(
        self,
        message: Contract,
        ce_id: str | None = None,
        ce_time: dt.datetime | None = None,
        topic: str | None = None,
    ) -> str:
        """Sign and send (to ``topic``, by default the message's own); returns the ``ce_id``
        (generated when not given). Waits for the broker."""
        assert self._producer is not None
        ce_id = ce_id or f"{self.code}-{uuid.uuid4().hex}"
        when = ce_time or getattr(message, "inf_time", None) or dt.datetime.now(dt.UTC)
        key, value, headers = self.codec.encode(
            message, ce_id=ce_id, sender=self.code, ce_time=when
        )
        await self._producer.send_and_wait(topic or message.topic, value, key=key, headers=headers)
        return ce_id

    async def await_ack(self, ce_id: str, timeout_s: float = 10.0) -> Ack:
        try:
            return await asyncio.wait_for(asyncio.shield(self.waiter.expect(ce_id)), timeout_s)
        except TimeoutError:
            raise AckTimeout(f"no ack for {ce_id} within {timeout_s}s") from None

    async def send(
        self,
        message: Contract,
        timeout_s: float = 10.0,
        ce_id: str | None = None,
        topic: str | None = None,
    ) -> Ack:
        """Publish and wait for this message's ack."""
        resend = ce_id is not None
        ce_id = ce_id or f"{self.code}-{uuid.uuid4().hex}"
        waiting = self.waiter.expect(ce_id, fresh=resend)
        await self.publish(message, ce_id, topic=topic)
        try:
            return await asyncio.wait_for(waiting, timeout_s)
        except TimeoutError:
            raise AckTimeout(f"no ack for {ce_id} within {timeout_s}s") from None

    async def reconcile_totals(
        self, request: TotalsReconRequested, timeout_s: float = 30.0, topic: str | None = None
    ) -> ReconResult:
        """Send a 3201 and return yidi's answer (``stmt_rslt``, description, ledger totals).
        Raises ``ReconRejected`` when yidi refuses the request."""
        answer = self.answers.expect(f"m:{request.msgid}")
        ack = await self.send(request, timeout_s, topic=topic)
        if ack.status == AckStatus.REJECTED:
            raise ReconRejected(ack)
        return (await self._await_answer(answer, request.msgid, timeout_s)).parts[0]

    async def reconcile_details(
        self,
        scope: ReconSlice,
        rows: Sequence[ReconDetailRow],
        *,
        inf_time: dt.datetime | None = None,
        first_seq: int = 1,
        batch_id: str | None = None,
        rows_per_part: int = ROWS_PER_PART,
        timeout_s: float = 60.0,
        topic: str | None = None,
    ) -> ReconAnswer:
        """Send the hospital's rows as 3202 parts (msgids from ``inf_time`` and ``first_seq``
        up) and return the whole answer: only the unbalanced rows, with verdicts and memos."""
        when = inf_time or dt.datetime.now(dt.UTC)
        parts = detail_parts(
            self.code, scope, rows, inf_time=when, first_seq=first_seq, batch_id=batch_id,
            rows_per_part=rows_per_part,
        )  # fmt: skip
        acks: list[asyncio.Future[Ack]] = []
        answer: asyncio.Future[ReconAnswer] | None = None
        key = ""
        for part in parts:
            if answer is None:
                key = f"b:{part.batch_id}" if part.batch_id else f"m:{part.msgid}"
                answer = self.answers.expect(key)
            ce_id = f"{self.code}-{uuid.uuid4().hex}"
            acks.append(self.waiter.expect(ce_id))
            await self.publish(part, ce_id, topic=topic)
        assert answer is not None
        try:
            for ack in await asyncio.wait_for(asyncio.gather(*acks), timeout_s):
                if ack.status == AckStatus.REJECTED:
                    raise ReconRejected(ack)
        except TimeoutError:
            raise AckTimeout(f"not every part acked within {timeout_s}s") from None
        return await self._await_answer(answer, key, timeout_s)

    async def _await_answer(
        self, answer: asyncio.Future[ReconAnswer], what: str, timeout_s: float
    ) -> ReconAnswer:
        try:
            return await asyncio.wait_for(answer, timeout_s)
        except TimeoutError:
            raise AckTimeout(f"no complete answer for {what} within {timeout_s}s") from None

    async def acks(self) -> AsyncIterator[Ack]:
        """Every distinct ack this hospital receives, in arrival order."""
        while True:
            yield await self._queue.get()

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            for records in batch.values():
                for rec in records:
                    headers = dict(rec.headers or ())
                    ack_id = headers.get("ce_id", b"").decode(errors="replace")
                    if ack_id in self._seen_ack_ids:
                        continue  # the same ack replayed by a restarted processor
                    self._seen_ack_ids.add(ack_id)
                    self._deliver(headers.get("ce_type", b""), rec.value)

    def _deliver(self, ce_type: bytes, value: bytes | None) -> None:
        """Route one record of the ack topic: an ack to its waiter, an answer part to its
        collector; anything unreadable is counted, never allowed to stop the reader."""
        try:
            if ce_type == ReconResult.ce_type.encode():
                self.answers.deliver(ReconResult.model_validate_json(value or b""))
                return
            ack = Ack.model_validate_json(value or b"")
        except ValidationError:
            self.unreadable += 1
            return
        self.waiter.deliver(ack.ack_for, ack)
        self._queue.put_nowait(ack)
