"""``yidi replay``: re-read a stretch of the retained log.

Three targets, one reader:

- **rebuild** — recreate a projection (ledger, clearing positions, filings) from nothing:
  its tables are emptied and the whole log is read through the same mapper and batch
  write the live sink uses, under the live sink's consumer group, so the live worker
  resumes exactly where the rebuild stopped. Refused while that group has members, and
  refused if retention has deleted the start of the log.
- **production** — read a range again into production. For the settlement feed that is
  the ledger's and clearing's idempotent batch writes (insert-if-absent by ``setl_id``):
  nothing that already landed changes. For the stream processors' inputs it rewinds the
  processor's committed offsets; the restarted processor recognises every record its
  changelog already holds (by source offset) and emits nothing for it.
- **shadow** — recompute settlements with other reference data (a changed policy) into
  a shadow schema and shadow topics; production is only read. See ``shadow.py``.

Interrupted runs resume: positions of a rebuild live in ``sink_offsets`` (written with
the rows) and the run in ``replay_runs``; a second ``rebuild`` continues the first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Sequence

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.pools import PoolingRegions
from events import catalog
from events.admin import describe_group
from events.stream import clients, reader
from events.stream.clients import KafkaConnection
from events.stream.types import InputRecord, Output
from events.wire.codec import Codec
from services.clearing.projection import CLEARING
from services.ledger.projection import LEDGER
from services.ops import trusted_rebuild
from services.ops.core.errors import BadArgument, GroupActive
from services.ops.core.replay import RangeRequest, RateLimit, Span, require_whole_log
from services.ops.filings_rebuild import drive_filings
from services.ops.log_reader import log_bounds, ops_consumer, read_spans, resolve_spans
from services.ops.runs import Progress, RunReport, close_run, open_run, run_spans, spans_json
from services.registration.projection import FILINGS
from services.runtime.positions import PgPositions, forget_positions, record_positions
from services.runtime.projection import BatchWrite, Mapper, Projection
from services.runtime.reference import load_pooling_regions

log = structlog.get_logger("yidi.ops.replay")

IDLE_WAIT_S = 15.0
"""Longer than the workers' session timeout (10 s, events/stream/clients.py)."""


PROJECTIONS: dict[str, Projection] = {p.name: p for p in (LEDGER, CLEARING, FILINGS)}
"""The projections a rebuild recreates, as each processor declares them."""
ENGINE_GROUPS = catalog.ENGINE_GROUPS


# -- the log ---------------------------------------------------------------------------------


async def require_idle(bootstrap: KafkaConnection, group: str, wait_s: float = IDLE_WAIT_S) -> None:
    """Refuse when ``group`` has live members: they would race the replay's writes. A worker
    killed without leaving stays a member until its session times out, so wait that long."""
    admin = clients.admin(bootstrap, client_id="yidi-ops")
    await admin.start()
    try:
        deadline = time.monotonic() + wait_s
        members = await _members(admin, group)
        for _ in range(int(wait_s / 0.5)):
            if not members or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.5)
            members = await _members(admin, group)
    finally:
        await admin.close()
    if members:
        raise GroupActive(
            f"consumer group {group} has {members} live member(s): stop its workers first "
            "(the replay writes under the same group)"
        )


async def _members(admin: AIOKafkaAdminClient, group: str) -> int:
    return (await describe_group(admin, group))[1]


# -- sinks (ledger, clearing) ----------------------------------------------------------------


def _sink(
    projection: Projection, codec: Codec, pools: PoolingRegions, *, rebuild: bool
) -> tuple[Mapper, BatchWrite]:
    assert projection.mapper is not None and projection.writer is not None
    return projection.mapper(codec, pools), projection.writer(codec, rebuild)


async def _drive_sink(
    consumer: AIOKafkaConsumer,
    pool: asyncpg.Pool,
    projection: Projection,
    group: str,
    codec: Codec,
    spans: Sequence[Span],
    limit: RateLimit,
    progress: Progress,
    *,
    rebuild: bool,
    pools: PoolingRegions,
) -> tuple[int, int, int, int]:
    """Map and write batch by batch, one batch landing while the next is read and mapped
    (batches land in read order: one in flight)."""
    to_row, write = _sink(projection, codec, pools, rebuild=rebuild)
    totals = [0, 0, 0, 0]

    async def land(batch: list[InputRecord], rows: list[object]) -> None:
        positions = {(rec.topic, rec.partition): rec.offset + 1 for rec in batch}
        async with pool.acquire() as conn:
            outcome = await write(conn, group, rows, positions)
        for i, n in enumerate((len(batch), outcome.inserted, outcome.already_present,
                               len(batch) - len(rows))):  # fmt: skip
            totals[i] += n
        progress(len(batch))

    async def mapped() -> AsyncIterator[tuple[list[InputRecord], list[object]]]:
        async for batch in read_spans(consumer, projection.topic, spans, limit):
            rows = [
                r for rec in batch if (r := to_row(rec)) is not None and not isinstance(r, Output)
            ]
            yield batch, rows

    await reader.drive(mapped(), lambda mapped_batch: land(*mapped_batch))
    return totals[0], totals[1], totals[2], totals[3]


async def rebuild(
    bootstrap: KafkaConnection,
    database_url: str,
    codec: Codec,
    projection_name: str,
    group_suffix: str = "",
    rate: float | None = None,
    progress: Progress = lambda _n: None,
    on_plan: Callable[[int], None] = lambda _n: None,
    request: RangeRequest | None = None,
    trusted: bool = False,
    source_topic: str | None = None,
    processes: int = trusted_rebuild.WORKERS,
    pools: PoolingRegions | None = None,
) -> RunReport:
    """Empty the projection and read the whole log into it (or finish an interrupted run).

    ``request`` narrows the log to a range, for a projection that began after the log did
    (a database seeded at a known position); without it every partition must start at 0.
    ``source_topic`` reads a copy of the feed instead (an archive restored to a topic).
    ``trusted`` (ledger, clearing): the feed read as published, without contract validation,
    in ``processes`` worker processes (ops/trusted_rebuild.py). ``pools``: the pooling
    regions clearing resolves participants with (default: those of ``deploy/reference``)."""
    projection = PROJECTIONS.get(projection_name)
    if projection is None:
        raise BadArgument(f"no projection {projection_name!r}: one of {sorted(PROJECTIONS)}")
    if source_topic is not None:
        projection = dataclasses.replace(projection, topic=source_topic)
    group = projection.group + group_suffix
    pools = pools or load_pooling_regions()
    workers = None
    if trusted and projection.name in trusted_rebuild.PROJECTIONS:
        workers = await trusted_rebuild.Workers.start(
            bootstrap, database_url, codec, processes, pools
        )
    try:
        return await _rebuild(bootstrap, database_url, codec, projection, group, rate, progress,
                              on_plan, request, workers, pools)  # fmt: skip
    finally:
        if workers is not None:
            await workers.close()


async def _rebuild(
    bootstrap: KafkaConnection,
    database_url: str,
    codec: Codec,
    projection: Projection,
    group: str,
    rate: float | None,
    progress: Progress,
    on_plan: Callable[[int], None],
    request: RangeRequest | None,
    workers: trusted_rebuild.Workers | None,
    pools: PoolingRegions,
) -> RunReport:
    await require_idle(bootstrap, group)
    run_id = f"rebuild:{projection.name}"
    limit = RateLimit(rate)
    started = time.perf_counter()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        async with ops_consumer(bootstrap) as consumer:
            if request is None or request.whole_log:
                starts, ends = await log_bounds(consumer, projection.topic)
                require_whole_log(projection.topic, starts)
                whole = [Span(p, 0, e) for p, e in sorted(ends.items())]
            else:
                whole = await resolve_spans(consumer, projection.topic, request)
            async with pool.acquire() as conn, conn.transaction():
                resumed = await open_run(
                    conn, run_id, "rebuild", projection.name, spans_json(projection.topic, whole)
                )
                if resumed:
                    planned = await run_spans(conn, run_id)
                    whole = [Span(int(p), a, b) for p, (a, b) in planned[projection.topic].items()]
                else:
                    await conn.execute(f"TRUNCATE {', '.join(projection.tables)}")
                    await _forget_positions(conn, projection, group)
            spans = await _remaining(pool, projection, group, whole)
            on_plan(sum(s.size for s in spans))
            if projection.name == "filings":
                counts = await drive_filings(consumer, pool, codec, spans, limit, progress)
            elif workers is not None:
                counts = await workers.run(
                    projection.name, projection.topic, group, spans, rate, progress
                )
            else:
                counts = await _drive_sink(
                    consumer, pool, projection, group, codec, spans, limit, progress,
                    rebuild=True, pools=pools,
                )  # fmt: skip
        report = RunReport(
            run_id, *counts, time.perf_counter() - started, resumed,
            spans_json(projection.topic, whole),
        )  # fmt: skip
        async with pool.acquire() as conn, conn.transaction():
            await _record_span_ends(conn, projection, group, whole)
            await close_run(conn, report)
        log.info("replay_rebuilt", **report.as_dict())
        return report
    finally:
        await pool.close()


def _position_group(projection: Projection, group: str) -> str:
    """Where a rebuild's progress is kept: the live sink's own positions, or (filings, whose
    processor commits in Kafka) the rebuild's."""
    return projection.positions_group or group


async def _forget_positions(conn: asyncpg.Connection, projection: Projection, group: str) -> None:
    await forget_positions(conn, _position_group(projection, group), projection.topic)


async def _record_span_ends(
    conn: asyncpg.Connection, projection: Projection, group: str, whole: Sequence[Span]
) -> None:
    """Every planned partition's position at its span's end, also where the span held no
    record. The batches record only the partitions they read, and the live sink reads a
    partition without a stored position from the log's beginning: after a rebuild of a range
    (``--since``) that would land, in a database seeded at a known position, every older
    record of a partition the range left empty (seen once in CI: the replay e2e's hash moved
    when its restarted ledger landed the earlier tests' settlements). Positions only move
    forward (``record_positions``), so an end below what landed changes nothing."""
    await record_positions(
        conn,
        _position_group(projection, group),
        {(projection.topic, s.partition): s.end for s in whole},
    )


async def _remaining(
    pool: asyncpg.Pool, projection: Projection, group: str, whole: Sequence[Span]
) -> list[Span]:
    """What is left of the planned spans after what an interrupted run already landed."""
    done = await PgPositions(pool).stored(_position_group(projection, group), projection.topic)
    return [Span(s.partition, max(s.start, done.get(s.partition, s.start)), s.end) for s in whole]


# -- production ------------------------------------------------------------------------------


async def into_production(
    bootstrap: KafkaConnection,
    database_url: str,
    codec: Codec,
    topic: str,
    request: RangeRequest,
    group_suffix: str = "",
    rate: float | None = None,
    progress: Progress = lambda _n: None,
    on_plan: Callable[[int], None] = lambda _n: None,
    pools: PoolingRegions | None = None,
) -> RunReport:
    """Replay ``topic``'s range into production: sink writes (settlement feed) or a rewind of
    the processors' committed offsets (their inputs)."""
    started = time.perf_counter()
    async with ops_consumer(bootstrap) as consumer:
        spans = await resolve_spans(consumer, topic, request)
    on_plan(sum(s.size for s in spans))
    run_id = f"production:{topic}"
    if topic in ENGINE_GROUPS:
        moved = 0
        for group in ENGINE_GROUPS[topic]:  # stream groups take no suffix (settings.py)
            moved += await rewind(bootstrap, group, topic, spans)
        progress(sum(s.size for s in spans))
        return RunReport(
            run_id, moved, 0, 0, 0, time.perf_counter() - started, False,
            spans_json(topic, spans),
        )  # fmt: skip
    if topic != catalog.SETTLEMENT:
        raise BadArgument(f"nothing in production replays {topic}")
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    totals = [0, 0, 0, 0]
    try:
        for projection in (LEDGER, CLEARING):
            name = projection.name
            async with ops_consumer(bootstrap) as consumer:
                counts = await _drive_sink(
                    consumer, pool, projection, projection.group + group_suffix, codec, spans,
                    RateLimit(rate), progress if name == "ledger" else (lambda _n: None),
                    rebuild=False, pools=pools or load_pooling_regions(),
                )  # fmt: skip
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
        report = RunReport(
            run_id, counts[0], totals[1], totals[2], totals[3], time.perf_counter() - started,
            False, spans_json(topic, spans),
        )  # fmt: skip
        async with pool.acquire() as conn:
            await open_run(conn, run_id, "production", topic, report.spans)
            await close_run(conn, report)
        return report
    finally:
        await pool.close()


async def rewind(bootstrap: KafkaConnection, group: str, topic: str, spans: Sequence[Span]) -> int:
    """Move ``group``'s committed offsets back to the spans' starts (never forward); the
    group must have no members. Returns the records that will be read again."""
    await require_idle(bootstrap, group)
    consumer = clients.consumer(
        bootstrap, group_id=group, enable_auto_commit=False, client_id="yidi-ops"
    )
    await consumer.start()
    try:
        moves: dict[TopicPartition, int] = {}
        again = 0
        for s in spans:
            tp = TopicPartition(topic, s.partition)
            committed = await consumer.committed(tp)
            if committed is not None and s.start < committed:
                moves[tp] = s.start
                again += committed - s.start
        if moves:
            consumer.assign(list(moves))
            await consumer.commit(moves)
        log.info("replay_rewound", group=group, topic=topic, partitions=len(moves), records=again)
        return again
    finally:
        await consumer.stop()
