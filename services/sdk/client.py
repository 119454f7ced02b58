"""The hospital SDK: publish signed visit events, await their acks, read this hospital's acks.

A hospital reads only its own ack topic (``yidi.ack.v1.<code>``) in its own
group (``hospital-<code>``): a broker ACL granting READ on exactly those two
resources confines it to its own acks, and WRITE on ``yidi.visit.v1`` lets it
publish. Publishing uses the idempotent producer, so a retried send never
duplicates a message on the log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.ack import Ack
from contracts.common import Contract
from events.catalog import ack_topic
from events.codec import Codec
from services.sdk.ack_waiter import AckWaiter


class AckTimeout(TimeoutError):
    """No ack within the timeout: the message may still be processed; wait or re-send it
    with the same ``ce_id`` (a re-send is recognised and re-acked, never applied twice)."""


class HospitalClient:
    def __init__(self, bootstrap: str, fixmedins_code: str, codec: Codec) -> None:
        self.bootstrap = bootstrap
        self.code = fixmedins_code
        self.codec = codec
        self.waiter: AckWaiter[Ack] = AckWaiter()
        self._queue: asyncio.Queue[Ack] = asyncio.Queue()
        self._seen_ack_ids: set[str] = set()
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, enable_idempotence=True, linger_ms=2
        )
        self._consumer = AIOKafkaConsumer(
            ack_topic(self.code),
            bootstrap_servers=self.bootstrap,
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
        self, message: Contract, ce_id: str | None = None, ce_time: dt.datetime | None = None
    ) -> str:
        """Sign and send; returns the ``ce_id`` (generated when not given). Waits for the broker."""
        assert self._producer is not None
        ce_id = ce_id or f"{self.code}-{uuid.uuid4().hex}"
        when = ce_time or getattr(message, "inf_time", None) or dt.datetime.now(dt.UTC)
        key, value, headers = self.codec.encode(
            message, ce_id=ce_id, sender=self.code, ce_time=when
        )
        await self._producer.send_and_wait(message.topic, value, key=key, headers=headers)
        return ce_id

    async def await_ack(self, ce_id: str, timeout_s: float = 10.0) -> Ack:
        try:
            return await asyncio.wait_for(asyncio.shield(self.waiter.expect(ce_id)), timeout_s)
        except TimeoutError:
            raise AckTimeout(f"no ack for {ce_id} within {timeout_s}s") from None

    async def send(
        self, message: Contract, timeout_s: float = 10.0, ce_id: str | None = None
    ) -> Ack:
        """Publish and wait for this message's ack."""
        resend = ce_id is not None
        ce_id = ce_id or f"{self.code}-{uuid.uuid4().hex}"
        waiting = self.waiter.expect(ce_id, fresh=resend)
        await self.publish(message, ce_id)
        try:
            return await asyncio.wait_for(waiting, timeout_s)
        except TimeoutError:
            raise AckTimeout(f"no ack for {ce_id} within {timeout_s}s") from None

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
                    ack_id = dict(rec.headers)["ce_id"].decode()
                    if ack_id in self._seen_ack_ids:
                        continue  # the same ack replayed by a restarted processor
                    self._seen_ack_ids.add(ack_id)
                    ack = Ack.model_validate_json(rec.value)
                    self.waiter.deliver(ack.ack_for, ack)
                    self._queue.put_nowait(ack)
