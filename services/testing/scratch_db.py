"""A throw-away PostgreSQL database with every migration applied.

Why: the ledger, clearing and reconciliation tables are shared state; a test
or a benchmark that closes a clearing month or reconciles a hospital's totals
needs a database holding only its own rows. Sink positions can be seeded at
the current end of the log so the fresh projections start from "now".

Each one is a copy of a template database (``yidi_tpl_<schema key>``) that was migrated
and granted once: ``CREATE DATABASE ... TEMPLATE`` copies its files in ~0.4 s where running
the migrations and the role grants again took ~3 s, and `make test` makes dozens. The key
hashes the migration files and ``db_roles.py``, so a changed migration or grant matrix
builds a new template (and drops the stale ones) instead of copying an old schema.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from aiokafka import TopicPartition

from events.stream import clients
from events.stream.clients import KafkaConnection
from services.runtime import db_roles
from services.runtime.migrations import load_migrations, migrate
from services.runtime.settings import Settings


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


TEMPLATE_PREFIX = "yidi_tpl_"
_TEMPLATE_LOCK = 0x79746D70  # "ytmp": one process builds the template, the others wait


def template_name() -> str:
    """``yidi_tpl_<key>``: the key changes with any migration file or the grant matrix."""
    digest = hashlib.sha256()
    for migration in load_migrations():
        digest.update(f"{migration.version}:{migration.checksum}\n".encode())
    digest.update(Path(db_roles.__file__).read_bytes())
    return TEMPLATE_PREFIX + digest.hexdigest()[:16]


async def _ensure_template(url: str) -> str:
    """The migrated, granted template of this schema, built on first use. It is built under
    another name and renamed when complete, so a copy never sees a half-migrated schema;
    templates of older schemas are dropped."""
    name = template_name()
    admin = await asyncpg.connect(url)
    try:
        await admin.execute("SELECT pg_advisory_lock($1)", _TEMPLATE_LOCK)
        try:
            names = {r["datname"] for r in await admin.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", TEMPLATE_PREFIX + "%"
            )}  # fmt: skip
            if name in names:
                return name
            for stale in names:
                await admin.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
            building = f"{name}_b{uuid.uuid4().hex[:6]}"
            await admin.execute(f'CREATE DATABASE "{building}"')
            conn = await asyncpg.connect(_with_db(url, building))
            try:
                await migrate(conn)
            finally:
                await conn.close()
            await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            return name
        finally:
            await admin.execute("SELECT pg_advisory_unlock($1)", _TEMPLATE_LOCK)
    finally:
        await admin.close()


@asynccontextmanager
async def fresh_database(settings: Settings) -> AsyncIterator[str]:
    """Create ``yidi_t_<hex>`` as a copy of the migrated template, yield its URL, drop it
    afterwards."""
    url = settings.database_url.get_secret_value()
    name = f"yidi_t_{uuid.uuid4().hex[:10]}"
    template = await _ensure_template(url)
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    try:
        yield _with_db(url, name)
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
