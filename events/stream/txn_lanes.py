"""Commit lanes: each input partition's transactions run behind the batch loop, not inside it.

Why: the engine used to process a batch, then wait for every partition's transaction of it
(``AddOffsetsToTxn``, ``TxnOffsetCommit``, ``AddPartitionsToTxn``, the sends, ``EndTxn``:
five round trips, and the slowest of up to twelve partitions) before it fetched again. At
1,000 msg/s a request arriving meanwhile waited for that whole cycle before it was even
fetched (docs/performance.md, "An ack's milliseconds"). Now the loop hands each partition's
share to the partition's lane and fetches the next batch at once; a lane commits one
transaction at a time (one producer, one transaction in flight: aiokafka #1098), and what the
loop processed for the partition while a transaction was in flight goes into the next one,
together (``PartitionBatch.merge``): under load, fewer and larger transactions.

Exactly-once is unchanged: a transaction still carries exactly the outputs, state writes and
consumed offsets of the records it covers, in offset order, from one producer whose id the
partition's next owner registers before it restores (docs/guarantees.md). What a lane does
not do is decide what a failure means: it keeps the error and the share that failed, drops
everything processed after it (it came from a state that included the failed share), and
the engine settles it under its batch lock (fence, forget, rewind; ``StreamEngine``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError, ProducerFenced

from events.stream.transactions import PartitionBatch, PartitionProducers, retryable


@dataclass(slots=True)
class _Lane:
    pending: PartitionBatch | None = None
    """Processed, waiting for the transaction in flight."""
    inflight: asyncio.Task[None] | None = None
    failed: tuple[BaseException, PartitionBatch] | None = None
    """The error and the share whose transaction raised it (its starts: where to rewind)."""
    taken: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class Failures:
    fenced: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    errors: list[BaseException] = field(default_factory=list)
    """The ``failed`` partitions' errors."""
    parts: dict[int, PartitionBatch] = field(default_factory=dict)
    """The share each failed on: its ``starts`` are where a ``failed`` partition rewinds to."""


class CommitLanes:
    """One lane per input partition of this member (``PartitionProducers.commit`` each)."""

    def __init__(
        self, txn: PartitionProducers, on_committed: Callable[[PartitionBatch], None]
    ) -> None:
        self._txn = txn
        self._on_committed = on_committed
        self._lanes: dict[int, _Lane] = {}

    def add(self, partition: int, part: PartitionBatch) -> None:
        """Queue ``part`` (processed after everything queued before for the partition)."""
        lane = self._lanes.setdefault(partition, _Lane())
        if lane.pending is None:
            lane.pending = part
        else:
            lane.pending.merge(part)
        if lane.inflight is None and lane.failed is None:
            lane.inflight = asyncio.create_task(self._run(partition, lane))

    async def _run(self, partition: int, lane: _Lane) -> None:
        # no await between the last look at ``pending`` and clearing ``inflight``: an
        # ``add`` either lands before that look or sees no lane task and starts one
        try:
            while lane.pending is not None:
                part, lane.pending = lane.pending, None
                lane.taken.set()
                try:
                    await self._txn.commit(partition, part)
                except Exception as exc:  # settled by the engine: fenced, retryable, or a bug
                    lane.failed = (exc, part)
                    lane.pending = None  # computed from a state that included ``part``
                    break
                self._on_committed(part)
        finally:
            lane.inflight = None
            lane.taken.set()  # a ``room`` waiting on a lane that failed or stopped looks again

    async def room(self, partition: int, limit: int) -> None:
        """Wait while ``limit`` records or more wait for the partition's transaction in
        flight (a backlog is committed in transactions of bounded size)."""
        lane = self._lanes.get(partition)
        while (
            lane is not None
            and lane.inflight is not None
            and lane.pending is not None
            and lane.pending.size >= limit
        ):
            lane.taken.clear()
            await lane.taken.wait()

    async def idle(self, partitions: Iterable[int] | None = None) -> None:
        """Until the lanes of ``partitions`` (all by default) have committed what they hold,
        or failed."""
        chosen = self._lanes if partitions is None else set(partitions) & set(self._lanes)
        running = {t for p in chosen if (t := self._lanes[p].inflight) is not None}
        if running:
            await asyncio.wait(running)

    def take_failures(self) -> Failures:
        """The lanes whose transaction failed, dropped, by kind: fenced (another member holds
        the id) or ``retryable`` (a new producer may succeed). Any other error (a bug, a
        refused authorization) is raised: it stops the engine, and the partitions' next owner
        aborts what is open."""
        found = {p: lane.failed for p, lane in self._lanes.items() if lane.failed is not None}
        out = Failures()
        for p, (exc, part) in sorted(found.items()):
            if isinstance(exc, ProducerFenced):
                out.fenced.add(p)
            elif retryable(exc):
                out.failed.add(p)
                out.errors.append(exc)
            else:
                raise exc
            out.parts[p] = part
        self.drop(found)
        return out

    def drop(self, partitions: Iterable[int], keep_failed: bool = False) -> None:
        """Forget these partitions' lanes (settled, revoked): queued shares are discarded.
        ``keep_failed``: a failed lane stays for the engine to settle (a revoked partition's
        fencing is still counted, a bug still stops the engine)."""
        for p in partitions:
            if keep_failed and p in self._lanes and self._lanes[p].failed is not None:
                continue
            lane = self._lanes.pop(p, None)
            if lane is not None and lane.inflight is not None:
                lane.inflight.cancel()

    async def cancel_all(self) -> None:
        """The engine is stopping without finishing (a crash, a stop mid-batch): whatever is
        in flight is abandoned; the partition's next owner aborts it when it registers the id."""
        running = [lane.inflight for lane in self._lanes.values() if lane.inflight is not None]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        self._lanes.clear()


async def rewind(consumer: AIOKafkaConsumer, out: Failures) -> None:
    """Seek the failed lanes' inputs back. Fenced: another member holds the ids; back to the
    group's committed offsets. Failed (``transactions.retryable``): back to the failed share's
    start (the offsets the partition's last good transaction committed; if the failed one
    went through after all, the restored state knows its records and they emit nothing
    again). Whatever the loop processed after that share is fetched and processed again."""
    for p, part in out.parts.items():
        for tp, start in part.starts.items():
            offset = ((await consumer.committed(tp)) or 0) if p in out.fenced else start
            with contextlib.suppress(IllegalStateError):  # no longer ours: nothing to rewind
                consumer.seek(tp, offset)
