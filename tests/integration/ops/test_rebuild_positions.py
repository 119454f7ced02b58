"""A rebuild of a range leaves every partition of its plan positioned at the range's end,
also a partition the range left empty: the live sink would otherwise read that partition
from the log's beginning and land, in a database seeded at a known position, everything
older (the replay e2e's hash moved once in CI when its restarted ledger did)."""

from __future__ import annotations

import time
from pathlib import Path

import asyncpg
import pytest
from aiokafka import TopicPartition

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from services.entry.bootstrap import build_runtime
from services.ops.core.replay import RangeRequest
from services.ops.replay import rebuild
from services.runtime.positions import stored_positions
from services.runtime.settings import Settings
from tests.fresh_db import fresh_database
from tests.settlement_feed import settlement_feed

HOUR_MS = 3_600_000


@pytest.mark.parametrize("trusted", [False, True], ids=["validating", "trusted"])
async def test_a_range_rebuild_positions_the_partitions_it_left_empty(
    settings: Settings, unique: str, tmp_path: Path, trusted: bool
) -> None:
    codec = build_runtime(settings).codec
    feed = settlement_feed(codec, tmp_path, 60, 5, f"rp-{unique}")
    old, new = feed[: len(feed) // 2], feed[len(feed) // 2 :]
    assert len(old) >= 6 and new
    topic = f"it.settlement.{unique}"
    await apply(settings.kafka(), (Topic(topic, "person", "test", 3),), "test")
    now_ms = int(time.time() * 1000)
    producer = clients.producer(settings.kafka(), acks="all")
    await producer.start()
    try:  # an hour ago: records on every partition; since then: on partition 0 only
        for i, (k, v, h) in enumerate(old):
            await producer.send(topic, v, key=k, headers=h, partition=i % 3,
                                timestamp_ms=now_ms - HOUR_MS)  # fmt: skip
        for k, v, h in new:
            await producer.send(topic, v, key=k, headers=h, partition=0, timestamp_ms=now_ms)
        await producer.flush()
    finally:
        await producer.stop()

    consumer = clients.consumer(settings.kafka(), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        ends = {tp.partition: o for tp, o in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()
    assert ends[1] > 0 and ends[2] > 0, "partitions 1 and 2 hold older records"

    try:
        async with fresh_database(settings) as db:
            report = await rebuild(
                settings.kafka(), db, codec, "ledger", f"-{unique}", trusted=trusted,
                source_topic=topic, request=RangeRequest(since_ms=now_ms - HOUR_MS // 2),
            )  # fmt: skip
            assert report.records == len(new), report.as_dict()
            conn = await asyncpg.connect(db)
            try:
                stored = await stored_positions(conn, f"yidi-ledger-{unique}", topic)
            finally:
                await conn.close()
    finally:
        await delete_topics(settings.kafka(), [topic])
    assert stored == ends, "every partition of the range at its end, the empty ones too"
