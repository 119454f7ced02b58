"""A consumer-group member that handles one fetched batch at a time, with a PostgreSQL pool
and an idempotent producer: the shape of every sink and request processor here.

Why the lock: a rebalance (the listener's revoke) waits for the batch in flight, so a
partition moves only between batches and its next owner starts after what landed.
"""

from __future__ import annotations

import asyncio

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from events.stream.clients import group_consumer, idempotent_producer


class GroupWorker:
    def __init__(
        self,
        bootstrap: str,
        database_url: str,
        topic: str,
        group_id: str,
        client_id: str,
        instance_id: str | None,
        max_records: int,
        fetch_wait_ms: int = 20,
        fetch_min_bytes: int = 1,
    ) -> None:
        self.bootstrap = bootstrap
        self.database_url = database_url
        self.topic = topic
        self.group_id = group_id
        self.client_id = client_id
        self.instance_id = instance_id
        self.max_records = max_records
        self.fetch_wait_ms = fetch_wait_ms
        self.fetch_min_bytes = fetch_min_bytes
        self.pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    def listener(self) -> ConsumerRebalanceListener:
        """What happens on assignment; the default only lets the batch in flight finish."""
        return FinishBatchFirst(self)

    async def handle_batch(self, batch: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        raise NotImplementedError

    async def on_assigned(self, assigned: list[TopicPartition]) -> None:
        """Called by the default listener once partitions are assigned."""

    async def start(self) -> None:
        self.pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=2)
        self._producer = idempotent_producer(self.bootstrap, client_id=self.client_id)
        await self._producer.start()
        self._consumer = group_consumer(
            self.bootstrap,
            self.group_id,
            client_id=self.client_id,
            instance_id=self.instance_id,
            fetch_wait_ms=self.fetch_wait_ms,
            fetch_min_bytes=self.fetch_min_bytes,
        )
        self._consumer.subscribe([self.topic], listener=self.listener())
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()
        if self.pool is not None:
            await self.pool.close()

    async def run(self, stop: asyncio.Event) -> None:
        assert self._consumer is not None
        while not stop.is_set():
            batch = await self._consumer.getmany(timeout_ms=100, max_records=self.max_records)
            if batch:
                async with self._lock:
                    await self.handle_batch(batch)


class FinishBatchFirst(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: GroupWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.worker._lock:
            pass  # the batch in flight lands (or fails) before the partitions move

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.worker.on_assigned(list(assigned))
