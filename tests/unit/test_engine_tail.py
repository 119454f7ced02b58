"""The order of batch tails (state writes acknowledged, then commit), without a broker.

The engine starts a batch's tail and goes on with the next batch; these pin what
makes that safe: a tail commits only after the one before it, and never after a
failed one. (tests/integration/test_stream_engine.py runs the engine on the broker.)
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from events.stream.engine import EngineConfig, StreamEngine
from events.stream.types import InputRecord, Result, StateWrite

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
