"""What a stream engine is configured with and what it counts, and the topics it needs.

Apart from ``engine.py`` so that the loop reads as the loop; workers, benches and tests build
an ``EngineConfig`` without reading how batches are committed.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field

import structlog

from events.stream import clients
from events.stream.clients import KafkaConnection


@dataclass(slots=True)
class EngineStats:
    records: int = 0
    failed: int = 0
    """Records whose processing raised, or that the client could not parse (dead-lettered)."""
    outputs: int = 0
    writes: int = 0
    batches: int = 0
    restores: int = 0
    restore_seconds: float = 0.0
    assigned: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    bootstrap: KafkaConnection
    group_id: str
    inputs: tuple[str, ...]
    changelog: str | None
    client_id: str = "yidi"
    max_batch: int = 2000
    fetch_timeout_ms: int = 50
    linger_ms: int = 0
    instance_id: str | None = None
    transactions: bool = False
    """Each batch (outputs, state writes, consumed offsets) commits as one Kafka transaction
    of the member's transactional producer, its offsets carrying the group generation
    (KIP-447, ``kip447.py``): the group refuses a zombie's batch. Off: the at-least-once
    path (outputs, then state, then the commit)."""
    session_timeout_ms: int = 10_000
    """How long the group waits for a silent member before expelling it. 10 s in every
    worker; tests of a frozen member take the broker's minimum (6 s) to wait less."""
    pause_before_publish: int = 0
    """Fault injection for the zombie test only: the process stops itself (SIGSTOP) when its
    Nth batch is computed and about to be published; 0 (always, outside that test) never."""

    def pause_if_due(self, batch: int) -> None:
        """Stop this process (SIGSTOP) if ``batch`` is the one ``pause_before_publish`` names."""
        if self.pause_before_publish and batch == self.pause_before_publish:
            structlog.get_logger("yidi.stream").warning("fault_injection_sigstop", batch=batch)
            os.kill(os.getpid(), signal.SIGSTOP)


class MissingTopics(RuntimeError):
    """A worker's input or changelog topic does not exist: run `yidi topics apply` first."""


async def require_topics(bootstrap: KafkaConnection, names: list[str]) -> None:
    admin = clients.admin(bootstrap, client_id="yidi-engine")
    await admin.start()
    try:
        missing = sorted(set(names) - set(await admin.list_topics()))
    finally:
        await admin.close()
    if missing:
        raise MissingTopics(f"missing topics {missing}: run `yidi topics apply`")
