"""Where the supervision worker's time goes, per stage: cumulative seconds and counts, logged
with ``supervision_progress`` (``supervision_stages``) and read by the bench.

Why: the worker's lag during the pipeline bench was erratic (docs/supervision.md,
"Throughput"), and a lag alone does not say whether the records were not fetched, waited in
faust's stream buffer, or were slow in the agent (decode, state, rules, the alert sink to
PostgreSQL, the outlier stream's sends, the table writes) or in faust's commit (the producer
flush before each offset commit). Each stage is a ``perf_counter`` pair around an ``await``
or a call the worker already makes; no personal data, no per-record log line.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Stages:
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    longest: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.counts[name] = self.counts.get(name, 0) + 1
        if seconds > self.longest.get(name, 0.0):
            self.longest[name] = seconds

    def lap(self, name: str, start: float) -> float:
        """``add`` of the time since ``start``; the time now, the next stage's start. For the
        per-event stages: a context manager per stage and event (a generator, its frames, a
        ``try``) was ~3 % of the worker's thread."""
        now = time.perf_counter()
        self.add(name, now - start)
        return now

    @contextmanager
    def time(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def snapshot(self) -> dict[str, dict[str, float]]:
        """Per stage: total seconds, count and the longest single one (seconds); plain
        counters (no time) as a count only."""
        out: dict[str, dict[str, float]] = {}
        for name in sorted(self.counts):
            if name in self.seconds:
                out[name] = {
                    "s": round(self.seconds[name], 3),
                    "n": self.counts[name],
                    "max_s": round(self.longest[name], 3),
                }
            else:
                out[name] = {"n": self.counts[name]}
        return out


async def timed(events: AsyncIterator[T], stages: Stages, name: str) -> AsyncIterator[T]:
    """``events`` with ``<name>_wait`` (the agent idle, waiting for faust's stream) and
    ``<name>_handle`` (the agent's work on each event) added to ``stages``."""
    mark = time.perf_counter()
    async for event in events:
        now = time.perf_counter()
        stages.add(f"{name}_wait", now - mark)
        yield event
        mark = time.perf_counter()
        stages.add(f"{name}_handle", mark - now)
