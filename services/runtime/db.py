"""asyncpg connections built from settings, at start-up only (never at import)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from services.runtime.failures import postgres_verdict
from services.runtime.settings import Settings

T = TypeVar("T")
log = structlog.get_logger("yidi.db")

OUTAGE_S = 300.0
"""How long a worker waits out PostgreSQL being away (restart, failover) before it gives up and
exits: long enough for a restart or a replica's promotion, short enough that a database gone for
good stops the worker (and its supervisor says so) instead of it retrying for ever."""

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


def _database_away(exc: BaseException) -> bool:
    """The server is down or unreachable, or refused for a reason of its own (not the data):
    a refused connection, a dropped one, a shutdown in progress, a timeout."""
    if isinstance(exc, (OSError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, asyncpg.InternalClientError):
        return True  # a connection the server dropped mid-protocol ("cannot switch to state")
    return postgres_verdict(exc) is True


def _log_wait(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    log.warning(
        "database_unavailable_backing_off",
        attempt=state.attempt_number,
        error=type(exc).__name__,
        waited_s=round(state.seconds_since_start or 0.0, 1),
    )


async def through_outage(op: Callable[[], Awaitable[T]], outage_s: float = OUTAGE_S) -> T:
    """``op()``, run again (exponential back-off up to 5 s) while PostgreSQL is away, for at
    most ``outage_s``; then the last error is raised and the worker stops. ``op`` must be safe
    to repeat: one database transaction (rolled back when the server went away) and nothing
    that another attempt would do twice."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_database_away),
        stop=stop_after_delay(outage_s),
        wait=wait_exponential(multiplier=0.2, max=5.0),
        before_sleep=_log_wait,
        reraise=True,
    ):
        with attempt:
            return await op()
    raise AssertionError("unreachable")
