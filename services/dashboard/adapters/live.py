"""LISTEN on ``yidi_settlements`` and fan each landed batch out to the open live pages.

Why LISTEN/NOTIFY: the ledger's commit is the moment a settlement lands; PostgreSQL delivers
the notification to this connection right after that commit, so a browser hears of it in
milliseconds, and the dashboard sends no query per settlement (the trigger, once per batch,
is the only cost on the ledger's side: deploy/migrations/0013_settlements_notify.sql).

One connection for the process; each subscriber (an SSE response) has a bounded queue: a
browser that stops reading loses updates (counted), it never slows the hub or the ledger.
A dropped connection is re-opened with back-off; updates in between are lost, which the
page shows as a gap in a live view, never in money (the pages re-read PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import structlog

from services.dashboard.core.feeds import LiveBatch

CHANNEL = "yidi_settlements"
QUEUE = 256
log = structlog.get_logger("yidi.dashboard.live")


class LiveHub:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._subscribers: set[asyncio.Queue[LiveBatch | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.dropped = 0
        self.received = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dashboard-live")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            batch = LiveBatch.parse(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("live_payload_unreadable", size=len(payload))
            return
        self.received += 1
        for queue in self._subscribers:
            try:
                queue.put_nowait(batch)
            except asyncio.QueueFull:
                self.dropped += 1

    async def _run(self) -> None:
        delay = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.database_url)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, ev=lost: ev.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self._connected.set()
                delay = 0.5
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=10.0)
                    if not lost.is_set():
                        await conn.execute("SELECT 1")  # a silently dead link raises here
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("live_connection_lost", error=type(exc).__name__, retry_s=delay)
            finally:
                self._connected.clear()
                if conn is not None and not conn.is_closed():
                    await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[LiveBatch | None]]:
        queue: asyncio.Queue[LiveBatch | None] = asyncio.Queue(maxsize=QUEUE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def end_streams(self) -> None:
        """Tell every open stream to finish (``None``): at shutdown, so the server need not
        wait for browsers that would keep them open for ever."""
        for queue in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)
