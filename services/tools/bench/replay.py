"""Rebuild rate: the retained settlement feed into an empty ledger and clearing, per second.

Each run rebuilds the projections from the whole log into a throw-away database (the
same code path as ``yidi replay rebuild``). The baseline, measured on the same spans in
the same run, is reading the records from the broker with nothing done to them: the
floor any replay pays.

``copies`` > 1 measures at scale: a scratch topic holds every record of the feed that many
times, each copy with its own ``setl_id`` (and ``orig_setl_id``, ``ce_id``) so it lands as
a settlement of its own, in the original's partition; the rebuilds read that topic.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from services.ops.core.replay import RateLimit, Span
from services.ops.log_reader import log_bounds, ops_consumer, read_spans
from services.ops.replay import PROJECTIONS, rebuild
from services.runtime import principals
from services.runtime.settings import Settings
from services.testing.scratch_db import fresh_database


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


async def _scaled_feed(bootstrap: KafkaConnection, topic: str, copies: int) -> tuple[str, int]:
    """A scratch topic with ``copies`` copies of ``topic``'s records (see the module doc)."""
    async with ops_consumer(bootstrap) as consumer:
        _starts, ends = await log_bounds(consumer, topic)
        spans = [Span(p, 0, e) for p, e in sorted(ends.items())]
        records = [r async for batch in read_spans(consumer, topic, spans, RateLimit(None))
                   for r in batch]  # fmt: skip
    scratch = f"bench.settlement.{uuid.uuid4().hex[:8]}"
    await apply(bootstrap, (Topic(scratch, "person", "bench", len(ends)),), "local")
    producer = clients.producer(bootstrap, linger_ms=20, acks=1)
    await producer.start()
    try:
        for copy in range(copies):
            for rec in records:
                value, headers = _copy(rec.value, rec.headers, copy)
                await producer.send(scratch, value, key=rec.key, headers=headers,
                                    partition=rec.partition)  # fmt: skip
        await producer.flush()
    finally:
        await producer.stop()
    return scratch, len(records) * copies


def _copy(
    value: bytes | None, headers: Sequence[tuple[str, bytes]], copy: int
) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    suffix = f"-c{copy}" if copy else ""
    out = [(k, v + suffix.encode() if k == "ce_id" else v) for k, v in headers]
    if not value or not suffix:
        return value, out
    doc = orjson.loads(value)
    info = doc.get("setlinfo") or {}
    if "setl_id" in info:
        info["setl_id"] += suffix
    if doc.get("orig_setl_id"):
        doc["orig_setl_id"] += suffix
    return orjson.dumps(doc), out


async def _read_only(bootstrap: KafkaConnection, topic: str) -> tuple[int, float]:
    async with ops_consumer(bootstrap) as consumer:
        _starts, ends = await log_bounds(consumer, topic)
        spans = [Span(p, 0, e) for p, e in sorted(ends.items())]
        started = time.perf_counter()
        n = 0
        async for batch in read_spans(consumer, topic, spans, RateLimit(None)):
            n += len(batch)
        return n, time.perf_counter() - started


async def run(
    settings: Settings,
    codec: Codec,
    runs: int,
    projections: tuple[str, ...],
    copies: int = 1,
    feed: str = PROJECTIONS["ledger"].topic,
) -> ReplayBench:
    rates: dict[str, list[float]] = {p: [] for p in projections}
    reads: list[float] = []
    records = 0
    bootstrap = settings.kafka(principals.ADMIN)  # a tool: it creates and drops scratch topics
    topic, source = feed, None if feed == PROJECTIONS["ledger"].topic else feed
    if copies > 1:
        topic, _ = await _scaled_feed(bootstrap, feed, copies)
        source = topic
    try:
        for _ in range(runs):
            n, seconds = await _read_only(bootstrap, topic)
            reads.append(n / seconds)
            async with fresh_database(settings) as db_url:
                for name in projections:
                    projection, _, mode = name.partition(":")
                    report = await rebuild(
                        bootstrap, db_url, codec, projection, "-bench",
                        trusted=mode == "trusted", source_topic=source,
                    )  # fmt: skip
                    rates[name].append(report.rate)
                    records = report.records
    finally:
        if source is not None and source != feed:
            await delete_topics(bootstrap, [source])
    return ReplayBench(records, rates, reads)
