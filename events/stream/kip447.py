"""KIP-447 for aiokafka: transactional offsets fenced by the group, and stable offset reads.

Why: with one transactional producer per member (``transactions.py``) a zombie — a member
the group expelled while it was frozen — must still be refused when it wakes and commits its
batch. Kafka's answer (KIP-447, what Kafka Streams' exactly-once v2 runs on) is to send the
consumer's group metadata with the transaction's offsets: ``TxnOffsetCommit`` v3 carries the
generation, member id and instance id, and the group coordinator refuses a commit from a
generation that is over (``ILLEGAL_GENERATION``, ``UNKNOWN_MEMBER_ID``,
``FENCED_INSTANCE_ID``). The transaction then aborts: none of its outputs, state writes or
offsets is ever read by a ``read_committed`` consumer. The other half: the partition's new
owner reads the committed offsets with ``require_stable`` (``OffsetFetch`` v7), which the
broker answers with ``UNSTABLE_OFFSET_COMMIT`` while a transaction that carries offsets of
the partition is still open — so the new owner restores the state only after the former
owner's last transaction has ended, committed or aborted.

aiokafka 0.14 sends only ``TxnOffsetCommit`` v0 and ``OffsetFetch`` without
``require_stable``. ``install`` swaps the producer's offset-commit handler for one that sends
v3 when the group id it is given is a ``GroupMember`` (a ``str`` that also carries the
metadata, so it travels through aiokafka's transaction manager unchanged); every other error
keeps aiokafka's own handling. A unit test checks the handler is installed and that both
requests encode as Kafka's schemas say; the integration tests show the broker's refusal.
"""

from __future__ import annotations

import collections
from types import SimpleNamespace
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, for_code
from aiokafka.producer import sender
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Boolean,
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_fixed

log = structlog.get_logger("yidi.stream.kip447")

FENCING_CODES = {22: "ILLEGAL_GENERATION", 25: "UNKNOWN_MEMBER_ID", 27: "REBALANCE_IN_PROGRESS",
                 82: "FENCED_INSTANCE_ID"}  # fmt: skip
"""The group coordinator's refusals of a member's transactional offsets: the member's
generation is over (or ending), so its batch must not count."""
_UNSTABLE_OFFSET_COMMIT = 88
_COORDINATOR_MOVED = {14, 15, 16}  # load in progress, not available, not coordinator
STABLE_WAIT_S = 300.0
"""How long the new owner of a partition waits for the former owner's open transaction
(ended by the coordinator after ``transactions.TRANSACTION_TIMEOUT_MS``) and for a cluster
that does not answer (a coordinator failover, every broker down): the same patience as a
transactional id's registration (``transactions.OPEN_TIMEOUT_S``)."""


class MemberFenced(KafkaError):  # type: ignore[misc]
    """The group refused this member's transactional offsets: another generation owns the
    partitions now. The transaction is aborted; the batch does not count."""

    code = "E_TXN_MEMBER_FENCED"


class GroupMember(str):
    """A consumer group id that carries the member's metadata (generation, member id,
    instance id) through aiokafka's ``send_offsets_to_transaction`` to the request."""

    generation_id: int
    member_id: str
    instance_id: str | None

    def __new__(cls, group_id: str, generation_id: int, member_id: str,
                instance_id: str | None) -> GroupMember:  # fmt: skip
        self = super().__new__(cls, group_id)
        self.generation_id, self.member_id, self.instance_id = generation_id, member_id, instance_id
        return self


def group_member(consumer: AIOKafkaConsumer, group_id: str) -> GroupMember:
    """The consumer's group metadata as it is now (aiokafka keeps it on its coordinator)."""
    coordinator = consumer._coordinator
    return GroupMember(
        group_id, coordinator.generation, coordinator.member_id, coordinator._group_instance_id
    )


_TAGS = ("tags", TaggedFields)


def _per_topic(*partition: tuple[str, Any]) -> tuple[str, CompactArray]:
    """Kafka's flexible "topics, each with its partitions" field (the partition fields
    differ per request and response)."""
    name = ("name", CompactString("utf-8"))
    return ("topics", CompactArray(name, ("partitions", CompactArray(*partition, _TAGS)), _TAGS))


class TxnOffsetCommitResponse_v3(Response):  # type: ignore[misc]
    API_KEY = 28
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        _per_topic(("partition_index", Int32), ("error_code", Int16)),
        _TAGS,
    )  # fmt: skip


class TxnOffsetCommitRequest_v3(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 28
    API_VERSION = 3
    RESPONSE_TYPE = TxnOffsetCommitResponse_v3
    SCHEMA = Schema(
        ("transactional_id", CompactString("utf-8")),
        ("group_id", CompactString("utf-8")),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("generation_id", Int32),
        ("member_id", CompactString("utf-8")),
        ("group_instance_id", CompactString("utf-8")),
        _per_topic(("partition_index", Int32), ("committed_offset", Int64),
                   ("committed_leader_epoch", Int32), ("committed_metadata", CompactString("utf-8"))),
        _TAGS,
    )  # fmt: skip


class TxnOffsetCommitV3(Request[TxnOffsetCommitRequest_v3]):  # type: ignore[misc]
    """``TxnOffsetCommit`` with the member's group metadata (no older version: without it
    a zombie would not be fenced, so a broker that lacks v3 is an error, not a fallback)."""

    API_KEY = 28

    def __init__(self, transactional_id: str, member: GroupMember, producer_id: int,
                 producer_epoch: int, topics: list[tuple[str, list[tuple[int, int, str]]]]) -> None:  # fmt: skip
        self._fields: tuple[Any, ...] = (
            transactional_id, str(member), producer_id, producer_epoch, member.generation_id,
            member.member_id, member.instance_id,
            [(t, [(p, off, -1, meta, {}) for p, off, meta in parts], {}) for t, parts in topics],
            {},
        )  # fmt: skip

    def build(
        self, request_struct_class: type[TxnOffsetCommitRequest_v3]
    ) -> TxnOffsetCommitRequest_v3:
        return request_struct_class(*self._fields)


class _Handler(sender.TxnOffsetCommitHandler):  # type: ignore[misc]
    """aiokafka's handler, sending v3 for a ``GroupMember`` and turning the group's fencing
    codes into ``MemberFenced`` (an abortable error: the producer stays usable)."""

    def create_request(self) -> Any:
        if not isinstance(self._group_id, GroupMember):
            return super().create_request()
        txn = self._sender._txn_manager
        topics: dict[str, list[tuple[int, int, str]]] = collections.defaultdict(list)
        for tp, offset in sorted(self._offsets.items()):
            topics[tp.topic].append((tp.partition, offset.offset, offset.metadata))
        return TxnOffsetCommitV3(
            txn.transactional_id, self._group_id, txn.producer_id, txn.producer_epoch,
            list(topics.items()),
        )  # fmt: skip

    def handle_response(self, resp: Any) -> float | None:
        if not isinstance(resp, TxnOffsetCommitResponse_v3):
            return super().handle_response(resp)  # type: ignore[no-any-return]
        codes = {code for _, parts, _ in resp.topics for _, code, _ in parts}
        if fencing := codes & FENCING_CODES.keys():
            member = self._group_id
            self._sender._txn_manager.error_transaction(MemberFenced(
                f"{member!s}: transactional offsets refused "
                f"({', '.join(FENCING_CODES[c] for c in sorted(fencing))}), generation {member.generation_id}"
            ))  # fmt: skip
            return None
        v0_shaped = SimpleNamespace(
            errors=[(t, [(p, code) for p, code, _ in parts]) for t, parts, _ in resp.topics]
        )
        return super().handle_response(v0_shaped)  # type: ignore[no-any-return]


def install() -> None:
    """Make aiokafka's producers send ``TxnOffsetCommit`` v3 for a ``GroupMember``
    (idempotent; the sender looks the handler class up by its module name at each commit)."""
    if sender.TxnOffsetCommitHandler is not _Handler:
        sender.TxnOffsetCommitHandler = _Handler


def installed() -> bool:
    return sender.TxnOffsetCommitHandler is _Handler


class OffsetFetchResponse_v7(Response):  # type: ignore[misc]
    API_KEY = 9
    API_VERSION = 7
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        _per_topic(("partition_index", Int32), ("committed_offset", Int64),
                   ("committed_leader_epoch", Int32), ("metadata", CompactString("utf-8")),
                   ("error_code", Int16)),
        ("error_code", Int16),
        _TAGS,
    )  # fmt: skip


class OffsetFetchRequest_v7(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 9
    API_VERSION = 7
    RESPONSE_TYPE = OffsetFetchResponse_v7
    SCHEMA = Schema(
        ("group_id", CompactString("utf-8")),
        ("topics", CompactArray(("name", CompactString("utf-8")),
                                ("partition_indexes", CompactArray(Int32)), _TAGS)),
        ("require_stable", Boolean),
        _TAGS,
    )  # fmt: skip


class StableOffsetFetch(Request[OffsetFetchRequest_v7]):  # type: ignore[misc]
    """``OffsetFetch`` with ``require_stable``: refused while a transaction holding offsets
    of these partitions is open."""

    API_KEY = 9

    def __init__(self, group_id: str, tps: list[TopicPartition]) -> None:
        topics: dict[str, list[int]] = collections.defaultdict(list)
        for tp in sorted(tps):
            topics[tp.topic].append(tp.partition)
        self._fields: tuple[Any, ...] = (
            group_id,
            [(t, ps, {}) for t, ps in topics.items()],
            True,
            {},
        )

    def build(self, request_struct_class: type[OffsetFetchRequest_v7]) -> OffsetFetchRequest_v7:
        return request_struct_class(*self._fields)


class _NotYet(Exception):
    """A transaction still holds offsets of the partitions, or the coordinator moved."""


def _again(exc: BaseException) -> bool:
    """Worth asking again: not yet stable, or the cluster's side (a broker or the coordinator
    unreachable: aiokafka's ``retriable`` errors); never a refusal such as an authorization."""
    return isinstance(exc, _NotYet) or (isinstance(exc, KafkaError) and exc.retriable)


async def await_stable(
    consumer: AIOKafkaConsumer, group_id: str, tps: list[TopicPartition],
    timeout_s: float = STABLE_WAIT_S,
) -> dict[TopicPartition, int]:  # fmt: skip
    """The group's committed offsets of ``tps`` once no open transaction holds any of them
    (-1: none committed). Asks again while a transaction holds them or the cluster does not
    answer, for up to ``timeout_s`` (then the last error is raised and the worker stops for
    its supervisor); the waits are logged (they are the zombie window closing)."""
    coordinator, client = consumer._coordinator, consumer._client
    waited = 0
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_again), wait=wait_fixed(0.1),
        stop=stop_after_delay(timeout_s), reraise=True,
    ):  # fmt: skip
        with attempt:
            await coordinator.ensure_coordinator_known()
            node = coordinator.coordinator_id
            try:
                resp = await client.send(node, StableOffsetFetch(group_id, tps))
            except KafkaError:
                coordinator.coordinator_dead()  # looked up again on the next attempt
                raise
            if resp.error_code in _COORDINATOR_MOVED:
                coordinator.coordinator_dead()
                raise _NotYet
            if resp.error_code:
                raise for_code(resp.error_code)(f"OffsetFetch of {group_id}")
            offsets: dict[TopicPartition, int] = {}
            for topic, parts, _ in resp.topics:
                for partition, offset, _epoch, _meta, code, _ in parts:
                    if code == _UNSTABLE_OFFSET_COMMIT:
                        waited += 1
                        raise _NotYet
                    if code:
                        raise for_code(code)(f"OffsetFetch of {group_id} {topic}[{partition}]")
                    offsets[TopicPartition(topic, partition)] = offset
    if waited:
        log.info("restore_waited_for_open_transaction", group=group_id,
                 partitions=sorted({tp.partition for tp in tps}), polls=waited)  # fmt: skip
    return offsets
