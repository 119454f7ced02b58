"""The raw baseline: produce the same messages and consume them back, no processing.

Whatever the pipeline achieves is reported as a ratio of this number measured
in the same run, on the same broker, so a slow machine or a busy broker shows
up in both. The clients are the engine's own (``events/stream/clients.py``), not
aiokafka's defaults (16 KB batches, which halved the rate: issue 21).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.stream.config import EngineConfig

MAX_BATCH = EngineConfig.__dataclass_fields__["max_batch"].default
"""The engine's records per ``getmany``."""


@dataclass(frozen=True, slots=True)
class RawResult:
    messages: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


async def produce_consume(
    bootstrap: KafkaConnection,
    messages: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]]]],
    topic: str,
    partitions: int = 12,
) -> RawResult:
    """Time from the first send until the consumer has read every message back."""
    await apply(
        bootstrap,
        (Topic(topic, "bench", "raw baseline", partitions, retention_ms=3_600_000),),
        "test",
    )
    # the engine's own clients: its idempotent producer (512 KB batches, no linger: the
    # engine queues a whole batch before it awaits) and a processor's group consumer
    # (read_committed, 8 MB per partition fetch, 20 ms fetch wait), read in its batches
    consumer = clients.group_consumer(bootstrap, f"{topic}-group", client_id="yidi-bench-raw")
    consumer.subscribe([topic])
    producer = clients.idempotent_producer(bootstrap, client_id="yidi-bench-raw", linger_ms=0)
    await consumer.start()
    await producer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        started = time.perf_counter()

        async def send_all() -> None:
            futures = [await producer.send(topic, v, key=k, headers=h) for k, v, h in messages]
            await asyncio.gather(*futures)

        sender = asyncio.create_task(send_all())
        seen = 0
        while seen < len(messages):
            batch = await consumer.getmany(timeout_ms=50, max_records=MAX_BATCH)
            seen += sum(len(r) for r in batch.values())
        elapsed = time.perf_counter() - started
        await sender
        return RawResult(len(messages), elapsed)
    finally:
        await producer.stop()
        await consumer.stop()
        await delete_topics(bootstrap, [topic])
