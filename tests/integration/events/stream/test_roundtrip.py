"""Produce to and consume from the real broker the way the workers do."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, TopicPartition

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from services.runtime.settings import Settings


async def _make_topic(settings: Settings, name: str, partitions: int = 3) -> None:
    await apply(settings.kafka(), (Topic(name, "k", "test", partitions),), "test")


async def _drain(consumer: AIOKafkaConsumer, want: int, timeout_s: float = 30) -> list:
    got: list = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(got) < want and asyncio.get_running_loop().time() < deadline:
        batch = await consumer.getmany(timeout_ms=500, max_records=1000)
        for records in batch.values():
            got.extend(records)
    return got


async def test_idempotent_produce_manual_commit_resume(settings: Settings, unique: str) -> None:
    topic, group = f"it.roundtrip.{unique}", f"it-group-{unique}"
    await _make_topic(settings, topic)
    producer = clients.producer(settings.kafka(), enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, key=f"p{i % 7}".encode(), value=str(i).encode())
            for i in range(300)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()

    consumer = clients.consumer(
        settings.kafka(),
        topic,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        first = await _drain(consumer, 200, timeout_s=30)
        first = first[:200]
        # Commit exactly past the records we "processed": per partition, last offset + 1.
        positions: dict[TopicPartition, int] = {}
        for rec in first:
            positions[TopicPartition(rec.topic, rec.partition)] = rec.offset + 1
        await consumer.commit(positions)
    finally:
        await consumer.stop()

    consumer = clients.consumer(
        settings.kafka(),
        topic,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        rest = await _drain(consumer, 300, timeout_s=8)
    finally:
        await consumer.stop()
        await delete_topics(settings.kafka(), [topic])

    seen = {(r.partition, r.offset) for r in first}
    resumed = {(r.partition, r.offset) for r in rest}
    assert not seen & resumed, "a committed record was delivered again"
    values = sorted(int(r.value) for r in [*first, *rest])
    assert values == list(range(300)), "records lost or duplicated across the restart"
    by_key: dict[bytes, list[int]] = defaultdict(list)
    for r in sorted([*first, *rest], key=lambda r: (r.partition, r.offset)):
        by_key[r.key].append(int(r.value))
    assert all(v == sorted(v) for v in by_key.values()), "per-key order broken"


async def test_read_committed_hides_aborted_transactions(settings: Settings, unique: str) -> None:
    topic = f"it.txn.{unique}"
    await _make_topic(settings, topic, partitions=1)
    producer = clients.producer(settings.kafka(), transactional_id=f"it-txn-{unique}")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-1")
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-2")
    finally:
        await producer.stop()

    async def read(isolation: str) -> list[bytes]:
        consumer = clients.consumer(
            settings.kafka(),
            topic,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            isolation_level=isolation,
        )
        await consumer.start()
        try:
            return [r.value for r in await _drain(consumer, 3, timeout_s=6)]
        finally:
            await consumer.stop()

    try:
        assert await read("read_committed") == [b"committed-1", b"committed-2"]
        assert b"aborted" in await read("read_uncommitted")
    finally:
        await delete_topics(settings.kafka(), [topic])
