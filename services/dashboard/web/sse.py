"""``/events``: server-sent events of landed settlements, filtered per viewer.

Why SSE and not websockets: the flow is one way (server to browser), the browser's
EventSource reconnects by itself, and it is plain HTTP through any proxy. A comment line
every ``HEARTBEAT_S`` keeps idle connections open and notices a browser that left."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiohttp import web

from services.dashboard.core.access import Page
from services.dashboard.core.feeds import live_update
from services.dashboard.web.state import deps, viewer

HEARTBEAT_S = 15.0


async def events(request: web.Request) -> web.StreamResponse:
    who, d = viewer(request), deps(request)
    who.require_page(Page.LIVE)
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    })  # fmt: skip
    await response.prepare(request)
    await response.write(b"retry: 1000\n: connected\n\n")
    async with d.hub.subscribe() as queue:
        with contextlib.suppress(ConnectionResetError):
            while True:
                try:
                    batch = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    await response.write(b": heartbeat\n\n")
                    continue
                if batch is None:  # the server is stopping
                    break
                update = live_update(batch, who, d.names)
                if update is not None:
                    await response.write(b"event: landed\ndata: " + orjson.dumps(update) + b"\n\n")
    return response
