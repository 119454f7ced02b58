"""Kafka transactions per input partition: what the engine's transactional path commits.

Apart from ``engine.py`` because it is the one place that knows how a partition's share of a
batch becomes one transaction — which producer, in which order the offsets and the records
go, what fencing looks like — while the engine decides when. One transactional producer per
input partition (``<group>-p<partition>``): aiokafka implements only version 0 of the
transaction requests (no KIP-447 fencing by group generation), so an id per process would
not fence a zombie; an id per partition does, because the partition's next owner registers
the same id before it restores the partition's state (docs/guarantees.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from events.stream.clients import KafkaConnection, transactional_producer
from events.stream.types import Output, StateWrite, Task


@dataclass(slots=True)
class PartitionBatch:
    """One input partition's share of a batch: what its transaction carries."""

    task: Task
    outputs: list[Output] = field(default_factory=list)
    writes: list[StateWrite] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)


class PartitionProducers:
    """The transactional producers of the partitions this member holds."""

    def __init__(
        self, conn: KafkaConnection, group_id: str, client_id: str, changelog: str | None
    ) -> None:
        self.conn = conn
        self.group_id = group_id
        self.client_id = client_id
        self.changelog = changelog
        self._by_partition: dict[int, AIOKafkaProducer] = {}

    def __contains__(self, partition: int) -> bool:
        return partition in self._by_partition

    async def open(self, partition: int) -> None:
        """Register the partition's transactional id. Call before restoring its state:
        registering aborts what a former owner left open (and fences it), so the
        read_committed restore that follows sees every write that will ever count."""
        producer = transactional_producer(
            self.conn, client_id=self.client_id, transactional_id=f"{self.group_id}-p{partition}"
        )
        await producer.start()
        self._by_partition[partition] = producer

    async def commit(self, partition: int, part: PartitionBatch) -> None:
        """One partition's share of a batch, as one transaction of its own producer.

        The consumed offsets are added first (aiokafka #1004: records sent before
        ``send_offsets_to_transaction`` raced it on Kafka 3.7+), once per transaction and
        awaited before anything else (aiokafka #1098: two offset commits of one transaction
        in flight raced to a KeyError); one producer per partition, used by one batch at a
        time. Every send is acknowledged before the commit is asked for."""
        producer = self._by_partition[partition]
        await producer.begin_transaction()
        await producer.send_offsets_to_transaction(part.offsets, self.group_id)
        futures = [
            await producer.send(o.topic, value=o.value, key=o.key, headers=o.headers)
            for o in part.outputs
        ]
        if self.changelog is not None:
            futures += [
                await producer.send(self.changelog, value=w.value, key=w.key, partition=partition)
                for w in part.writes
            ]
        if futures:
            await asyncio.gather(*futures)
        await producer.commit_transaction()

    async def close(self, partitions: set[int]) -> None:
        """Stop the producers of ``partitions`` (revoked, fenced, or the engine stopping)."""
        for p in partitions:
            producer = self._by_partition.pop(p, None)
            if producer is not None:
                with contextlib.suppress(KafkaError):
                    await producer.stop()

    async def close_all(self) -> None:
        await self.close(set(self._by_partition))
