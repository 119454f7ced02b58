"""A static member that is stopped on purpose leaves its group at once.

A worker with a static member id (``YIDI_INSTANCE_ID``, KIP-345) stays a member of its group
when its client closes: aiokafka, like Kafka's own client, sends no LeaveGroup for a static
member, so that a crashed worker restarted under the same id takes its partitions back
without a rebalance. That is right for a crash and wrong for a stop: the stopped worker's
partitions then wait out the session timeout (10 s) before the group hands them to the
members still running, and an operator's ``yidi replay`` (which refuses a group with live
members) waits with them. So the stream layer, after a stop has committed everything,
removes its own member with LeaveGroup v3 (the request Kafka's
``Admin.removeMembersFromConsumerGroup`` sends; aiokafka 0.14 speaks only v0/v1, which carry
no instance id). The request names the member id the worker last had, so a successor that
already rejoined under the same instance id is not removed: the broker answers
``FENCED_INSTANCE_ID`` and nothing changes.

Best effort and bounded: a stop never fails or hangs on it (a broker outage leaves the member
to its session timeout, as before).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

from events.stream import clients
from events.stream.clients import KafkaConnection

log = structlog.get_logger("yidi.stream.leave")

LEAVE_TIMEOUT_S = 5.0
"""At most this long added to a stop (then the session timeout removes the member)."""

_NO_ERROR, _UNKNOWN_MEMBER_ID, _FENCED_INSTANCE_ID = 0, 25, 82


class LeaveGroupResponse_v3(Response):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("members", Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")),
                          ("error_code", Int16))),
    )  # fmt: skip


class LeaveGroupRequest_v3(RequestStruct):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = LeaveGroupResponse_v3
    SCHEMA = Schema(
        ("group", String("utf-8")),
        ("members", Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")))),
    )


class RemoveStaticMember(Request[LeaveGroupRequest_v3]):  # type: ignore[misc]
    """LeaveGroup for one static member, by its member id and its instance id."""

    API_KEY = 13

    def __init__(self, group: str, member_id: str, instance_id: str) -> None:
        self._group, self._member = group, (member_id, instance_id)

    def build(self, request_struct_class: type[LeaveGroupRequest_v3]) -> LeaveGroupRequest_v3:
        return request_struct_class(self._group, [self._member])


def static_member_id(consumer: AIOKafkaConsumer | None) -> str | None:
    """The member id the broker gave ``consumer`` if it is a static member that joined, read
    before ``stop()`` (which forgets it). aiokafka keeps it on its group coordinator only."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or getattr(coordinator, "_group_instance_id", None) is None:
        return None
    member_id = getattr(coordinator, "member_id", "")
    return member_id if isinstance(member_id, str) and member_id else None


class Membership(Protocol):
    """What a loop's config says of its membership (EngineConfig, LoopConfig)."""

    @property
    def bootstrap(self) -> KafkaConnection: ...
    @property
    def group_id(self) -> str: ...
    @property
    def instance_id(self) -> str | None: ...


async def leave_group(config: Membership, member_id: str | None) -> str:
    """Remove the static member ``(member_id, config.instance_id)`` from its group; what happened, as
    a word for the log and the tests: ``left``, ``gone`` (the session had already expired),
    ``replaced`` (a successor holds the instance id), ``failed``, or ``dynamic`` (not a static
    member that joined: nothing to do, the client left by itself)."""
    instance_id, group = config.instance_id, config.group_id
    if instance_id is None or member_id is None:
        return "dynamic"
    try:
        async with asyncio.timeout(LEAVE_TIMEOUT_S):
            return await _leave(config.bootstrap, group, instance_id, member_id)
    except Exception as err:  # a stop goes on, whatever the broker says
        log.warning("group_leave_failed", group=group, instance_id=instance_id,
                    error=type(err).__name__)  # fmt: skip
        return "failed"


async def _leave(conn: KafkaConnection, group: str, instance_id: str, member_id: str) -> str:
    admin = clients.admin(conn, client_id="yidi-leave")
    await admin.start()
    try:
        node = await admin.find_coordinator(group)
        response = await admin._send_request_to_node(  # aiokafka has no public raw send
            node, RemoveStaticMember(group, member_id, instance_id)
        )
    finally:
        await admin.close()
    if response.error_code != _NO_ERROR:
        raise for_code(response.error_code)(f"LeaveGroup of {group}")
    ((_member, _instance, code),) = response.members
    outcome = {_NO_ERROR: "left", _UNKNOWN_MEMBER_ID: "gone", _FENCED_INSTANCE_ID: "replaced"}
    if code not in outcome:
        raise for_code(code)(f"LeaveGroup of {group}")
    log.info("group_left", group=group, instance_id=instance_id, outcome=outcome[code])
    return outcome[code]
