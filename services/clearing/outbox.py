"""Publishing what clearing transactions decided (transactional outbox).

A message is written in the same transaction as the state change that caused
it and published after the commit; a crash in between re-publishes the same
bytes under the same ``ce_id``, which readers de-duplicate.
"""

from __future__ import annotations

import asyncio

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer


async def publish_pending(pool: asyncpg.Pool, producer: AIOKafkaProducer, limit: int = 1000) -> int:
    """Send every unpublished message in order, then mark them; returns how many were sent."""
    sent = 0
    while True:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT seq, topic, key, value, headers FROM clearing_outbox "
                "WHERE published_at IS NULL ORDER BY seq LIMIT $1",
                limit,
            )
            if not rows:
                return sent
            futures = [
                await producer.send(
                    r["topic"], bytes(r["value"]),
                    key=None if r["key"] is None else bytes(r["key"]),
                    headers=[(k, v.encode("latin-1")) for k, v in orjson.loads(r["headers"])],
                )
                for r in rows
            ]  # fmt: skip
            await asyncio.gather(*futures)
            await conn.execute(
                "UPDATE clearing_outbox SET published_at = now() WHERE seq = ANY($1::bigint[])",
                [r["seq"] for r in rows],
            )
            sent += len(rows)
