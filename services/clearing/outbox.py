"""Publishing what clearing transactions decided (transactional outbox).

A message is written in the same transaction as the state change that caused it
(``ports.Outbox``) and published after the commit; a crash in between re-publishes the
same bytes under the same ``ce_id``, which readers de-duplicate.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

from services.clearing.ports import OutboxReader


async def publish_pending(
    outbox: OutboxReader, producer: AIOKafkaProducer, limit: int = 1000
) -> int:
    """Send every unpublished message in order, then mark them; returns how many were sent."""
    sent = 0
    while True:
        pending = await outbox.pending(limit)
        if not pending:
            return sent
        futures = [
            await producer.send(
                p.message.topic, p.message.value, key=p.message.key, headers=list(p.message.headers)
            )
            for p in pending
        ]
        await asyncio.gather(*futures)
        await outbox.mark_published([p.seq for p in pending])
        sent += len(pending)
