"""Kafka transactions per input partition: what the engine's transactional path commits.

Apart from ``engine.py`` because it is the one place that knows how a partition's share of a
batch becomes one transaction — which producer, in which order the offsets and the records
go, what fencing looks like — while the engine decides when. One transactional producer per
input partition (``<group>-p<partition>``): aiokafka implements only version 0 of the
transaction requests (no KIP-447 fencing by group generation), so an id per process would
not fence a zombie; an id per partition does, because the partition's next owner registers
the same id before it restores the partition's state (docs/guarantees.md).

A transaction can also fail without anyone being fenced: on a replicated cluster the
partition leaders and the transaction and group coordinators move when a broker dies, and
aiokafka 0.14 does not always follow (#1151: a coordinator that left the metadata makes the
sender's ``ready()`` assert, the sender task dies with "Unexpected error during batch
delivery" and the producer is unusable; #1145: requests sent on to a coordinator that no
longer answers). Such a failure (``retryable``) costs the partition its producer: the engine
forgets the partition's task and rewinds to the batch's start, and the next batch registers
the id again with a new producer — which waits for the old transaction to end (committed or
aborted) before the restore reads the state. Nothing is lost (an aborted batch is processed
again) and nothing doubled (a batch whose commit went through after all is in the restored
state, whose last applied offsets make its records emit nothing again).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    IllegalOperation,
    KafkaError,
    ProducerFenced,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from events.stream.clients import KafkaConnection, transactional_producer
from events.stream.types import Output, StateWrite, Task

log = structlog.get_logger("yidi.stream")

COMMIT_TIMEOUT_S = 120.0
"""A partition's transaction that has not committed after this long is given up (aiokafka
#1145: a producer can keep sending to a coordinator that is gone). Longer than a broker's
restart, shorter than the broker's transaction timeout (60 s) plus a restart, so the common
case still commits; a timed-out transaction is aborted by the id's next registration."""
MAX_FAILED_IN_A_ROW = 30
"""Failed transactions of one partition in a row (with back-off up to 5 s between them,
about two minutes) before the engine stops and the worker's supervisor takes over."""
OPEN_TIMEOUT_S = 300.0
"""How long registering a transactional id may wait for the cluster (every broker down)."""
_NOT_RETRYABLE = (
    ProducerFenced,  # another member holds the id: handled as fencing, never retried
    TransactionalIdAuthorizationFailed,
    TopicAuthorizationFailedError,
    GroupAuthorizationFailedError,
)


def retryable(exc: BaseException) -> bool:
    """Whether a failed transaction may succeed on a new producer: the cluster's side of it
    (a broker, a leader or a coordinator lost, a timeout, aiokafka's sender dead after one),
    not fencing, not a refused authorization (a configuration error), not a bug."""
    if isinstance(exc, _NOT_RETRYABLE):
        return False
    return isinstance(exc, (KafkaError, TimeoutError, IllegalOperation))


class TransactionsFailing(RuntimeError):
    """A partition's transactions kept failing (``MAX_FAILED_IN_A_ROW``): the engine stops."""

    code = "E_TXN_FAILING"


@dataclass(slots=True)
class PartitionBatch:
    """One input partition's share of a batch: what its transaction carries."""

    task: Task
    outputs: list[Output] = field(default_factory=list)
    writes: list[StateWrite] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    starts: dict[TopicPartition, int] = field(default_factory=dict)
    """The batch's first offset per input: where a failed transaction's partition rewinds to."""


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
        self._failed: dict[int, int] = {}  # failed transactions in a row, per partition

    def __contains__(self, partition: int) -> bool:
        return partition in self._by_partition

    async def open(self, partition: int) -> None:
        """Register the partition's transactional id. Call before restoring its state:
        registering aborts what a former owner left open (and fences it), so the
        read_committed restore that follows sees every write that will ever count."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(retryable),
            wait=wait_exponential(multiplier=0.5, max=5),
            stop=stop_after_delay(OPEN_TIMEOUT_S),
            reraise=True,
        ):
            with attempt:
                producer = transactional_producer(
                    self.conn,
                    client_id=self.client_id,
                    transactional_id=f"{self.group_id}-p{partition}",
                )
                try:
                    await producer.start()  # a bootstrap with every broker down raises
                except BaseException:
                    await _stop(producer)
                    raise
        self._by_partition[partition] = producer

    async def commit(self, partition: int, part: PartitionBatch) -> None:
        """One partition's share of a batch, as one transaction of its own producer.

        The consumed offsets are added first (aiokafka #1004: records sent before
        ``send_offsets_to_transaction`` raced it on Kafka 3.7+), once per transaction and
        awaited before anything else (aiokafka #1098: two offset commits of one transaction
        in flight raced to a KeyError); one producer per partition, used by one batch at a
        time. Every send is acknowledged before the commit is asked for."""
        async with asyncio.timeout(COMMIT_TIMEOUT_S):
            await self._commit(self._by_partition[partition], partition, part)
        self._failed.pop(partition, None)

    async def _commit(
        self, producer: AIOKafkaProducer, partition: int, part: PartitionBatch
    ) -> None:
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

    async def failed(self, partitions: set[int], errors: list[BaseException]) -> None:
        """``partitions``' transactions failed (``retryable`` errors): drop their producers,
        wait a back-off that grows with the failures in a row, and give up after
        ``MAX_FAILED_IN_A_ROW``."""
        worst = 0
        for p in partitions:
            worst = max(worst, self._failed.get(p, 0) + 1)
            self._failed[p] = worst
        log.warning(
            "batch_transaction_failed",
            group=self.group_id,
            partitions=sorted(partitions),
            errors=sorted({type(e).__name__ for e in errors}),
            in_a_row=worst,
        )
        await self.close(partitions)
        if worst >= MAX_FAILED_IN_A_ROW:
            raise TransactionsFailing(
                f"{self.group_id}: partitions {sorted(partitions)} failed {worst} transactions in a row"
            ) from errors[0]
        await asyncio.sleep(min(5.0, 0.25 * 2**worst))

    async def close(self, partitions: set[int]) -> None:
        """Stop the producers of ``partitions`` (revoked, fenced, failed, or the engine
        stopping)."""
        for p in partitions:
            producer = self._by_partition.pop(p, None)
            if producer is not None:
                await _stop(producer)

    async def close_all(self) -> None:
        await self.close(set(self._by_partition))


async def _stop(producer: AIOKafkaProducer, timeout_s: float = 10.0) -> None:
    """Stop a producer that may be broken: its stop flushes what is queued, which never
    happens once its sender died (aiokafka #1151) or while every broker is down. Given up
    after ``timeout_s``: whatever it still sends carries an epoch the id's next registration
    has fenced."""
    with contextlib.suppress(KafkaError, TimeoutError):
        async with asyncio.timeout(timeout_s):
            await producer.stop()
