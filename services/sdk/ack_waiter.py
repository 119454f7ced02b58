"""Matching acks to the messages that asked for them.

Pure bookkeeping (no Kafka): the SDK registers a future per sent ``ce_id``
and resolves it when the ack that refers to it arrives. Repeated acks for the
same message (a processor's replay after a crash) resolve nothing twice and
are counted, so callers see each message acknowledged exactly once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from events.wire.limits import ack_ref

A = TypeVar("A")


@dataclass(slots=True)
class AckWaiter(Generic[A]):
    pending: dict[str, asyncio.Future[A]] = field(default_factory=dict)
    resolved: dict[str, A] = field(default_factory=dict)
    repeats: int = 0
    unsolicited: int = 0

    def expect(self, ce_id: str, fresh: bool = False) -> asyncio.Future[A]:
        """A future for the ack of ``ce_id`` — already resolved if that ack came first, unless
        ``fresh`` (a re-send of the same ``ce_id`` waits for its own re-ack). An ack names its
        message by ``ack_ref(ce_id)`` (a ``ce_id`` too long for the ack contract is cut)."""
        ce_id = ack_ref(ce_id)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[A] = loop.create_future()
        if not fresh and ce_id in self.resolved:
            fut.set_result(self.resolved[ce_id])
        else:
            self.pending[ce_id] = fut
        return fut

    def deliver(self, ce_id: str, ack: A) -> bool:
        """Record a distinct ack; True when it is the first for ``ce_id`` (later ones are
        re-acks of re-sends and resolve only a ``fresh`` waiter)."""
        first = ce_id not in self.resolved
        self.repeats += not first
        self.resolved[ce_id] = ack
        fut = self.pending.pop(ce_id, None)
        if fut is None:
            self.unsolicited += first
        elif not fut.done():
            fut.set_result(ack)
        return first
