"""The commit lanes without a broker: what makes committing behind the batch loop safe.

A partition's transactions run one at a time and in processing order; what the loop
processed while one was in flight joins the next (offsets to the later end, starts kept,
the later value per state key); a failed transaction drops everything queued after it and
keeps the share it failed on (where the engine rewinds to); a backlog is bounded.
(tests/integration/events/stream/test_transactions.py runs the engine on the broker.)
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError, ProducerFenced

from events.stream.transactions import PartitionBatch
from events.stream.txn_lanes import CommitLanes, Failures, rewind
from events.stream.types import InputRecord, Output, Result, StateWrite

TP = TopicPartition("in", 0)


class NoTask:
    def process(self, record: InputRecord) -> Result:
        return Result()

    def flush_state(self) -> list[StateWrite]:
        return []


def share(first: int, last: int, key: bytes = b"k") -> PartitionBatch:
    """Records ``first..last`` of partition 0: one output each, one state write."""
    part = PartitionBatch(NoTask())
    part.outputs = [Output("out", str(o).encode(), str(o).encode()) for o in range(first, last + 1)]
    part.writes = [StateWrite(key, str(last).encode())]
    part.offsets[TP] = last + 1
    part.starts[TP] = first
    part.records[TP] = list(range(first, last + 1))
    return part


class Transactions:
    """``PartitionProducers.commit``: each call waits until the test releases it."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, PartitionBatch]] = []
        self.release: asyncio.Queue[BaseException | None] = asyncio.Queue()
        self.in_flight = 0
        self.most_in_flight = 0

    async def commit(self, partition: int, part: PartitionBatch) -> None:
        self.calls.append((partition, part))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            error = await self.release.get()
        finally:
            self.in_flight -= 1
        if error is not None:
            raise error


def setup() -> tuple[Transactions, list[PartitionBatch], CommitLanes]:
    txn, committed = Transactions(), list[PartitionBatch]()
    return txn, committed, CommitLanes(txn, committed.append)  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_shares_processed_during_a_transaction_join_the_next_one() -> None:
    txn, committed, lane = setup()
    lane.add(0, share(0, 9, b"a"))
    await settle()
    lane.add(0, share(10, 19, b"a"))
    lane.add(0, share(20, 24, b"b"))
    await settle()
    assert [p.offsets[TP] for _, p in txn.calls] == [10], "one transaction in flight per lane"
    await txn.release.put(None)
    await settle()
    assert [(p.starts[TP], p.offsets[TP]) for _, p in txn.calls] == [(0, 10), (10, 25)]
    merged = txn.calls[1][1]
    assert [o.key for o in merged.outputs] == [str(o).encode() for o in range(10, 25)]
    assert {w.key: w.value for w in merged.writes} == {b"a": b"19", b"b": b"24"}
    assert len(merged.writes) == 2, "a key written by both shares is written once, later value"
    assert merged.records[TP] == list(range(10, 25))
    await txn.release.put(None)
    await lane.idle()
    assert [p.offsets[TP] for p in committed] == [10, 25]
    assert txn.most_in_flight == 1
    assert lane.take_failures() == Failures()


async def test_partitions_commit_independently() -> None:
    txn, _committed, lane = setup()
    lane.add(0, share(0, 4))
    lane.add(1, share(0, 4))
    await settle()
    assert sorted(p for p, _ in txn.calls) == [0, 1]
    assert txn.most_in_flight == 2


@pytest.mark.parametrize("error", [ProducerFenced(), KafkaError("batch delivery")])
async def test_a_failed_transaction_drops_what_was_queued_after_it(error: KafkaError) -> None:
    txn, committed, lane = setup()
    lane.add(0, share(0, 9))
    await settle()
    lane.add(0, share(10, 19))
    await txn.release.put(error)
    await lane.idle()
    lane.add(0, share(20, 29))  # processed before the engine settled: from a stale state
    await settle()
    assert len(txn.calls) == 1 and committed == [], "nothing after a failure is committed"
    out = lane.take_failures()
    assert out.parts[0].starts[TP] == 0, "rewinds to the failed share, not a later one"
    assert (out.fenced, out.failed) == (
        ({0}, set()) if isinstance(error, ProducerFenced) else (set(), {0})
    )
    assert lane.take_failures() == Failures(), "settled once"
    lane.add(0, share(0, 9))  # the partition starts again on a fresh lane
    await settle()
    assert len(txn.calls) == 2


async def test_an_error_no_new_producer_can_mend_is_raised() -> None:
    txn, _committed, lane = setup()
    lane.add(0, share(0, 9))
    await settle()
    await txn.release.put(KeyError("a bug"))
    await lane.idle()
    with pytest.raises(KeyError):
        lane.take_failures()


async def test_a_backlog_waits_until_the_transaction_in_flight_takes_it() -> None:
    txn, _committed, lane = setup()
    lane.add(0, share(0, 9))
    await settle()
    lane.add(0, share(10, 29))  # 20 records waiting
    waiting = asyncio.create_task(lane.room(0, 20))
    await settle()
    assert not waiting.done()
    await lane.room(1, 20)  # another partition is not held up
    await lane.room(0, 21)  # under the limit: no wait
    await txn.release.put(None)
    await settle()
    assert waiting.done()


async def test_a_backlog_wait_ends_when_the_lane_fails() -> None:
    txn, _committed, lane = setup()
    lane.add(0, share(0, 9))
    await settle()
    lane.add(0, share(10, 29))
    waiting = asyncio.create_task(lane.room(0, 20))
    await settle()
    await txn.release.put(KafkaError("lost"))
    await asyncio.wait_for(waiting, 1)


async def test_revoked_lanes_are_dropped_but_a_failure_is_kept_to_settle() -> None:
    txn, committed, lane = setup()
    lane.add(0, share(0, 9))
    lane.add(1, share(0, 9))
    await settle()
    await txn.release.put(ProducerFenced())
    await txn.release.put(None)
    await lane.idle([0, 1])
    assert [p for p, _ in txn.calls] == [0, 1] and len(committed) == 1  # 0 fenced, 1 committed
    lane.drop([0, 1], keep_failed=True)
    assert lane.take_failures().fenced == {0}, "a revoked partition's fencing is still counted"
    assert lane.take_failures() == Failures()
    lane.add(1, share(10, 19))  # partition 1's lane was dropped: a fresh one commits
    await settle()
    assert [p for p, _ in txn.calls] == [0, 1, 1]


async def test_cancel_all_abandons_transactions_in_flight() -> None:
    txn, committed, lane = setup()
    lane.add(0, share(0, 9))
    await settle()
    await lane.cancel_all()
    assert txn.in_flight == 0 and committed == []
    await lane.idle()


class Consumer:
    def __init__(self) -> None:
        self.seeks: dict[TopicPartition, int] = {}

    async def committed(self, tp: TopicPartition) -> int:
        return 7

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset


async def test_rewind_fenced_to_the_groups_offsets_failed_to_the_share() -> None:
    consumer = Consumer()
    tp1 = TopicPartition("in", 1)
    fenced_part, failed_part = share(10, 19), share(30, 39)
    failed_part.starts = {tp1: 30}
    out = Failures(fenced={0}, failed={1}, parts={0: fenced_part, 1: failed_part})
    await rewind(consumer, out)
    assert consumer.seeks == {TP: 7, tp1: 30}
