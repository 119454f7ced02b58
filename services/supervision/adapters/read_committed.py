"""A faust app whose consumer reads only committed records (``isolation_level=read_committed``)
and commits past transaction markers at once.

Why: the settlement topic is written in Kafka transactions (one per adjudicator batch,
docs/guarantees.md); a batch the adjudicator aborts — a crash mid-batch, a fenced
zombie — stays in the log, and its settlements never happened (the batch is redone, often
with new event ids). faust builds its aiokafka consumer ``read_uncommitted`` unless its own
``exactly_once`` guarantee is on (which the team does not use: KAFKA-NOTES.md), so the
supervisor would judge settlements that do not exist, and could raise an alert on an aborted
copy next to the committed one. faust has no setting for the isolation level: the worker's
consumer thread is given it here, and ``isolation_level`` below tells what it got (tested).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver

from services.supervision.adapters import drain
from services.supervision.adapters.stages import Stages

READ_COMMITTED = "read_committed"


class _Thread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the constructor's argument and hands it to its fetcher at start()
        if getattr(consumer, "_isolation_level", None) not in ("read_uncommitted", READ_COMMITTED):
            raise RuntimeError("aiokafka's consumer no longer keeps _isolation_level: revisit")
        consumer._isolation_level = READ_COMMITTED
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _Thread(self, loop=self.loop, beacon=self.beacon)

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        """The offsets skipped before the record at ``offset_to``, without that record.

        Why: faust's fetch loop calls this with the offset of the record that follows the
        skipped ones, and ``Consumer._add_gap`` takes its upper bound as inclusive, so the
        record's own offset goes into the gaps too and, once the record is acked, appears
        twice in the acked list. ``_new_offset`` commits one run of consecutive numbers per
        call and a repeated number ends a run: on a transactional topic, where every
        transaction's commit marker leaves such a gap, the commit then advanced by one
        transaction per partition per commit interval — the supervisor committed ~23
        records/s while it had processed everything (docs/supervision.md, "Throughput")."""
        await super()._add_gap(tp, offset_from, offset_to - 1)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover (faust's loop)
        """faust's fetch loop with one task per record instead of four (``drain.py``)."""
        await drain.drain_messages(self, fetcher)

    # -- timing only (adapters/stages.py): what faust's fetch and commit cost ---------------
    def _stages(self) -> Stages:
        return getattr(self.app, "stages", None) or Stages()

    async def _wait_next_records(self, timeout: float) -> Any:  # noqa: ASYNC109 (faust's)
        start = time.perf_counter()
        records, active = await super()._wait_next_records(timeout)
        stages = self._stages()
        stages.add("fetch", time.perf_counter() - start)
        n = sum(len(batch) for batch in (records or {}).values())
        stages.counts["fetched_records"] = stages.counts.get("fetched_records", 0) + n
        if not active:
            stages.counts["fetch_all_paused"] = stages.counts.get("fetch_all_paused", 0) + 1
        return records, active

    def on_buffer_full(self, tp: Any) -> None:
        stages = self._stages()
        stages.counts["stream_buffer_full"] = stages.counts.get("stream_buffer_full", 0) + 1
        super().on_buffer_full(tp)

    async def _commit_offsets(self, offsets: Any, start_new_transaction: bool = True) -> bool:
        with self._stages().time("commit"):  # the producer flush and the broker's commit
            return bool(await super()._commit_offsets(offsets, start_new_transaction))

    async def _commit(self, offsets: Any) -> bool:
        with self._stages().time("commit_broker"):
            return bool(await super()._commit(offsets))


PRODUCER_BUFFER_MAX = 8_000
"""faust's producer buffer (table changelog writes waiting to be produced) above which its
conductor stops handing fetched records to the streams (faust: 100). A batch of the person
agents writes up to ``adapters.batches.BATCH_MAX`` states at once; at 100 every batch
blocked the fetch until the writes had drained (``producer_buffer_full``: 16 times, 3.6 s
in one pipeline-bench run)."""


class _Producer(driver.Producer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer.max_messages = PRODUCER_BUFFER_MAX
        ebb = self.buffer.wait_until_ebb

        async def timed_ebb() -> None:
            # called by faust's conductor before each fetched message goes to a stream: a
            # producer buffer over 100 messages (table changelog writes) blocks the fetch
            if self.buffer.size > self.buffer.max_messages:
                stages = getattr(self.transport.app, "stages", None) or Stages()
                with stages.time("producer_buffer_full"):
                    await ebb()
            else:
                await ebb()

        self.buffer.wait_until_ebb = timed_ebb  # type: ignore[method-assign]


class _Transport(driver.Transport):
    Consumer = _Consumer
    Producer = _Producer


class ReadCommittedApp(faust.App):
    """faust.App with the read-committed transport (for ``kafka://`` brokers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stages = Stages()
        self.passes_over: Callable[[Any], bool] | None = None
        """A fetched record for which this says True is acked at once, never delivered
        to a stream (``adapters/drain.py``; the handler's ``passes_over``)."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)


def isolation_level(app: faust.App) -> str | None:
    """The isolation level of the started app's consumer (None before it started)."""
    thread = getattr(app.consumer, "_thread", None)
    inner = getattr(thread, "_consumer", None)
    level = getattr(inner, "_isolation_level", None)
    return None if level is None else str(level)
