"""Restoring a task's store from its compacted changelog partition."""

from __future__ import annotations

import structlog
from aiokafka import TopicPartition
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from events.stream import clients
from events.stream.clients import KafkaConnection
from events.stream.transactions import OPEN_TIMEOUT_S, retryable

log = structlog.get_logger("yidi.stream")


async def restore_partition(
    bootstrap: KafkaConnection, topic: str, partition: int
) -> dict[bytes, bytes]:
    """Read ``topic``/``partition`` from the start to its current end; last value per key wins.

    Reads committed data only, so a write whose batch never completed is not
    restored (tasks are deterministic: the input is processed again). A restore that meets
    the cluster down (a broker's or every broker's kill: aiokafka gives up an offsets request
    after 40 s) starts again, for up to ``OPEN_TIMEOUT_S``: the worker waits the outage out.
    """
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(retryable),
        wait=wait_exponential(multiplier=0.5, max=5),
        stop=stop_after_delay(OPEN_TIMEOUT_S),
        reraise=True,
        before_sleep=lambda state: log.warning(
            "restore_retrying",
            topic=topic,
            partition=partition,
            attempt=state.attempt_number,
            error=type(state.outcome.exception()).__name__ if state.outcome else None,
        ),
    ):
        with attempt:
            return await _restore_once(bootstrap, topic, partition)
    raise AssertionError("unreachable: tenacity re-raises the last failure")


async def _restore_once(
    bootstrap: KafkaConnection, topic: str, partition: int
) -> dict[bytes, bytes]:
    tp = TopicPartition(topic, partition)
    consumer = clients.consumer(
        bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, (await consumer.beginning_offsets([tp]))[tp])
        store: dict[bytes, bytes] = {}
        while end and await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=10_000)
            for record in batch.get(tp, []):
                if record.key is None:
                    continue
                if record.value is None:
                    store.pop(record.key, None)
                else:
                    store[record.key] = record.value
        return store
    finally:
        await consumer.stop()
