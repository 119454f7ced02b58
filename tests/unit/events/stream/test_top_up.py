"""The batch top-up (events/stream/top_up.py): what a second ask adds to a taken batch."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from events.stream.top_up import top_up

A, B = TopicPartition("in", 0), TopicPartition("in", 1)


def rec(tp: TopicPartition, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, None, b"v", None, 1, 1, ())


class Consumer:
    def __init__(self, answer: dict[TopicPartition, list[Any]]) -> None:
        self.answer = answer
        self.asked: list[tuple[int, int]] = []

    async def getmany(
        self, *, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[Any]]:
        self.asked.append((timeout_ms, max_records))
        return self.answer


def offsets(batch: dict[TopicPartition, list[Any]]) -> dict[int, list[int]]:
    return {tp.partition: [r.offset for r in records] for tp, records in batch.items()}


async def test_appends_in_order_and_adds_partitions() -> None:
    consumer = Consumer({A: [rec(A, 3), rec(A, 4)], B: [rec(B, 9)]})
    batch = await top_up(consumer, {A: [rec(A, 1), rec(A, 2)]}, 5, 100)  # type: ignore[arg-type]
    assert offsets(batch) == {0: [1, 2, 3, 4], 1: [9]}
    assert consumer.asked == [(5, 98)]  # the room left under the batch's limit


async def test_drops_what_is_not_past_the_batch() -> None:
    """A rebalance between the two asks reset the position: records already in hand again."""
    consumer = Consumer({A: [rec(A, 1), rec(A, 2), rec(A, 3)]})
    batch = await top_up(consumer, {A: [rec(A, 1), rec(A, 2)]}, 5, 100)  # type: ignore[arg-type]
    assert offsets(batch) == {0: [1, 2, 3]}


async def test_does_not_ask_for_an_empty_or_full_batch_or_at_zero() -> None:
    consumer = Consumer({A: [rec(A, 5)]})
    assert await top_up(consumer, {}, 5, 100) == {}  # type: ignore[arg-type]
    full = {A: [rec(A, 1), rec(A, 2)]}
    assert offsets(await top_up(consumer, full, 5, 2)) == {0: [1, 2]}  # type: ignore[arg-type]
    assert offsets(await top_up(consumer, {A: [rec(A, 1)]}, 0, 100)) == {0: [1]}  # type: ignore[arg-type]
    assert consumer.asked == []
