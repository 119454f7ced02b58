"""A batch loop whose client stops fetching some of its partitions replaces its consumer and
lands them, against the real broker.

Seen once after a broker's kill -9 and restart (docs/guarantees.md, "Broker faults"): a new
sink read two thirds of its partitions and never fetched the rest, while another sink read
them to the end. Here the first consumer's fetcher is made to skip one partition (what that
client did); the stall watch must see it, the loop must restart its consumer once, and every
record of every partition must land exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from aiokafka import TopicPartition

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import batch_loop, clients, stall_watch
from events.stream.batch_loop import Batch, BatchLoop, LoopConfig, Publish
from services.runtime.settings import Settings

PARTITIONS = 3
PER_PARTITION = 200
SKIPPED = 1


class Counting:
    """Lands offsets per partition; resumes from what it landed (a sink's stored positions)."""

    def __init__(self) -> None:
        self.offsets: dict[int, list[int]] = {p: [] for p in range(PARTITIONS)}

    async def land(self, batch: Batch, publish: Publish) -> None:
        for r in batch.records:
            self.offsets[r.partition].append(r.offset)

    async def resume(self, partitions: Sequence[int]) -> Mapping[int, int]:
        return {p: self.offsets[p][-1] + 1 for p in partitions if self.offsets[p]}


def _skip_partition(consumer: Any, partition: int) -> None:
    """Make this consumer's fetcher never fetch ``partition``: its reads go to a node with a
    request forever in flight (the fetcher sends nothing more to a node in flight)."""
    fetcher = consumer._fetcher
    original = fetcher._select_read_replica
    stuck_node = 999
    fetcher._in_flight.add(stuck_node)

    def read_replica(tp: TopicPartition) -> Any:
        return stuck_node if tp.partition == partition else original(tp)

    fetcher._select_read_replica = read_replica


@pytest.mark.timeout(180)
async def test_a_partition_the_client_stops_fetching_lands_after_a_consumer_restart(
    settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stall_watch, "EVERY_S", 0.5)
    monkeypatch.setattr(stall_watch, "STALL_S", 2.0)
    monkeypatch.setattr(batch_loop, "RESTART_AFTER_S", 4.0)
    topic = f"it.stall.{unique}"
    await apply(settings.kafka(), (Topic(topic, "k", "t", PARTITIONS),), "test")
    try:
        producer = clients.producer(settings.kafka(), enable_idempotence=True)
        await producer.start()
        sent = [
            await producer.send(topic, b"x", partition=p)
            for p in range(PARTITIONS)
            for _ in range(PER_PARTITION)
        ]
        await asyncio.gather(*sent)
        await producer.stop()

        lander = Counting()
        loop = BatchLoop(LoopConfig(settings.kafka(), topic, f"it-stall-{unique}", "it"), lander)
        await loop.start()
        assert loop._consumer is not None
        _skip_partition(loop._consumer, SKIPPED)
        stop = asyncio.Event()
        running = asyncio.create_task(loop.run(stop))
        try:
            async with asyncio.timeout(120):
                while any(len(o) < PER_PARTITION for o in lander.offsets.values()):
                    assert not running.done(), running
                    await asyncio.sleep(0.2)
        finally:
            stop.set()
            await running
            await loop.stop()
    finally:
        await delete_topics(settings.kafka(), [topic])

    assert loop.consumer_restarts == 1, "the stalled consumer was replaced exactly once"
    for p in range(PARTITIONS):
        assert lander.offsets[p] == list(range(PER_PARTITION)), p
