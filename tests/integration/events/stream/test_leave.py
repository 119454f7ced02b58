"""A static member stopped on purpose leaves its group at once; a crashed one stays until its
session times out; a late leave never removes the successor that took the instance id.
Against the real broker (events/stream/leave.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

import pytest

from events.admin import apply, delete_topics, describe_group
from events.catalog import Topic
from events.stream import clients
from events.stream.batch_loop import Batch, BatchLoop, LoopConfig, Publish
from events.stream.leave import leave_group, static_member_id
from services.runtime.settings import Settings


class Nothing:
    async def land(self, batch: Batch, publish: Publish) -> None:
        return None

    async def resume(self, partitions: Sequence[int]) -> Mapping[int, int]:
        return {}


async def _members(settings: Settings, group: str) -> int:
    admin = clients.admin(settings.kafka(), client_id="it-leave")
    await admin.start()
    try:
        return (await describe_group(admin, group))[1]
    finally:
        await admin.close()


async def _joined(loop: BatchLoop, timeout_s: float = 60) -> str:
    """The member id the broker gave the loop's consumer, once it has partitions."""
    deadline = time.monotonic() + timeout_s
    while True:
        consumer = loop._consumer  # what stop() reads
        member = static_member_id(consumer)
        if consumer is not None and consumer.assignment() and member:
            return member
        assert time.monotonic() < deadline, "the loop never joined its group"
        await asyncio.sleep(0.1)


@pytest.mark.timeout(180)
async def test_a_static_member_stopped_on_purpose_leaves_and_a_late_leave_spares_its_successor(
    settings: Settings, unique: str
) -> None:
    topic, group = f"it.leave.{unique}", f"it-leave-{unique}"
    await apply(settings.kafka(), (Topic(topic, "k", "t", 2),), "test")
    config = LoopConfig(settings.kafka(), topic, group, "it", instance_id=f"it-{unique}")
    try:
        # a stop on purpose: the member is gone when stop() returns (the session is 10 s)
        first = BatchLoop(config, Nothing())
        await first.start()
        await _joined(first)
        assert await _members(settings, group) == 1
        await first.stop()
        assert await _members(settings, group) == 0, "the stopped static member is still in"

        # a crash (the client closed, no leave): the member stays; its successor under the
        # same instance id replaces it at once, and the crashed one's late leave is refused
        crashed = BatchLoop(config, Nothing())
        await crashed.start()
        old_member = await _joined(crashed)
        assert crashed._consumer is not None
        await crashed._consumer.stop()  # what a kill leaves behind
        assert await _members(settings, group) == 1, "a static member stays after a crash"
        successor = BatchLoop(config, Nothing())
        await successor.start()
        new_member = await _joined(successor)
        assert new_member != old_member
        assert await leave_group(config, old_member) == "replaced"
        assert await _members(settings, group) == 1, "the late leave removed the successor"
        await successor.stop()
        assert await _members(settings, group) == 0
        # the member is already gone: a second leave says so and changes nothing
        assert await leave_group(config, new_member) == "gone"
        # a member without an instance id has nothing to do here (aiokafka leaves by itself)
        dynamic = LoopConfig(settings.kafka(), topic, group, "it")
        assert await leave_group(dynamic, new_member) == "dynamic"
    finally:
        await delete_topics(settings.kafka(), [topic])
