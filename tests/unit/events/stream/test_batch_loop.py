"""The stream layer's group loop and positions port, without a broker: a fetched batch of the
partitions still owned reaches the lander with each partition's next offset, the group's
offsets are committed only after the lander returns, and a newly assigned partition resumes
where the lander's positions say (or at the log's beginning)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from events.stream import batch_loop
from events.stream.batch_loop import (
    Batch,
    BatchLoop,
    LoopConfig,
    PositionAheadOfLog,
    Publish,
    ResumeFailed,
)
from events.stream.positions import MemoryPositions
from events.stream.types import Output

TOPIC = "t"


def _record(partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TOPIC, partition, offset, 0, 0, b"k", b"v%d" % offset, None, 1, 2, ())


class FakeConsumer:
    def __init__(self, owned: set[TopicPartition]) -> None:
        self.owned = owned
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: dict[TopicPartition, int] = {}

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: 7 for tp in tps}

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.end for tp in tps}

    end = 1_000

    async def getmany(
        self, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[object]]:
        return {}


class RecordingLander:
    def __init__(self, positions: MemoryPositions, fail: bool = False) -> None:
        self.positions = positions
        self.fail = fail
        self.batches: list[Batch] = []
        self.published: list[Output] = []

    async def land(self, batch: Batch, publish: Publish) -> None:
        if self.fail:
            raise ConnectionError("database gone")
        self.batches.append(batch)
        await self.positions.record("g", batch.next_offsets)

    async def resume(self, partitions: Sequence[int]) -> Mapping[int, int]:
        return await self.positions.stored("g", TOPIC, partitions)


def _loop(lander: RecordingLander, owned: set[TopicPartition]) -> tuple[BatchLoop, FakeConsumer]:
    loop = BatchLoop(LoopConfig("127.0.0.1:1", TOPIC, "g", "test"), lander)
    consumer = FakeConsumer(owned)
    loop._consumer = consumer  # type: ignore[assignment]
    return loop, consumer


async def test_a_batch_of_owned_partitions_lands_then_commits() -> None:
    positions = MemoryPositions()
    lander = RecordingLander(positions)
    p0, p1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    loop, consumer = _loop(lander, {p0})
    await loop._land({p0: [_record(0, 3), _record(0, 4)], p1: [_record(1, 9)]})
    [batch] = lander.batches
    assert [(r.partition, r.offset) for r in batch.records] == [(0, 3), (0, 4)]
    assert batch.next_offsets == {(TOPIC, 0): 5}
    assert consumer.commits == [{p0: 5}]
    assert await positions.stored("g", TOPIC) == {0: 5}


async def test_a_failed_landing_commits_nothing() -> None:
    lander = RecordingLander(MemoryPositions(), fail=True)
    p0 = TopicPartition(TOPIC, 0)
    loop, consumer = _loop(lander, {p0})
    with pytest.raises(ConnectionError):
        await loop._land({p0: [_record(0, 3)]})
    assert consumer.commits == []


async def test_assigned_partitions_resume_at_stored_positions_or_the_beginning() -> None:
    positions = MemoryPositions()
    await positions.record("g", {(TOPIC, 0): 40})
    await positions.record("g", {(TOPIC, 0): 30})  # positions never move back
    loop, consumer = _loop(RecordingLander(positions), set())
    p0, p1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    await loop._assigned([p0, p1])
    assert consumer.seeks == {p0: 40, p1: 7}
    await positions.forget("g", TOPIC)
    assert await positions.stored("g", TOPIC) == {}


async def test_a_stored_position_past_the_logs_end_stops_the_loop_with_its_code() -> None:
    """A database that outlived its topic (the log recreated, or another cluster's): waiting
    would land nothing, silently; the loop stops with a typed error instead, and lands nothing."""
    positions = MemoryPositions()
    await positions.record("g", {(TOPIC, 0): 1_500, (TOPIC, 1): 20})
    lander = RecordingLander(positions)
    loop, consumer = _loop(lander, set())
    p0, p1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    await loop._assigned([p0, p1])
    assert consumer.seeks == {}, "no partition resumes when one of them cannot"
    with pytest.raises(PositionAheadOfLog) as raised:
        await loop.run(asyncio.Event())
    assert raised.value.code == "E_POSITION_AHEAD"
    assert "{0: (1500, 1000)}" in str(raised.value)
    assert lander.batches == []


class _HangingCommit(FakeConsumer):
    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await asyncio.Event().wait()  # a group coordinator that moved and does not answer


class _NoEnds(FakeConsumer):
    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        raise TimeoutError("no leader answered")


async def _stored_at_40(
    consumer: type[FakeConsumer],
) -> tuple[BatchLoop, RecordingLander, TopicPartition]:
    """A loop over ``consumer`` owning partition 0, whose lander stored position 40."""
    positions = MemoryPositions()
    await positions.record("g", {(TOPIC, 0): 40})
    lander = RecordingLander(positions)
    p0 = TopicPartition(TOPIC, 0)
    loop = BatchLoop(LoopConfig("127.0.0.1:1", TOPIC, "g", "test"), lander)
    loop._consumer = consumer({p0})  # type: ignore[assignment]
    return loop, lander, p0


async def test_a_hung_resume_commit_does_not_hold_the_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The commit of the stored positions is for lag tooling: a coordinator that does not
    answer (it moved with a restarted broker) must not keep the partitions from landing."""
    monkeypatch.setattr(batch_loop, "RESUME_COMMIT_TIMEOUT_S", 0.05)
    loop, lander, p0 = await _stored_at_40(_HangingCommit)
    await asyncio.wait_for(loop._assigned([p0]), 5)
    assert loop._consumer.seeks == {p0: 40}  # type: ignore[attr-defined]
    loop._consumer.commit = FakeConsumer.commit.__get__(loop._consumer)  # type: ignore[method-assign]
    await loop._land({p0: [_record(0, 40)]})
    assert [r.offset for b in lander.batches for r in b.records] == [40]


async def test_partitions_that_cannot_be_positioned_stop_the_loop_and_never_land() -> None:
    """Until a partition sits at its stored position nothing of it may land (the client
    would read from its own reset, the log's beginning); the loop stops with a typed error
    instead of waiting or landing from there."""
    loop, lander, p0 = await _stored_at_40(_NoEnds)
    await loop._assigned([p0])
    await loop._land({p0: [_record(0, 0), _record(0, 1)]})
    assert lander.batches == [], "landed from the reset position"
    with pytest.raises(ResumeFailed) as raised:
        await loop.run(asyncio.Event())
    assert raised.value.code == "E_RESUME_FAILED"


async def test_records_fetched_after_the_seek_land_while_the_resume_commit_waits() -> None:
    """The broker-fault reference pass's stall: a partition is sought to its stored position,
    then the (slow) commit of the stored positions waits on a coordinator; a batch fetched
    from the sought position meanwhile must land. Skipped as "still resuming", the client's
    position would already be past it, and the partition would never be read again."""
    loop, lander, p0 = await _stored_at_40(_HangingCommit)
    resuming = asyncio.create_task(loop._assigned([p0]))
    for _ in range(100):  # until it waits in the commit, after the seek
        await asyncio.sleep(0)
    assert loop._consumer.seeks == {p0: 40}  # type: ignore[attr-defined]
    assert not resuming.done(), "the commit is still waiting"
    loop._consumer.commit = FakeConsumer.commit.__get__(loop._consumer)  # type: ignore[method-assign]
    await loop._land({p0: [_record(0, 40), _record(0, 41)]})
    resuming.cancel()
    assert [r.offset for b in lander.batches for r in b.records] == [40, 41]
