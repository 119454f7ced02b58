"""Integration fixtures: the real broker and the real PostgreSQL from settings.

No skipping: when the broker or database does not answer, these tests fail
(run `make up` first; `make test` does it for you).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.runtime.db import connect
from services.runtime.settings import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture
async def pg(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(settings, timeout_s=10)
    try:
        yield conn
    finally:
        await conn.close()
