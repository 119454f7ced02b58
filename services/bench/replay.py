"""Rebuild rate: the retained settlement feed into an empty ledger and clearing, per second.

Each run rebuilds both projections from the whole log into a throw-away database (the
same code path as ``yidi replay rebuild``). The baseline, measured on the same spans in
the same run, is reading the records from the broker with nothing done to them: the
floor any replay pays.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from events.codec import Codec
from services.ops.core.replay import RateLimit, Span
from services.ops.log_reader import log_bounds, ops_consumer, read_spans
from services.ops.replay import PROJECTIONS, rebuild
from services.runtime.scratch_db import fresh_database
from services.runtime.settings import Settings


@dataclass(frozen=True, slots=True)
class ReplayBench:
    records: int
    rebuild_per_s: dict[str, list[float]]
    read_per_s: list[float]

    def as_dict(self) -> dict[str, object]:
        read = statistics.median(self.read_per_s)
        out: dict[str, object] = {
            "records": self.records,
            "baseline_read_per_s_median": round(read),
            "baseline_read_per_s_runs": [round(r) for r in self.read_per_s],
        }
        for name, rates in self.rebuild_per_s.items():
            median = statistics.median(rates)
            out[f"rebuild_{name}_per_s_median"] = round(median)
            out[f"rebuild_{name}_per_s_runs"] = [round(r) for r in rates]
            out[f"rebuild_{name}_to_read_ratio"] = round(median / read, 3) if read else None
        return out


async def _read_only(bootstrap: str, topic: str) -> tuple[int, float]:
    async with ops_consumer(bootstrap) as consumer:
        _starts, ends = await log_bounds(consumer, topic)
        spans = [Span(p, 0, e) for p, e in sorted(ends.items())]
        started = time.perf_counter()
        n = 0
        async for batch in read_spans(consumer, topic, spans, RateLimit(None)):
            n += len(batch)
        return n, time.perf_counter() - started


async def run(
    settings: Settings, codec: Codec, runs: int, projections: tuple[str, ...]
) -> ReplayBench:
    rates: dict[str, list[float]] = {p: [] for p in projections}
    reads: list[float] = []
    records = 0
    for _ in range(runs):
        n, seconds = await _read_only(settings.kafka_bootstrap, PROJECTIONS["ledger"].topic)
        reads.append(n / seconds)
        async with fresh_database(settings) as db_url:
            for name in projections:
                projection, _, mode = name.partition(":")
                report = await rebuild(
                    settings.kafka_bootstrap, db_url, codec, projection, "-bench",
                    trusted=mode == "trusted",
                )  # fmt: skip
                rates[name].append(report.rate)
                records = report.records
    return ReplayBench(records, rates, reads)
