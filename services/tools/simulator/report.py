"""What a simulated run measured: every message sent and where it landed, the acks by status
and code, and the ack latency (the warm-up's apart)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from services.runtime.stats import percentile


@dataclass(frozen=True, slots=True)
class Sent:
    """Where one message landed: how the acceptance run finds its DLQ record."""

    bad: str | None
    topic: str
    partition: int
    offset: int


@dataclass
class Report:
    sent: int = 0
    sent_bad: int = 0
    expected_acks: int = 0
    acks: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    repeated_acks: int = 0
    repeated: list[str] = field(default_factory=list)
    """The first repeated acks, where they were read and what they acknowledge (ack ids and
    types, no personal data): enough to tell a processor's replay from a fencing failure."""
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)
    extra_acks: int = 0
    """Acks beyond one per input of this run (an input acked twice)."""
    foreign_acks: int = 0
    """Acks of inputs this run did not send (another run's, still being worked off)."""
    settle_acks: int = 0
    """Accepted acks of settlement requests (2207/2304): the settlements the run produced."""
    positions: list[Sent] = field(default_factory=list)
    """Every message sent, in send order, with where it landed."""
    warmup_s: float = 0.0
    """Requests sent in the first ``warmup_s`` seconds of the visits are timed apart: workers
    just started restore state, connect and fill their caches, and a hospital in steady state
    never sees that (``yidi simulate --warmup-s``)."""
    visits_started: float = 0.0
    last_ack: float = 0.0
    """When the last ack of this run's requests arrived (``perf_counter``): a run's end for
    its rate, not the moment the sender stopped waiting (it polls, then lingers for repeats)."""
    warmup_latencies_ms: list[float] = field(default_factory=list)

    def record_latency(self, sent: float, now: float) -> None:
        """One request's first ack, in the warm-up's figures or the steady state's."""
        into = (
            self.warmup_latencies_ms
            if sent - self.visits_started < self.warmup_s
            else self.latencies_ms
        )
        into.append((now - sent) * 1000)

    def as_dict(self) -> dict[str, object]:
        warmup = {} if self.warmup_s <= 0 else {"warmup": {
            "first_s": self.warmup_s, "acks": len(self.warmup_latencies_ms),
            "ack_latency_ms": {q: round(percentile(self.warmup_latencies_ms, q), 1) for q in (50, 95, 99)},
        }}  # fmt: skip
        return warmup | {
            "sent": self.sent, "sent_bad": self.sent_bad, "expected_acks": self.expected_acks,
            "acked": sum(self.acks.values()), "acks_by_status": dict(sorted(self.acks.items())),
            "rejected_by_code": dict(sorted(self.rejected.items())), "repeated_acks": self.repeated_acks,
            "settlements": self.settle_acks,
            "missing_acks": len(self.missing), "extra_acks": self.extra_acks,
            "foreign_acks": self.foreign_acks, "seconds": round(self.seconds, 2),
            "ack_latency_ms": {q: round(percentile(self.latencies_ms, q), 1) for q in (50, 95, 99)},
        }  # fmt: skip


@dataclass
class AckTally:
    """How many acks each request expects and has received; ``done`` is set once every
    request has all of its own. Kept as acks arrive, so waiting for the run's end costs
    nothing per poll: a scan of every request each 0.1 s was 7 % of the load generator's
    CPU in a 12,000-visit run (~76,000 requests)."""

    expected: Counter[str]
    received: Counter[str] = field(default_factory=Counter)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    remaining: int = 0

    def __post_init__(self) -> None:
        self.remaining = len(self.expected)
        if not self.remaining:
            self.done.set()

    def count(self, ack_for: str) -> int:
        """Count one ack of ``ack_for``; returns how many it has now (1: its first)."""
        n = self.received[ack_for] + 1
        self.received[ack_for] = n
        if n == self.expected[ack_for]:  # a Counter answers 0 for others, inserting nothing
            self.remaining -= 1
            if not self.remaining:
                self.done.set()
        return n

    @property
    def missing(self) -> list[str]:
        return sorted(c for c, n in self.expected.items() if self.received[c] < n)
