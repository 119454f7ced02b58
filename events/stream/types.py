"""What a task returns for one input record: messages to publish and state to log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

Headers = list[tuple[str, bytes]]


@dataclass(slots=True)  # a value: never mutated once built (not frozen: see below)
class Output:
    """One message to publish. Deterministic for a given input and state.

    Not ``frozen``: a frozen dataclass sets each field through ``object.__setattr__``, 0.74
    vs 0.19 µs to build one, and every processor builds about one per input record (``yidi
    bench task``). Nothing hashed one (its ``headers`` list made the hash raise anyway)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = field(default_factory=list)
    outcome: tuple[str, str] | None = field(default=None, compare=False)
    """What this output says about its input, for metrics only (never on the wire):
    ``(status, code)`` of an ack (``accepted`` / ``rejected`` / ``duplicate``, the error
    code or ``""``), ``("dlq", code)`` of a DLQ record, ``None`` for anything else."""


@dataclass(slots=True)  # a value: never mutated once built (not frozen, as ``Output``)
class StateWrite:
    """A new value (or a tombstone, ``None``) for one key of the task's store."""

    key: bytes
    value: bytes | None


@dataclass(frozen=True, slots=True)
class InputRecord:
    """The engine's view of a consumed record (decoupled from aiokafka's class)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp_ms: int
    damaged: str | None = None
    """Why the client library could not parse this record (``events/stream/salvage.py``):
    it is dead-lettered by position, never given to a task."""
    raw_header_names: tuple[bytes, ...] | None = None
    """The header names as on the wire, when one of them was not UTF-8."""


@dataclass(slots=True)
class Result:
    outputs: list[Output] = field(default_factory=list)
    writes: list[StateWrite] = field(default_factory=list)


class Task(Protocol):
    """Owns one partition number across all co-partitioned inputs."""

    def process(self, record: InputRecord) -> Result:
        """Handle one record. Must not raise for bad input: return a DLQ output instead.
        If it raises all the same, the engine dead-letters the record (``E_INTERNAL``), so
        a task must change its state only once the record's outputs are built."""
        ...

    def flush_state(self) -> list[StateWrite]:
        """State writes accumulated since the last call (one per changed key, coalesced):
        called once per batch, after all its records were processed."""
        ...


class TaskFactory(Protocol):
    def __call__(self, partition: int, restored: dict[bytes, bytes]) -> Task:
        """Build the task for ``partition`` from its restored store (key -> latest value)."""
        ...
