"""The event loop the long-running yidi processes run on.

Why uvloop: a stream worker's CPU outside its task is mostly the event loop and the TLS
transport, both Python in the standard library: each ``select`` round, each ready callback,
and every read and write through ``asyncio.sslproto`` (a Python state machine copying
through memory BIOs). py-spy on the adjudicator at the pipeline's maximum (stop 31): the
selector, the SSL protocol's writes and the socket transport ~15 % of its samples. uvloop
(libuv; transports, TLS and the callback queue in C, the loop faust and asyncpg recommend)
runs the same coroutines unchanged. ``YIDI_EVENT_LOOP=asyncio`` keeps the standard loop
(to compare, or where uvloop is not available). Both are tested against the broker: the
in-process integration tests (pytest-asyncio) run the engine on the standard loop, the e2e
tests' worker processes on uvloop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Kind = Literal["uvloop", "asyncio"]


def loop_factory(kind: Kind) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What ``asyncio.Runner`` builds its loop with; ``None``: the standard library's."""
    if kind == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], kind: Kind) -> T:
    """``asyncio.run(main)`` on the loop ``kind`` names."""
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(main)
