"""In-memory clearing unit of work: the fake the service layer's unit tests run on.

Behaves as the PostgreSQL adapter does (``tests/port_suites/clearing.py`` holds both to
one contract): a transaction is all or nothing (an exception restores the state it
began from) and transactions run one at a time, which is stricter than the shared /
exclusive lock and so keeps every guarantee the service layer asks for.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.clearing.adapters.memory_repo import MemoryClearingRepository
from services.clearing.adapters.memory_state import ClearingState, LedgerRow, MemoryOutbox
from services.clearing.ports import Lock

__all__ = ["ClearingState", "LedgerRow", "MemoryClearingUnitOfWork", "MemoryOutbox"]


class MemoryClearingUnitOfWork:
    """``ports.ClearingUnitOfWork`` over a ``ClearingState`` (one per test)."""

    def __init__(self, state: ClearingState | None = None) -> None:
        self.state = state or ClearingState()
        self._lock = asyncio.Lock()
        self.transactions: list[Lock] = []
        """The lock of every transaction begun, in order (tests check what a use case asks)."""

    @asynccontextmanager
    async def transaction(
        self, lock: Lock = "none", *, snapshot: bool = False, fast_commit: bool = False
    ) -> AsyncIterator[MemoryClearingRepository]:
        async with self._lock:
            self.transactions.append(lock)
            saved = copy.deepcopy(self.state)
            try:
                yield MemoryClearingRepository(self.state)
            except BaseException:
                self._restore(saved)
                raise

    def _restore(self, saved: ClearingState) -> None:
        for name in ClearingState.__slots__:
            setattr(self.state, name, getattr(saved, name))

    def outbox_reader(self) -> MemoryOutbox:
        return MemoryOutbox(self.state)
