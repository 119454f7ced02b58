"""The member's transactions refuse themselves when the member has no generation: the broker
would take such offsets unchecked (tests/integration/events/stream/test_kip447.py)."""

from __future__ import annotations

import pytest

from events.stream.clients import KafkaConnection
from events.stream.kip447 import GroupMember, MemberFenced, installed
from events.stream.transactions import MemberTransactions, is_fenced, retryable


@pytest.mark.parametrize(("generation", "member_id"), [(-1, ""), (-1, "m-1"), (3, "")])
async def test_a_member_without_a_generation_does_not_commit(
    generation: int, member_id: str
) -> None:
    txn = MemberTransactions(KafkaConnection("127.0.0.1:1"), "g", "c", None, "i-1")
    with pytest.raises(MemberFenced, match="no generation") as refused:
        await txn.commit({}, GroupMember("g", generation, member_id, "i-1"))
    assert not txn.is_open, "nothing was registered with the broker"
    assert is_fenced(refused.value) and not retryable(refused.value)


def test_transactional_ids_are_per_member_and_stable_for_a_static_member() -> None:
    conn = KafkaConnection("127.0.0.1:1")
    assert MemberTransactions(conn, "yidi-adjudication", "c", None, "a-1").transactional_id == (
        "yidi-adjudication-a-1"
    )
    dynamic = {MemberTransactions(conn, "g", "c", None, None).transactional_id for _ in range(3)}
    assert len(dynamic) == 3 and all(t.startswith("g-c-") for t in dynamic)


async def test_the_v3_handler_is_installed_by_a_transactional_producer() -> None:
    from events.stream.clients import transactional_producer

    transactional_producer(KafkaConnection("127.0.0.1:1"), client_id="c", transactional_id="t")
    assert installed()


def test_a_stable_read_asks_again_only_for_the_cluster_side() -> None:
    from aiokafka.errors import (
        GroupAuthorizationFailedError,
        KafkaConnectionError,
        NodeNotReadyError,
    )

    from events.stream.kip447 import _again, _NotYet

    assert _again(_NotYet()) and _again(KafkaConnectionError()) and _again(NodeNotReadyError())
    assert not _again(GroupAuthorizationFailedError()) and not _again(ValueError())
