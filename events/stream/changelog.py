"""Restoring a task's store from its compacted changelog partition."""

from __future__ import annotations

from aiokafka import TopicPartition

from events.stream import clients
from events.stream.clients import KafkaConnection


async def restore_partition(
    bootstrap: KafkaConnection, topic: str, partition: int
) -> dict[bytes, bytes]:
    """Read ``topic``/``partition`` from the start to its current end; last value per key wins.

    Reads committed data only, so a write whose batch never completed is not
    restored (tasks are deterministic: the input is processed again).
    """
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
