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


def test_the_handler_passes_over_only_types_no_rule_reads() -> None:
    from typing import Any, cast

    from contracts.settlement import SETTLEMENT_TOPIC
    from contracts.visit import VISIT_TOPIC
    from services.supervision.app import _Handler

    handler = _Handler(cast(Any, None), cast(Any, None), None, None)

    def record(topic: str, ce_type: str | None) -> SimpleNamespace:
        headers = [("ce_id", b"x")] + ([("ce_type", ce_type.encode())] if ce_type else [])
        return SimpleNamespace(topic=topic, headers=headers)

    requests = [
        "cn.yidi.visit.settlement_requested.v1",
        "cn.yidi.visit.presettle_requested.v1",
        "cn.yidi.visit.reversal_requested.v1",
    ]
    for ce_type in requests:
        assert handler.passes_over(record(VISIT_TOPIC, ce_type))
    for ce_type in ("cn.yidi.visit.fees_uploaded.v1", "cn.yidi.visit.registered.v1",
                    "cn.yidi.visit.discharged.v1", None):  # fmt: skip
        assert not handler.passes_over(record(VISIT_TOPIC, ce_type))
    assert not handler.passes_over(record(SETTLEMENT_TOPIC, "cn.yidi.settlement.settled.v1"))
    # another topic (the outlier repartition, a changelog) is never passed over
    assert not handler.passes_over(record("g-institution-claims", requests[0]))
    # counted as read, like every record decode sees
    assert handler.counters.events == 3
    assert handler.counters.by_topic == {VISIT_TOPIC: 3}


def test_tune_gc_freezes_what_start_up_made_and_raises_the_thresholds() -> None:
    import gc

    from services.supervision.run import GC_THRESHOLDS, tune_gc

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 1000  # the imports' objects, out of the collector's walk
        assert gc.isenabled()  # cycles are still collected
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_a_callback_that_does_not_suspend_costs_no_task() -> None:
    watchers = drain.Watchers(_consumer())
    done: list[int] = []

    async def callback(n: int) -> None:
        done.append(n)

    before = len(asyncio.all_tasks())
    for n in range(5):
        await drain.first(callback(n), watchers)
    assert done == list(range(5))
    assert watchers.tasks == [None, None, None]
    assert len(asyncio.all_tasks()) == before


async def test_a_suspended_callback_goes_on_with_what_it_awaits() -> None:
    watchers = drain.Watchers(_consumer())
    got: list[int] = []
    loop = asyncio.get_running_loop()

    async def callback(fut: asyncio.Future[int]) -> None:
        got.append(await fut)
        await asyncio.sleep(0)
        got.append(await asyncio.sleep(0, result=7))

    fut: asyncio.Future[int] = loop.create_future()
    loop.call_soon(fut.set_result, 5)
    await drain.first(callback(fut), watchers)
    assert got == [5, 7]
    watchers.cancel()
