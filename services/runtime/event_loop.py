"""The event loop the long-running yidi processes run on.

Why uvloop: outside its task a stream worker runs the event loop and the TLS transport,
both Python in the standard library: each ``select`` round, each ready callback, and every
read and write through ``asyncio.sslproto`` (a Python state machine copying through memory
BIOs). uvloop (libuv; transports, TLS and the callback queue in C; the loop asyncpg and
faust recommend) runs the same coroutines unchanged: the adjudicator's and the ledger's CPU
per settlement 8-13 % lower at 1,000-3,000 msg/s offered, the same at the maximum
(docs/performance.md, stop 31). ``YIDI_EVENT_LOOP=asyncio`` keeps the standard loop
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
