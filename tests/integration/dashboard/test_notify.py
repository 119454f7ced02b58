"""The ledger's landing notification (deploy/migrations/0013_settlements_notify.sql) on the
real PostgreSQL: one per landed batch, after commit, exact amounts, no person number, nothing
for a batch of duplicates, and a short form when it would pass NOTIFY's 8000-byte limit
(which would otherwise fail the ledger's commit)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest

from services.ledger.adapters.pg_sink import write_batch
from services.runtime.settings import Settings
from tests.fresh_db import fresh_database
from tests.integration.ledger.test_sink import _row

CHANNEL = "yidi_settlements"


@pytest.fixture
async def db() -> AsyncIterator[str]:
    async with fresh_database(Settings()) as url:
        yield url


async def _heard(url: str, action: object) -> list[str]:
    """Notifications received on the channel while ``action`` (a coroutine) runs."""
    heard: list[str] = []
    listener = await asyncpg.connect(url)
    await listener.add_listener(CHANNEL, lambda _c, _p, _ch, payload: heard.append(payload))
    try:
        await action  # type: ignore[misc]
        await asyncio.sleep(0.3)
    finally:
        await listener.close()
    return heard


def _spread(prefix: str, count: int) -> list[tuple[object, ...]]:
    """Rows between ``count`` different home provinces and treatment provinces."""
    rows = []
    for i in range(count):
        values = list(_row(f"{prefix}{i:04d}", i, fund="600.00"))
        values[9], values[10] = f"{10 + i % 90:02d}0000", f"{10 + (i // 90) % 90:02d}0100"
        rows.append(tuple(values))
    return rows


async def test_one_notification_per_landed_batch_after_commit(db: str) -> None:
    conn = await asyncpg.connect(db)
    try:
        rows = [_row(f"N{i}", i, fund="600.10") for i in range(3)]

        async def land() -> None:
            async with conn.transaction():
                await write_batch(conn, "it-notify", rows, {("yidi.settlement.v1", 3): 3})

        (payload,) = await _heard(db, land())
        doc = orjson.loads(payload)
        assert doc["n"] == 3
        assert doc["pairs"] == [["330000", "310000", 3, "1800.30"]]
        assert sorted(r[0] for r in doc["latest"]) == ["N0", "N1", "N2"]
        assert all(r[4] == "600.10" for r in doc["latest"])
        assert "33090000000001" not in payload  # the rows' psn_no
        assert await _heard(db, land()) == []  # the same batch again lands nothing
    finally:
        await conn.close()


async def test_a_rolled_back_batch_announces_nothing(db: str) -> None:
    conn = await asyncpg.connect(db)
    try:

        async def land_and_fail() -> None:
            with pytest.raises(RuntimeError):
                async with conn.transaction():
                    await write_batch(conn, "it-notify", [_row("R1", 1)], {})
                    raise RuntimeError("the batch fails after the insert")

        assert await _heard(db, land_and_fail()) == []
    finally:
        await conn.close()


async def test_a_payload_too_long_is_sent_short_and_the_batch_lands(db: str) -> None:
    conn = await asyncpg.connect(db)
    try:
        rows = _spread("W", 400)  # about 400 province pairs: far past 8000 bytes in full

        async def land() -> None:
            async with conn.transaction():
                await write_batch(conn, "it-notify", rows, {})

        (payload,) = await _heard(db, land())
        assert orjson.loads(payload) == {"n": 400, "truncated": True}
        assert await conn.fetchval("SELECT count(*) FROM settlements") == 400
    finally:
        await conn.close()
