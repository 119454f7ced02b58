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

A = TypeVar("A")


@dataclass(slots=True)
class AckWaiter(Generic[A]):
    pending: dict[str, asyncio.Future[A]] = field(default_factory=dict)
    resolved: dict[str, A] = field(default_factory=dict)
    repeats: int = 0
    unsolicited: int = 0

    def expect(self, ce_id: str) -> asyncio.Future[A]:
        """A future for the ack of ``ce_id`` (already resolved if that ack came first)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[A] = loop.create_future()
        if ce_id in self.resolved:
            fut.set_result(self.resolved[ce_id])
        else:
            self.pending[ce_id] = fut
        return fut

    def deliver(self, ce_id: str, ack: A) -> bool:
        """Record an ack; True when it is the first for ``ce_id``."""
        if ce_id in self.resolved:
            self.repeats += 1
            return False
        self.resolved[ce_id] = ack
        fut = self.pending.pop(ce_id, None)
        if fut is None:
            self.unsolicited += 1
        elif not fut.done():
            fut.set_result(ack)
        return True
