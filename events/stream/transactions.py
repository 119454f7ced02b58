"""Kafka transactions per member: what the engine's transactional path commits.

Apart from ``engine.py`` because it is the one place that knows how a batch becomes one
transaction — which producer, in which order the offsets and the records go, what fencing
looks like — while the engine decides when. One transactional producer per member
(``<group>-<instance id>``), one transaction per batch, whatever partitions it spans: the
batch's outputs, its state writes and its consumed offsets. A zombie (a member the group
expelled while it was frozen) is fenced by the group, not by the id: the offsets carry the
member's generation (KIP-447, ``kip447.py``) and the group coordinator refuses them, so the
transaction aborts. The new owner of a partition restores its state only once no open
transaction holds offsets of it (``kip447.await_stable``), so the restore sees every write
that will ever count. A restarted member registers the same id, which aborts what its former
incarnation left open and fences that incarnation's producer (``ProducerFenced``).

Before (stops 12-26) each input partition had a producer of its own (``<group>-p<n>``),
because aiokafka sends only version 0 of ``TxnOffsetCommit``: twelve transactions a batch,
and the broker's transaction round trips were most of an ack's latency
(docs/performance.md "Issue 21: an ack's milliseconds"). Measured: docs/performance.md
"One transaction per member".

A transaction can also fail without anyone being fenced: on a replicated cluster the
partition leaders and the transaction and group coordinators move when a broker dies, and
aiokafka 0.14 does not always follow (#1151: a coordinator that left the metadata makes the
sender's ``ready()`` assert, the sender task dies with "Unexpected error during batch
delivery" and the producer is unusable; #1145: requests sent on to a coordinator that no
longer answers). Such a failure (``retryable``) costs the member its producer: the engine
forgets the batch's tasks and rewinds to the batch's start, and the next batch registers the
id again with a new producer — which aborts the old transaction if it is still open; the
restore then waits until no transaction holds the partitions' offsets. Nothing is lost (an
aborted batch is processed again) and nothing doubled (a batch whose commit went through
after all is in the restored state, whose last applied offsets make its records emit
nothing again).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
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

from events.stream.batch_send import output_records, send_and_wait
from events.stream.clients import KafkaConnection, transactional_producer
from events.stream.kip447 import GroupMember, MemberFenced
from events.stream.types import Output, StateWrite, Task

log = structlog.get_logger("yidi.stream")

COMMIT_TIMEOUT_S = 120.0
"""A transaction that has not committed after this long is given up (aiokafka #1145: a
producer can keep sending to a coordinator that is gone); it is aborted by the id's next
registration, or by the coordinator after ``TRANSACTION_TIMEOUT_MS``."""
TRANSACTION_TIMEOUT_MS = 10_000
"""The broker aborts a transaction open this long (Kafka Streams' exactly-once default). It
bounds how long a partition's new owner waits for a member that died mid-transaction and
is not restarted (a restarted one aborts it at once by registering its id); a commit that
outlives it (a coordinator failover) is refused as fenced and the batch processed again."""
MAX_FAILED_IN_A_ROW = 30
"""Failed transactions in a row (with back-off up to 5 s between them,
about two minutes) before the engine stops and the worker's supervisor takes over."""
OPEN_TIMEOUT_S = 300.0
"""How long registering a transactional id may wait for the cluster (every broker down)."""
_NOT_RETRYABLE = (
    ProducerFenced,  # a newer incarnation holds the id: handled as fencing, never retried
    MemberFenced,  # the group refused the offsets: handled as fencing
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


def is_fenced(exc: BaseException) -> bool:
    """Whether a failed batch was refused as a zombie's: by the group (its generation is over)
    or by a newer holder of the transactional id."""
    return isinstance(exc, (ProducerFenced, MemberFenced))


class TransactionsFailing(RuntimeError):
    """The member's transactions kept failing (``MAX_FAILED_IN_A_ROW``): the engine stops."""

    code = "E_TXN_FAILING"


@dataclass(slots=True)
class PartitionBatch:
    """One input partition's share of a batch: what the batch's transaction carries of it."""

    task: Task
    outputs: list[Output] = field(default_factory=list)
    writes: list[StateWrite] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    starts: dict[TopicPartition, int] = field(default_factory=dict)
    """The batch's first offset per input: where a failed transaction's partition rewinds to."""


class MemberTransactions:
    """The member's transactional producer: one transaction per batch."""

    def __init__(
        self,
        conn: KafkaConnection,
        group_id: str,
        client_id: str,
        changelog: str | None,
        instance_id: str | None,
    ) -> None:
        self.conn = conn
        self.group_id = group_id
        self.client_id = client_id
        self.changelog = changelog
        self.transactional_id = (
            f"{group_id}-{instance_id or f'{client_id}-{uuid.uuid4().hex[:12]}'}"
        )
        """Stable across restarts for a static member (``YIDI_INSTANCE_ID``), so a restart
        aborts at once what the crashed incarnation left open; a dynamic member's is new each
        start and its leftovers wait for ``TRANSACTION_TIMEOUT_MS``."""
        self._producer: AIOKafkaProducer | None = None
        self._failed = 0  # failed transactions in a row

    @property
    def is_open(self) -> bool:
        return self._producer is not None

    async def open(self) -> None:
        """Register the member's transactional id (aborting and fencing what a former
        incarnation left open). Before any restore; again after a fenced or failed batch."""
        if self._producer is not None:
            return
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
                    transactional_id=self.transactional_id,
                    transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
                )
                try:
                    await producer.start()  # a bootstrap with every broker down raises
                except BaseException:
                    await _stop(producer)
                    raise
        self._producer = producer

    async def commit(self, parts: dict[int, PartitionBatch], member: GroupMember) -> None:
        """The batch as one transaction.

        The consumed offsets go first, with the member's generation (the group refuses a
        zombie's here, before any record is sent: ``MemberFenced``, the transaction aborted),
        awaited before anything else (aiokafka #1004: records sent before
        ``send_offsets_to_transaction`` raced it on Kafka 3.7+; #1098: two offset commits of
        one transaction in flight raced to a KeyError). Every send is acknowledged before the
        commit is asked for."""
        if member.generation_id < 0 or not member.member_id:
            # the broker would take offsets with no generation unchecked (a commit from outside
            # the group): a member that lost its generation (rejoining) must not commit at all
            raise MemberFenced(f"{self.group_id}: no generation (the member is rejoining)")
        await self.open()
        assert self._producer is not None
        async with asyncio.timeout(COMMIT_TIMEOUT_S):
            await self._commit(self._producer, parts, member)
        self._failed = 0

    async def _commit(
        self, producer: AIOKafkaProducer, parts: dict[int, PartitionBatch], member: GroupMember
    ) -> None:
        await producer.begin_transaction()
        offsets = {tp: offset for part in parts.values() for tp, offset in part.offsets.items()}
        try:
            await producer.send_offsets_to_transaction(offsets, member)
        except MemberFenced:
            await producer.abort_transaction()
            raise
        records = output_records(o for part in parts.values() for o in part.outputs)
        if self.changelog is not None:
            changelog = self.changelog
            records += [
                (changelog, p, w.key, w.value, []) for p, part in parts.items() for w in part.writes
            ]
        await send_and_wait(producer, records)
        await producer.commit_transaction()

    async def fenced(self, error: BaseException) -> None:
        """The batch was refused as a zombie's: by the group (``MemberFenced``) or by a newer
        holder of the id (``ProducerFenced``). The producer is dropped either way and the next
        batch registers the id again: after a refusal its transaction state is not always
        ready for another (an abort refused in turn leaves it in an abortable error, where
        aiokafka's next ``begin_transaction`` asserts), and fencing is rare enough that one
        registration is no cost."""
        log.warning(
            "batch_fenced", group=self.group_id, error=type(error).__name__, reason=str(error)[:200]
        )
        await self.close()

    async def failed(self, error: BaseException) -> None:
        """The batch's transaction failed (a ``retryable`` error): drop the producer, wait a
        back-off that grows with the failures in a row, and give up after
        ``MAX_FAILED_IN_A_ROW``."""
        self._failed += 1
        log.warning(
            "batch_transaction_failed",
            group=self.group_id,
            error=type(error).__name__,
            in_a_row=self._failed,
        )
        await self.close()
        if self._failed >= MAX_FAILED_IN_A_ROW:
            raise TransactionsFailing(
                f"{self.group_id}: {self._failed} transactions failed in a row"
            ) from error
        await asyncio.sleep(min(5.0, 0.25 * 2**self._failed))

    async def close(self) -> None:
        """Stop the producer (fenced, failed, or the engine stopping)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await _stop(producer)


async def _stop(producer: AIOKafkaProducer, timeout_s: float = 10.0) -> None:
    """Stop a producer that may be broken: its stop flushes what is queued, which never
    happens once its sender died (aiokafka #1151) or while every broker is down. Given up
    after ``timeout_s``: whatever it still sends carries an epoch the id's next registration
    has fenced."""
    with contextlib.suppress(KafkaError, TimeoutError):
        async with asyncio.timeout(timeout_s):
            await producer.stop()
