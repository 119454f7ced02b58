"""``yidi supervision from-now`` on the real broker: a new group is committed at the visit
and settlement topics' current ends (its worker judges only what follows); a group that
already has positions is left as it is."""

from __future__ import annotations

import uuid

from aiokafka import TopicPartition

from contracts.settlement import SETTLEMENT_TOPIC
from contracts.visit import VISIT_TOPIC
from events.catalog import PERSON_PARTITIONS
from events.stream import clients
from services.runtime import principals
from services.runtime.settings import Settings
from services.supervision.app import GROUP
from services.supervision.run import start_at_ends

TPS = [TopicPartition(t, p) for t in (VISIT_TOPIC, SETTLEMENT_TOPIC)
       for p in range(PERSON_PARTITIONS)]  # fmt: skip


Positions = dict[TopicPartition, int | None]


async def _committed_and_ends(
    settings: Settings, group: str
) -> tuple[Positions, dict[TopicPartition, int]]:
    consumer = clients.consumer(settings.kafka(principals.SUPERVISION), group_id=group,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        committed = {tp: await consumer.committed(tp) for tp in TPS}
        return committed, dict(await consumer.end_offsets(TPS))
    finally:
        await consumer.stop()


async def test_a_new_group_starts_at_the_ends_and_an_existing_one_is_left(
    settings: Settings,
) -> None:
    group = f"{GROUP}-it-{uuid.uuid4().hex[:8]}"
    bootstrap = settings.kafka(principals.SUPERVISION)
    before, ends = await _committed_and_ends(settings, group)
    assert all(v is None for v in before.values())
    assert await start_at_ends(bootstrap, group) is True
    committed, ends_after = await _committed_and_ends(settings, group)
    # at the ends as they were (or later: other tests may publish meanwhile), never before
    assert all(ends[tp] <= (committed[tp] or 0) <= ends_after[tp] for tp in TPS)
    assert await start_at_ends(bootstrap, group) is False
    again, _ = await _committed_and_ends(settings, group)
    assert again == committed
