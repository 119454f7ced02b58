"""asyncpg connections built from settings, at start-up only (never at import)."""

from __future__ import annotations

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from services.runtime.settings import Settings

_TRANSIENT = (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)


async def connect(settings: Settings, timeout_s: float = 30.0) -> asyncpg.Connection:
    """One connection, retried while the server is still starting."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(_TRANSIENT),
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=0.1, max=2.0),
        reraise=True,
    ):
        with attempt:
            return await asyncpg.connect(settings.database_url.get_secret_value())
    raise AssertionError("unreachable")


async def create_pool(settings: Settings, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool for a worker; sized small: one writer transaction per batch is the design."""
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), min_size=min_size, max_size=max_size
    )
    assert pool is not None
    return pool
