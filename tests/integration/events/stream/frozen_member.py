"""A member frozen past its session timeout while another takes its partitions over.

Shared by the stall test (tests/integration/events/stream/test_engine.py) and the zombie test
(test_transactions.py): the frozen member runs its own event loop in a thread (its freeze
blocks that loop, as a stalled or SIGSTOPped process would), the other runs here.
"""

from __future__ import annotations

import asyncio
import threading
import time

from events.stream.engine import StreamEngine

FROZEN_SESSION_MS = 6_000
"""The members' session timeout in these tests: the broker's minimum
(``group.min.session.timeout.ms``), not the workers' 10 s, so a freeze past it costs less."""
FREEZE_S = 10.0
"""How long a member freezes (or restores): past the session timeout, with a heartbeat's margin."""


async def run_beside_a_frozen_member(
    frozen: StreamEngine,
    other: StreamEngine,
    freezes: threading.Event,
    freeze_s: float,
    records: int,
    grace_s: float,
) -> None:
    """Run ``frozen`` until it signals ``freezes`` (it then blocks for ``freeze_s``), start
    ``other``, and run it until it has processed ``records`` and ``grace_s`` have passed since
    the frozen member woke (what the woken member publishes meanwhile is what is checked)."""
    done = threading.Event()

    async def run_frozen() -> None:
        stop = asyncio.Event()
        await frozen.start()
        try:
            runner = asyncio.create_task(frozen.run(stop))
            while not done.is_set() and not runner.done():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            stop.set()
            await runner
        finally:
            await frozen.stop()

    thread = threading.Thread(target=asyncio.run, args=(run_frozen(),))
    thread.start()
    try:
        assert await asyncio.to_thread(freezes.wait, 60), "the member never froze"
        woke_at = time.monotonic() + freeze_s
        await other.start()
        stop = asyncio.Event()
        runner = asyncio.create_task(other.run(stop))
        while other.stats.records < records or time.monotonic() < woke_at + grace_s:
            assert not runner.done(), runner.exception()
            await asyncio.sleep(0.1)
        stop.set()
        await runner
    finally:
        done.set()
        await other.stop()
        await asyncio.to_thread(thread.join, 60)
