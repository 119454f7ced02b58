"""The order of batch tails (state writes acknowledged, then commit), without a broker.

The engine starts a batch's tail and goes on with the next batch; these pin what
makes that safe: a tail commits only after the one before it, and never after a
failed one. (tests/integration/events/stream/test_engine.py runs the engine on the broker.)
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalGenerationError,
    KafkaError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)
from aiokafka.structs import ConsumerRecord

from events.stream.config import EngineConfig
from events.stream.engine import StreamEngine
from events.stream.types import InputRecord, Output, Result, StateWrite

TP = TopicPartition("in", 0)


class Commits:
    def __init__(self) -> None:
        self.done: list[int] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await asyncio.sleep(0)
        self.done.append(offsets[TP])


class NoTask:
    def process(self, record: InputRecord) -> Result:
        return Result()

    def flush_state(self) -> list[StateWrite]:
        return []


def _engine(commits: Commits) -> StreamEngine:
    engine = StreamEngine(EngineConfig("unused:9092", "g", ("in",), "log"), lambda p, r: NoTask())
    engine._consumer = commits
    return engine


def _two_batches(
    engine: StreamEngine,
) -> tuple[asyncio.Future[object], asyncio.Future[object], asyncio.Task[None], asyncio.Task[None]]:
    """Two batches' tails, the second started after the first; each waits for a state write
    the test acknowledges (or fails) through the returned futures."""
    loop = asyncio.get_running_loop()
    first: asyncio.Future[object] = loop.create_future()
    second: asyncio.Future[object] = loop.create_future()
    tail1 = asyncio.create_task(engine._finish(None, [first], {TP: 100}))
    tail2 = asyncio.create_task(engine._finish(tail1, [second], {TP: 200}))
    return first, second, tail1, tail2


async def test_tails_commit_in_order_even_when_a_later_write_is_acked_first() -> None:
    commits = Commits()
    first, second, _tail1, tail2 = _two_batches(_engine(commits))
    second.set_result(None)
    await asyncio.sleep(0.01)
    assert commits.done == []  # the second batch's writes are in, the first's are not
    first.set_result(None)
    await tail2
    assert commits.done == [100, 200]


async def test_nothing_commits_after_a_failed_state_write() -> None:
    commits = Commits()
    first, second, tail1, tail2 = _two_batches(_engine(commits))
    second.set_result(None)
    first.set_exception(KafkaError("refused"))
    with pytest.raises(KafkaError):
        await tail2
    assert commits.done == []
    assert tail1.done() and isinstance(tail1.exception(), KafkaError)


class EchoTask(NoTask):
    def process(self, record: InputRecord) -> Result:
        return Result([Output("out", record.key, b"v")], [StateWrite(b"k", b"s")])


class Member:
    """A consumer whose group answers a commit with ``refusal`` (None: accepted)."""

    def __init__(self, refusal: type[KafkaError] | None) -> None:
        self.refusal = refusal
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: list[tuple[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)
        if self.refusal is not None:
            raise CommitFailedError("refused") from self.refusal()

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


class Batch:
    def __init__(self) -> None:
        self.records = 0

    def append(self, **_: object) -> object:
        self.records += 1
        return self


class Sent:
    """A producer that notes the topic of each record it is asked to publish, through
    ``send`` or the batches ``events/stream/batch_send.py`` builds (one partition, known)."""

    def __init__(self) -> None:
        self.topics: list[str] = []
        self.client = self.cluster = self

    async def _wait_on_metadata(self, topic: str) -> set[int]:
        return {0}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}

    available_partitions_for_topic = partitions_for_topic

    def _partitioner(self, key: bytes, every: list[int], available: list[int]) -> int:
        return every[0]

    def create_batch(self) -> Batch:
        return Batch()

    async def send(self, topic: str, **_: object) -> asyncio.Future[None]:
        return await self.send_batch(Batch().append(), topic, partition=0)  # type: ignore[arg-type]

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> asyncio.Future[None]:
        self.topics += [topic] * batch.records
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def _long_after_assignment(
    refusal: type[KafkaError] | None,
) -> tuple[StreamEngine, Member, Sent]:
    """A batch of offsets 40..41 processed long after the group last heard from the member."""
    member, sent = Member(refusal), Sent()
    engine = StreamEngine(EngineConfig("unused:9092", "g", ("in",), "log"), lambda p, r: EchoTask())
    engine._consumer, engine._producer = member, sent  # type: ignore[assignment]
    engine.tasks[0] = EchoTask()
    batch = {TP: [ConsumerRecord("in", 0, o, 0, 0, b"k", b"x", None, 1, 1, ()) for o in (40, 41)]}
    await engine._process_batch(batch)
    await engine._drain_tail()
    return engine, member, sent


@pytest.mark.parametrize("refusal", [UnknownMemberIdError, IllegalGenerationError])
async def test_an_expelled_member_publishes_nothing_and_forgets_its_tasks(
    refusal: type[KafkaError],
) -> None:
    engine, member, sent = await _long_after_assignment(refusal)
    assert sent.topics == []  # neither outputs nor state writes
    assert member.commits == [{TP: 40}]  # the proof asked for, nothing past the batch
    assert engine.tasks == {} and member.seeks == [(TP, 40)]


@pytest.mark.parametrize("refusal", [None, RebalanceInProgressError])
async def test_a_member_the_group_still_counts_publishes_and_commits(
    refusal: type[KafkaError] | None,
) -> None:
    """A rebalance that waits for this member's batch still counts it as the owner."""
    engine, member, sent = await _long_after_assignment(refusal)
    assert sent.topics == ["out", "out", "log", "log"]
    assert member.commits == [{TP: 40}, {TP: 42}]
    assert 0 in engine.tasks
