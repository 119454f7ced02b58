"""faust's fetch loop (``Consumer._drain_messages``, faust-streaming 0.15.3) with two changes:
the wait on each record's callback reuses its watchers instead of making new ones, and a
record the app ``passes_over`` is acked at once instead of being delivered.

Why: for every record fetched faust runs ``Service.wait_first(callback(message),
suspend_flow.wait())``, which makes four tasks (the callback, and a wait on each of
``suspend_flow``, the consumer's ``_stopped`` and ``_crashed``), waits for the first, and
cancels the three others — each cancellation another turn of the event loop. The worker
runs on one thread, and that bookkeeping was ~9 % of its samples (py-spy, ``yidi bench
supervision``; docs/supervision.md, "Throughput"). Here the three waits are tasks kept
across records, made again only once one has finished (its event was set), and the
callback is first run in place (``first``): one that finishes without suspending (nearly
all) costs no task, no ``asyncio.wait`` and no turn of the loop; one that suspends costs one
task and one ``asyncio.wait`` (session 23). What happens is faust's: the
callback runs until it returns or one of the three events is set (then it is cancelled,
and its exception, if any, propagates); the read offset, the gaps and the commit every
``commit_every`` acks are faust's lines, unchanged.

Why pass over: a third of the visit topic (pre-settlement, settlement and reversal
requests) is read by no rule, and faust's per-record path — the record to an event, through
the stream's queue, its iteration and the batch, to the agent, acked — cost more than the
agent's own work for them (dropping them by their ``ce_type`` header). Acked in the
consumer (``Consumer.ack``: the offset joins the acked ones, committed with its neighbours)
they cost a header lookup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

FAUST_VERSION = "0.15.3"
"""The faust-streaming version whose loop this copies (checked at import by the test)."""


class Watchers:
    """Long-lived waits on the consumer's suspend, stopped and crashed events."""

    def __init__(self, consumer: Any) -> None:
        self.events = (consumer.suspend_flow, consumer._stopped, consumer._crashed)
        self.tasks: list[asyncio.Future[Any] | None] = [None, None, None]

    def current(self) -> list[asyncio.Future[Any]]:
        for i, event in enumerate(self.events):
            task = self.tasks[i]
            if task is None or task.done():
                self.tasks[i] = asyncio.ensure_future(event.wait())
        return [t for t in self.tasks if t is not None]

    def cancel(self) -> None:
        for task in self.tasks:
            if task is not None and not task.done():
                task.cancel()


async def first(callback: Any, watchers: Watchers) -> None:
    """The callback run until it returns or a watched event is set (it is then cancelled).

    Run in place first, up to its first suspension (``send(None)``): most records' callbacks
    (faust's conductor putting the record on its stream's queue) finish without one, and then
    no event can have been set meanwhile (one thread), so there is nothing to wait for: no
    task, no ``asyncio.wait``, no turn of the event loop per record. A callback that
    suspends (its stream's buffer full) goes on in a task from where it stopped
    (``_Resumed``) and is waited for with the watchers as before."""
    try:
        yielded = callback.send(None)
    except StopIteration:
        return
    except BaseException:
        callback.close()
        raise
    task = asyncio.ensure_future(_resume(callback, yielded))
    try:
        await asyncio.wait((task, *watchers.current()), return_when=asyncio.FIRST_COMPLETED)
        if task.done() and not task.cancelled() and task.exception() is not None:
            task.result()
    finally:
        if not task.done():
            task.cancel()


async def _resume(callback: Any, yielded: Any) -> Any:
    return await _Resumed(callback, yielded)


class _Resumed:
    """A coroutine already run up to a suspension, awaited from there on: what it yielded
    (the future it waits for, or None for a bare yield) is handed to the task running this,
    and what the task sends or throws in (a cancellation) is passed on to the coroutine."""

    def __init__(self, coro: Any, yielded: Any) -> None:
        self.coro, self.yielded = coro, yielded

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, yielded = self.coro, self.yielded
        while True:
            try:
                sent = yield yielded
            except BaseException as exc:  # thrown in (a cancellation): passed on, as await does
                try:
                    yielded = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    yielded = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def drain_messages(self: Any, fetcher: Any) -> None:  # noqa: PLR0915 (faust's loop)
    """faust's ``Consumer._drain_messages`` (``self`` is the consumer), ``first`` in place of
    ``wait_first``; the rest line for line."""
    callback = self.callback
    getmany = self.getmany
    consumer_should_stop = self._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    get_read_offset = self._read_offset.__getitem__
    set_read_offset = self._read_offset.__setitem__
    from faust.transport.consumer import CONSUMER_FETCHING

    set_flag = self.diag.set_flag
    unset_flag = self.diag.unset_flag
    commit_every = self._commit_every
    acks_enabled_for = self.app.topics.acks_enabled_for
    yield_every = 100
    num_since_yield = 0
    sleep = asyncio.sleep
    watchers = Watchers(self)
    passes_over = getattr(self.app, "passes_over", None)
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            set_flag(CONSUMER_FETCHING)
            ait = getmany(timeout=1.0)
            await self.sleep(0)
            if not self.should_stop:
                async for tp, message in ait:
                    num_since_yield += 1
                    if num_since_yield > yield_every:
                        await sleep(0)
                        num_since_yield = 0
                    offset = message.offset
                    r_offset = get_read_offset(tp)
                    if r_offset is None or offset >= r_offset:
                        gap = offset - (r_offset or 0)
                        if gap > 1 and r_offset and acks_enabled_for(message.topic):
                            await self._add_gap(tp, r_offset + 1, offset)
                        if commit_every is not None and self._n_acked >= commit_every:
                            self._n_acked = 0
                            await self.commit()
                        if passes_over is not None and passes_over(message):
                            self.ack(message)  # read, nothing to do: committable at once
                        else:
                            await first(callback(message), watchers)
                        set_read_offset(tp, offset)
                    else:
                        self.log.dev("DROPPED MESSAGE ROFF %r", offset)
                unset_flag(CONSUMER_FETCHING)
    except self.consumer_stopped_errors:
        if self.transport.app.should_stop:
            self.log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if self.transport.app.should_stop:
            self.log.info("Consumer shutting down for user cancel.")
            return
        raise
    except Exception as exc:
        self.log.exception("Drain messages raised: %r", exc)
        raise
    finally:
        watchers.cancel()
        unset_flag(CONSUMER_FETCHING)
