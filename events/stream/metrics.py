"""What the stream layer tells a metrics adapter: the port, called once per batch.

Why a port here and the Prometheus adapter in ``services/runtime/metrics.py``: the loops
(``engine.py``, ``batch_loop.py``, ``memory.py``) are the one place every record passes, so
they report what they see (records in per topic, each batch's outputs with their outcome,
the batch's size and duration, when the acks were written, the consumer's lag) and nothing
in a processor counts for itself. The layer imports no metrics library; a loop built without
a ``StreamMetrics`` (tests, replays, rebuilds) does no counting work at all.

Per batch, not per record: a loop hands over what it already holds (the fetched records'
counts per topic, the outputs list, the acked records' timestamps) and the adapter folds
them in with one call; the only per-record work is a tuple or a timestamp per output/input.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError, KafkaError

from events.stream.types import InputRecord, Output

log = structlog.get_logger("yidi.stream")

LAG_EVERY_S = 2.0
"""How often a loop samples its consumer's lag (from what the fetches already returned)."""


class StreamMetrics(Protocol):
    """One processor's metrics (the adapter carries the processor's name as a label)."""

    def batch(self, records: Mapping[str, int], outputs: Sequence[Output], seconds: float) -> None:
        """A batch is done (published, or landed): records in per input topic, every output
        it published (``Output.outcome`` says accepted / rejected / duplicate / dlq), and the
        time from the fetch's return to the batch's outputs being acknowledged by the broker."""
        ...

    def acked(self, timestamps_ms: Sequence[int], at_s: float) -> None:
        """The acks of records with these Kafka timestamps (the sender's create time, ms) were
        acknowledged by the broker at ``at_s`` (Unix seconds): one ack latency each."""
        ...

    def outcomes(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Outcomes a lander decided without an output (a sink's rows: inserted, already
        present, conflicting), as ``(outcome, code) -> count``."""
        ...

    def lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """This member's consumer lag per (topic, partition), replacing the last report
        (a partition no longer owned disappears)."""
        ...


def batch_counts(batch: Mapping[object, Sequence[object]]) -> dict[str, int]:
    """Records per topic of a fetched batch (``{TopicPartition: records}``)."""
    counts: dict[str, int] = {}
    for tp, records in batch.items():
        topic: str = tp.topic  # type: ignore[attr-defined]
        counts[topic] = counts.get(topic, 0) + len(records)
    return counts


def report_batch(
    metrics: StreamMetrics,
    batch: Mapping[object, Sequence[object]],
    outputs: Sequence[Output],
    started: float,
    ack_topics: Collection[str] = (),
) -> None:
    """A loop's one call per batch: ``batch`` (``{TopicPartition: ConsumerRecord list}``, what
    was processed), ``outputs`` (what the broker acknowledged), ``started`` (``perf_counter``
    at the fetch's return). Records of ``ack_topics`` (the topics this processor acknowledges)
    get an ack latency each: their acks are among the outputs just acknowledged."""
    seconds = time.perf_counter() - started
    metrics.batch(batch_counts(batch), outputs, seconds)
    if ack_topics:
        stamps = [
            r.timestamp  # type: ignore[attr-defined]
            for tp, records in batch.items()
            if tp.topic in ack_topics  # type: ignore[attr-defined]
            for r in records
        ]
        if stamps:
            metrics.acked(stamps, time.time())


def report_records(
    metrics: StreamMetrics,
    records: Sequence[InputRecord],
    outputs: Sequence[Output],
    started: float,
    ack_topics: Collection[str] = (),
) -> None:
    """``report_batch`` for the in-memory driver's batches (``InputRecord``s)."""
    counts: dict[str, int] = {}
    for record in records:
        counts[record.topic] = counts.get(record.topic, 0) + 1
    metrics.batch(counts, outputs, time.perf_counter() - started)
    if ack_topics:
        stamps = [r.timestamp_ms for r in records if r.topic in ack_topics]
        if stamps:
            metrics.acked(stamps, time.time())


async def consumer_lags(consumer: AIOKafkaConsumer) -> dict[tuple[str, int], int]:
    """Per owned partition: the last stable offset (the end a read_committed consumer may
    read to; the high watermark when the broker gave none) less the consumer's position,
    both from what the fetches already returned: no request to the broker."""
    lags: dict[tuple[str, int], int] = {}
    for tp in list(consumer.assignment()):
        try:
            end = consumer.last_stable_offset(tp)
            if end is None or end < 0:
                end = consumer.highwater(tp)
            if end is None:
                continue  # nothing fetched from it yet
            position = await asyncio.wait_for(consumer.position(tp), 1.0)
        except (AssertionError, IllegalStateError, KafkaError, TimeoutError):
            continue  # revoked meanwhile, or no position yet: the next sample has it
        lags[(tp.topic, tp.partition)] = max(0, end - position)
    return lags


async def watch_lag(
    consumer: AIOKafkaConsumer, metrics: StreamMetrics, stop: asyncio.Event
) -> None:
    """Report the consumer's lag every ``LAG_EVERY_S`` until ``stop``; beside the batch loop,
    never in it (a position not yet known may take a moment)."""
    while not stop.is_set():
        try:
            metrics.lag(await consumer_lags(consumer))
        except Exception as exc:  # a sample never stops the loop; the next one may work
            log.warning("lag_sample_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), LAG_EVERY_S)


def start_lag_watch(
    consumer: AIOKafkaConsumer | None, metrics: StreamMetrics | None, stop: asyncio.Event
) -> asyncio.Task[None] | None:
    if consumer is None or metrics is None:
        return None
    return asyncio.create_task(watch_lag(consumer, metrics, stop), name="lag-watch")


async def end_lag_watch(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
