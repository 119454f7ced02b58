"""The fetch loop's per-record wait (``adapters/drain.py``): faust's outcome — the callback
runs to its end, or is cancelled once the consumer suspends, stops or crashes, and its error
propagates — with the three watchers kept across records."""

from __future__ import annotations

import asyncio
import importlib.metadata
from types import SimpleNamespace

import pytest
from mode.utils.locks import Event

from services.supervision.adapters import drain


def _consumer() -> SimpleNamespace:
    return SimpleNamespace(suspend_flow=Event(), _stopped=Event(), _crashed=Event())


def test_the_copied_loop_is_the_installed_faust_s() -> None:
    assert importlib.metadata.version("faust-streaming") == drain.FAUST_VERSION, (
        "faust-streaming changed: compare Consumer._drain_messages with adapters/drain.py"
    )


async def test_callbacks_run_to_the_end_with_the_same_watchers() -> None:
    watchers = drain.Watchers(_consumer())
    done: list[int] = []

    async def callback(n: int) -> None:
        await asyncio.sleep(0)
        done.append(n)

    await drain.first(callback(1), watchers)
    kept = list(watchers.tasks)
    for n in range(2, 50):
        await drain.first(callback(n), watchers)
    assert done == list(range(1, 50))
    assert watchers.tasks == kept  # no new watcher per record
    watchers.cancel()


@pytest.mark.parametrize("which", ["suspend_flow", "_stopped", "_crashed"])
async def test_a_set_event_cancels_a_blocked_callback(which: str) -> None:
    consumer = _consumer()
    watchers = drain.Watchers(consumer)
    blocked = asyncio.Event()
    cancelled: list[bool] = []

    async def callback() -> None:
        blocked.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def later() -> None:
        await blocked.wait()
        getattr(consumer, which).set()

    setter = asyncio.ensure_future(later())
    await asyncio.wait_for(drain.first(callback(), watchers), 5)
    await asyncio.sleep(0)
    assert cancelled == [True]
    await setter
    # the set event's watcher is made again for the next record, and answers at once
    getattr(consumer, which).clear()
    await drain.first(asyncio.sleep(0), watchers)
    assert all(t is not None and not t.done() for t in watchers.tasks)
    watchers.cancel()


async def test_the_callback_s_error_propagates() -> None:
    watchers = drain.Watchers(_consumer())

    async def callback() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await drain.first(callback(), watchers)
    watchers.cancel()
