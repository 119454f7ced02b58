"""Running long-lived workers: start, run until SIGTERM/SIGINT, finish the batch, stop.

Why here: every worker (and the all-in-one demo process) must stop the same
way — the batch in flight completes and its offsets are committed — so that a
rolling restart never reprocesses more than it has to.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Protocol

import structlog

log = structlog.get_logger("yidi.worker")


class Runnable(Protocol):
    async def start(self) -> None: ...
    async def run(self, stop: asyncio.Event) -> None: ...
    async def stop(self) -> None: ...


async def run_until_signalled(
    workers: dict[str, Runnable], stop: asyncio.Event | None = None
) -> None:
    """Start every worker, run them together, stop all when one fails or a signal arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started: list[Runnable] = []
    try:
        for name, worker in workers.items():
            await worker.start()
            started.append(worker)
            log.info("worker_started", worker=name)
        tasks = [asyncio.create_task(w.run(stop), name=n) for n, w in workers.items()]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for worker in reversed(started):
            await worker.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
