"""A throw-away PostgreSQL database with every migration applied.

Why: the ledger, clearing and reconciliation tables are shared state; a test
or a benchmark that closes a clearing month or reconciles a hospital's totals
needs a database holding only its own rows. Sink positions can be seeded at
the current end of the log so the fresh projections start from "now".
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from aiokafka import TopicPartition

from events.stream import clients
from events.stream.clients import KafkaConnection
from services.runtime.migrations import migrate
from services.runtime.settings import Settings


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@asynccontextmanager
async def fresh_database(settings: Settings) -> AsyncIterator[str]:
    """Create ``yidi_t_<hex>``, migrate it, yield its URL, drop it afterwards."""
    url = settings.database_url.get_secret_value()
    name = f"yidi_t_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    fresh = _with_db(url, name)
    conn = await asyncpg.connect(fresh)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    try:
        yield fresh
    finally:
        await _drop(url, name)


async def _drop(url: str, name: str, attempts: int = 20) -> None:
    """Drop the database, its sessions ended. Why the retries: an autovacuum worker (started
    by a bulk load) is not ours to terminate, so FORCE fails until it has finished."""
    admin = await asyncpg.connect(url)
    try:
        for attempt in range(attempts):
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await admin.close()


async def seed_sink_positions_at_end(
    bootstrap: KafkaConnection, database_url: str, group_id: str, topic: str
) -> dict[int, int]:
    """Record the topic's current end offsets as ``group_id``'s sink positions."""

    admin = clients.admin(bootstrap)
    await admin.start()
    try:
        meta = await admin.describe_topics([topic])
        partitions = [p["partition"] for p in meta[0]["partitions"]]
    finally:
        await admin.close()
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    finally:
        await consumer.stop()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO sink_offsets (group_id, topic, partition, next_offset) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (group_id, topic, partition) "
            "DO UPDATE SET next_offset = EXCLUDED.next_offset",
            [(group_id, topic, tp.partition, off) for tp, off in ends.items()],
        )
    finally:
        await conn.close()
    return {tp.partition: off for tp, off in ends.items()}
