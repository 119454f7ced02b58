"""The real PostgreSQL through asyncpg: migrations and the sink-offset table."""

from __future__ import annotations

import asyncpg

from services.runtime.migrations import load_migrations, migrate


async def test_migrations_are_recorded_and_idempotent(pg: asyncpg.Connection) -> None:
    await migrate(pg)
    assert await migrate(pg) == []
    rows = await pg.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
    assert [(r["version"], r["checksum"]) for r in rows] == [
        (m.version, m.checksum) for m in load_migrations()
    ]


async def test_sink_offsets_upsert_round_trip(pg: asyncpg.Connection, unique: str) -> None:
    await migrate(pg)
    group = f"it-{unique}"
    upsert = """INSERT INTO sink_offsets (group_id, topic, partition, next_offset)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (group_id, topic, partition)
                DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()"""
    async with pg.transaction():
        await pg.executemany(upsert, [(group, "t", p, 10 * p) for p in range(4)])
    async with pg.transaction():
        await pg.execute(upsert, group, "t", 2, 99)
    rows = await pg.fetch(
        "SELECT partition, next_offset FROM sink_offsets WHERE group_id = $1 ORDER BY partition",
        group,
    )
    assert [(r["partition"], r["next_offset"]) for r in rows] == [(0, 0), (1, 10), (2, 99), (3, 30)]
    await pg.execute("DELETE FROM sink_offsets WHERE group_id = $1", group)


async def test_rolled_back_transaction_leaves_nothing(pg: asyncpg.Connection, unique: str) -> None:
    await migrate(pg)
    group = f"it-rb-{unique}"
    try:
        async with pg.transaction():
            await pg.execute(
                "INSERT INTO sink_offsets (group_id, topic, partition, next_offset)"
                " VALUES ($1, 't', 0, 1)",
                group,
            )
            raise RuntimeError("crash inside the batch")
    except RuntimeError:
        pass
    assert await pg.fetchval("SELECT count(*) FROM sink_offsets WHERE group_id = $1", group) == 0
