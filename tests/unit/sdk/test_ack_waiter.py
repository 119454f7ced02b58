"""Matching acks to sent messages, without a broker."""

from __future__ import annotations

import asyncio

from services.sdk.ack_waiter import AckWaiter


async def test_first_ack_resolves_and_resend_waits_for_its_own() -> None:
    w: AckWaiter[str] = AckWaiter()
    fut = w.expect("m1")
    assert w.deliver("m1", "accepted") is True
    assert await fut == "accepted"
    assert await w.expect("m1") == "accepted", "asking again returns the known ack"
    resend = w.expect("m1", fresh=True)
    assert not resend.done()
    assert w.deliver("m1", "duplicate") is False
    assert await resend == "duplicate"
    assert w.repeats == 1


async def test_ack_before_expect_is_kept() -> None:
    w: AckWaiter[str] = AckWaiter()
    w.deliver("m2", "rejected")
    assert w.unsolicited == 1
    assert await asyncio.wait_for(w.expect("m2"), 0.1) == "rejected"
