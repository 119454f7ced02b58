"""A consumer that stops making progress says so, and says where it waits.

Why: after a broker's kill -9 and restart, a freshly started sink once landed nothing of a
third of its partitions for minutes while a second sink read the same partitions to their
end (docs/guarantees.md, "Broker faults"). Neither the logs nor the metrics said whether the
batch in flight hung (a database write, a publish) or the client never fetched those
partitions. This watch, beside every batch loop, tells them apart:

- ``batch_slow``: the batch in flight has run longer than ``SLOW_BATCH_S``; the log names
  the coroutines the loop awaits (function and line: never data).
- ``partition_stalled``: an owned partition's position has not moved for ``STALL_S`` while
  the log's end (from the broker) is past it and the loop is idle; the log names its leader
  and what the client's fetcher waits on for it.

Only positions, offsets, node ids and code locations are logged: no record content.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

log = structlog.get_logger("yidi.stream")

EVERY_S = 5.0
SLOW_BATCH_S = 30.0
STALL_S = 30.0


def await_chain(task: asyncio.Task[Any] | None, depth: int = 12) -> list[str]:
    """The coroutines ``task`` is suspended in, outermost first, as ``function:line``."""
    if task is None or task.done():
        return []
    out: list[str] = []
    coro: Any = task.get_coro()
    while coro is not None and len(out) < depth:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is None:
            break
        out.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return out


def fetcher_state(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> dict[str, Any]:
    """What aiokafka's fetcher holds for ``tps``: their leaders, the nodes it has a request
    in flight to (a node in flight is not fetched again until that request ends), partitions
    with undelivered records, and where its pending tasks wait. Private attributes, read
    defensively: this is diagnosis, never control."""
    fetcher = getattr(consumer, "_fetcher", None)
    client = getattr(consumer, "_client", None)
    coordinator = getattr(consumer, "_coordinator", None)
    state: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        state["leaders"] = {tp.partition: client.cluster.leader_for_partition(tp) for tp in tps}  # type: ignore[union-attr]
    with contextlib.suppress(Exception):
        state["in_flight"] = sorted(fetcher._in_flight)  # type: ignore[union-attr]
        state["buffered"] = sorted(tp.partition for tp in fetcher._records)  # type: ignore[union-attr]
        state["pending"] = [await_chain(t, 6) for t in fetcher._pending_tasks]  # type: ignore[union-attr]
    with contextlib.suppress(Exception):
        state["coordinator"] = coordinator.coordinator_id  # type: ignore[union-attr]
        refresh = coordinator._commit_refresh_task  # type: ignore[union-attr]
        state["commit_refresh"] = (
            "none" if refresh is None else
            f"failed: {type(refresh.exception()).__name__}" if refresh.done()
            and not refresh.cancelled() and refresh.exception() is not None else
            "done" if refresh.done() else "running"
        )  # fmt: skip
    return state


class StallWatch:
    """Samples ``consumer`` every ``EVERY_S`` while ``stop`` is not set. ``in_flight`` gives the
    task running the current batch (``None`` when the loop is idle)."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        group_id: str,
        in_flight: Callable[[], tuple[asyncio.Task[Any] | None, float]],
        on_stall: Callable[[float], None] | None = None,
    ) -> None:
        self.consumer = consumer
        self.on_stall = on_stall
        """Called with how long the stalled partitions have not moved (the loop decides what
        to do: a batch loop restarts its consumer past ``RESTART_AFTER_S``)."""
        self.group_id = group_id
        self.in_flight = in_flight
        self._moved: dict[TopicPartition, tuple[int, float]] = {}
        self.stalls = 0
        self.slow_batches = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), EVERY_S)
            if stop.is_set():
                return
            try:
                await self.sample(time.monotonic())
            except Exception as exc:  # diagnosis never stops the loop
                log.warning("stall_watch_failed", group=self.group_id, error=type(exc).__name__)

    async def sample(self, now: float) -> None:
        task, started = self.in_flight()
        if task is not None:
            if now - started >= SLOW_BATCH_S:
                self.slow_batches += 1
                log.warning("batch_slow", group=self.group_id, seconds=round(now - started, 1),
                            waiting_in=await_chain(task))  # fmt: skip
            self._moved.clear()  # a busy loop is not a stalled fetch
            return
        owned = list(self.consumer.assignment())
        positions: dict[TopicPartition, int] = {}
        for tp in owned:
            with contextlib.suppress(Exception):
                positions[tp] = await asyncio.wait_for(self.consumer.position(tp), 1.0)
        for tp in list(self._moved):
            if tp not in positions:
                del self._moved[tp]
        still = [tp for tp in positions if self._moved.get(tp, (-1, now))[0] == positions[tp]]
        for tp, at in positions.items():
            if self._moved.get(tp, (-1, 0.0))[0] != at:
                self._moved[tp] = (at, now)
        due = [tp for tp in still if now - self._moved[tp][1] >= STALL_S]
        if not due:
            return
        ends = await self.consumer.end_offsets(due)
        behind = [tp for tp in due if ends[tp] > positions[tp]]
        if not behind:
            return
        self.stalls += 1
        seconds = now - min(self._moved[tp][1] for tp in behind)
        log.warning(
            "partition_stalled", group=self.group_id,
            partitions={tp.partition: [positions[tp], ends[tp]] for tp in behind},
            seconds=round(seconds, 1), **fetcher_state(self.consumer, behind),
        )  # fmt: skip
        if self.on_stall is not None:
            self.on_stall(seconds)
