"""Per-service PostgreSQL roles on the real server (services/runtime/db_roles.py): the ledger
inserts settlements but cannot UPDATE or DELETE one; clearing reads them and cannot write
them; recon reads the ledger; every table of the schema has an owner in the grant matrix."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.runtime.db_roles import GRANTS, OWNER_ONLY
from services.runtime.settings import Settings
from services.tools.bench.clearing_close import load
from tests.fresh_db import fresh_database


@pytest.fixture
async def db_url(settings: Settings) -> AsyncIterator[str]:
    async with fresh_database(settings) as url:
        conn = await asyncpg.connect(url)
        try:
            await load(conn, 20)
        finally:
            await conn.close()
        yield url


def _as(url: str, service: str) -> str:
    return Settings(database_url=url).service_database_url(service)  # type: ignore[arg-type]


async def _copy_of_a_settlement(conn: asyncpg.Connection) -> str:
    """INSERT of an existing row under a new ``setl_id`` (every other column unchanged)."""
    cols = [
        r["column_name"]
        for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'settlements' AND is_generated = 'NEVER' "
            "AND column_default IS NULL ORDER BY ordinal_position"
        )
    ]
    values = ", ".join("setl_id || '-copy'" if c == "setl_id" else c for c in cols)
    return (
        f"INSERT INTO settlements ({', '.join(cols)}) "
        f"SELECT {values} FROM settlements ORDER BY setl_id LIMIT 1"
    )


async def test_the_ledger_inserts_but_never_updates_or_deletes(db_url: str) -> None:
    conn = await asyncpg.connect(_as(db_url, "ledger"))
    try:
        assert await conn.fetchval("SELECT current_user") == "yidi_ledger"
        before = await conn.fetchval("SELECT count(*) FROM settlements")
        await conn.execute(await _copy_of_a_settlement(conn))
        assert await conn.fetchval("SELECT count(*) FROM settlements") == before + 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE settlements SET setl_id = setl_id WHERE true")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM settlements WHERE true")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE settlements")
        assert await conn.fetchval("SELECT count(*) FROM settlements") == before + 1
    finally:
        await conn.close()


@pytest.mark.parametrize("service", ["clearing", "recon", "supervision"])
async def test_readers_of_the_ledger_cannot_write_it(db_url: str, service: str) -> None:
    conn = await asyncpg.connect(_as(db_url, service))
    try:
        assert await conn.fetchval("SELECT current_user") == f"yidi_{service}"
        assert await conn.fetchval("SELECT count(*) FROM settlements") == 20
        for sql in (
            await _copy_of_a_settlement(conn),
            "UPDATE settlements SET setl_id = setl_id WHERE true",
            "DELETE FROM settlements WHERE true",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()


async def test_registration_sees_no_ledger_and_clearing_no_filings(db_url: str) -> None:
    for service, table in (("registration", "settlements"), ("clearing", "filings"),
                           ("ledger", "clearing_periods")):  # fmt: skip
        conn = await asyncpg.connect(_as(db_url, service))
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"SELECT count(*) FROM {table}")
        finally:
            await conn.close()


async def test_every_table_is_in_the_grant_matrix(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
    finally:
        await conn.close()
    named = {t for grants in GRANTS.values() for t in grants} | OWNER_ONLY
    assert tables - named == set(), "a new table needs its grants in services/runtime/db_roles.py"
    assert named - tables == set(), "the matrix names a table the schema does not have"
