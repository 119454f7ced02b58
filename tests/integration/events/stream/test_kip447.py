"""KIP-447 against the real broker (events/stream/kip447.py): the group refuses a member's
transactional offsets once its generation is over (the producer stays usable), and a
partition's stable offsets are read only after the transaction that holds them has ended."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from events.stream.kip447 import GroupMember, MemberFenced, await_stable, group_member, installed
from services.runtime.settings import Settings


async def _joined(consumer: AIOKafkaConsumer, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not consumer.assignment():
        assert time.monotonic() < deadline, "the consumer never joined its group"
        await consumer.getmany(timeout_ms=200)


@pytest.mark.timeout(180)
async def test_stale_generations_are_refused_and_stable_offsets_wait(
    settings: Settings, unique: str
) -> None:
    topic, group = f"it.kip447.{unique}", f"it-kip447-{unique}"
    tp = TopicPartition(topic, 0)
    await apply(settings.kafka(), (Topic(topic, "k", "t", 1),), "test")
    consumer = clients.group_consumer(settings.kafka(), group, client_id="it-kip447")
    consumer.subscribe([topic])
    producer = clients.transactional_producer(
        settings.kafka(), client_id="it-kip447", transactional_id=f"it-kip447-{unique}"
    )
    await consumer.start()
    await producer.start()
    try:
        await _joined(consumer)
        assert installed()
        member = group_member(consumer, group)
        assert member.generation_id >= 1 and member.member_id

        async def commit(offset: int, as_member: GroupMember) -> None:
            await producer.begin_transaction()
            try:
                await producer.send_offsets_to_transaction({tp: offset}, as_member)
            except MemberFenced:
                await producer.abort_transaction()
                raise
            await producer.commit_transaction()

        await commit(1, member)
        # (the commit markers land just after EndTxn answers: read the offset once stable)
        assert await await_stable(consumer, group, [tp], timeout_s=10) == {tp: 1}

        # a generation that is over, a member the group does not know: refused, nothing moves
        later = GroupMember(group, member.generation_id + 1, member.member_id, None)
        ghost = GroupMember(group, member.generation_id, "ghost-member", None)
        for stale, code in ((later, "ILLEGAL_GENERATION"), (ghost, "UNKNOWN_MEMBER_ID")):
            with pytest.raises(MemberFenced, match=code):
                await commit(2, stale)
        assert await await_stable(consumer, group, [tp], timeout_s=10) == {tp: 1}

        # no generation at all is taken unchecked (a commit from outside the group): why a
        # member that lost its generation refuses itself (MemberTransactions.commit)
        await commit(2, GroupMember(group, -1, "", None))
        assert await await_stable(consumer, group, [tp], timeout_s=10) == {tp: 2}

        # the producer is still usable; an open transaction holding the offset holds the reader
        await producer.begin_transaction()
        await producer.send_offsets_to_transaction({tp: 5}, member)
        waiter = asyncio.create_task(await_stable(consumer, group, [tp], timeout_s=30))
        await asyncio.sleep(2)
        assert not waiter.done(), "the stable read did not wait for the open transaction"
        assert await consumer.committed(tp) == 2  # aiokafka's own read does not wait
        await producer.commit_transaction()
        assert await asyncio.wait_for(waiter, 10) == {tp: 5}
    finally:
        await producer.stop()
        await consumer.stop()
        await delete_topics(settings.kafka(), [topic])
