"""The stall watch tells a batch that hangs from a partition the client does not fetch, and
stays quiet for partitions that are idle at their end or moving."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition
from structlog.testing import capture_logs

from events.stream import stall_watch
from events.stream.stall_watch import StallWatch, await_chain

T = "yidi.settlement.v1"


class FakeConsumer:
    """What the watch reads of a consumer: assignment, positions and the log's ends."""

    def __init__(self, positions: dict[int, int], ends: dict[int, int]) -> None:
        self.positions = positions
        self.ends = ends

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(T, p) for p in self.positions}

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp.partition]

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends[tp.partition] for tp in tps}


def _watch(consumer: FakeConsumer, landing: list[Any]) -> StallWatch:
    return StallWatch(consumer, "g", lambda: landing[0])


async def test_a_partition_behind_its_end_that_never_moves_is_reported() -> None:
    consumer = FakeConsumer({0: 10, 1: 5, 2: 7}, {0: 50, 1: 5, 2: 90})
    watch = _watch(consumer, [(None, 0.0)])
    with capture_logs() as logs:
        await watch.sample(100.0)
        consumer.positions[2] = 20  # moving: not stalled
        await watch.sample(100.0 + stall_watch.STALL_S / 2)
        await watch.sample(100.0 + stall_watch.STALL_S)
    stalled = [e for e in logs if e["event"] == "partition_stalled"]
    assert len(stalled) == 1 and watch.stalls == 1
    # partition 1 is at its end (idle), partition 2 moved: only partition 0 is stalled
    assert stalled[0]["partitions"] == {0: [10, 50]}
    assert stalled[0]["seconds"] == stall_watch.STALL_S


async def test_a_moving_partition_is_never_reported() -> None:
    consumer = FakeConsumer({0: 0}, {0: 1_000})
    watch = _watch(consumer, [(None, 0.0)])
    with capture_logs() as logs:
        for step in range(10):
            consumer.positions[0] = step * 10
            await watch.sample(step * stall_watch.STALL_S)
    assert not [e for e in logs if e["event"] == "partition_stalled"]


async def test_a_slow_batch_names_where_it_waits_and_resets_the_fetch_clock() -> None:
    consumer = FakeConsumer({0: 10}, {0: 50})
    gate = asyncio.Event()

    async def write_rows() -> None:
        await gate.wait()

    async def land() -> None:
        await write_rows()

    task = asyncio.create_task(land())
    await asyncio.sleep(0)
    landing: list[Any] = [(task, 0.0)]
    watch = _watch(consumer, landing)
    with capture_logs() as logs:
        await watch.sample(1.0)  # busy, not yet slow
        await watch.sample(stall_watch.SLOW_BATCH_S + 1)
        gate.set()
        await task
        landing[0] = (None, 0.0)
        await watch.sample(stall_watch.SLOW_BATCH_S + 2)  # idle again: the clock starts now
    slow = [e for e in logs if e["event"] == "batch_slow"]
    assert len(slow) == 1 and watch.slow_batches == 1
    assert [f.split(":")[0] for f in slow[0]["waiting_in"]][:2] == ["land", "write_rows"]
    assert not [e for e in logs if e["event"] == "partition_stalled"]


def test_await_chain_of_nothing_is_empty() -> None:
    assert await_chain(None) == []
