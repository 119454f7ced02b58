"""Shadow replay: what would the settlements of a range have been under other reference data?

Reads registrations and visits, recomputes with the adjudication task (the production
code, given the shadow's policies and catalogs), and writes what the range produced to
shadow topics (``yidi.shadow.<name>.settlement.v1`` / ``.ack.v1``) and a shadow schema
(``shadow_<name>.settlements``, the ledger's own batch write). Production is only read.

Why from the start of the log: a person's settlement depends on the year's accumulators
and filings before it, so the task's state is rebuilt from offset 0 of both inputs and
only the outputs of records inside the range are kept. Records are merged per partition
by timestamp (registration first on a tie), the order hospitals sent them in.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
from aiokafka import AIOKafkaProducer

from events import catalog
from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from events.stream import reader as stream_reader
from events.stream.clients import KafkaConnection
from events.stream.memory import MemoryEngine
from events.stream.types import InputRecord
from events.wire.codec import Codec
from services.adjudication import task as adjudication
from services.adjudication.core.tables import ReferenceData
from services.adjudication.wire import derived_id
from services.ledger.projection import LEDGER
from services.ops.core.errors import BadArgument
from services.ops.core.replay import (
    FUNDS,
    MONEY,
    RangeRequest,
    RateLimit,
    ShadowDiff,
    SideRow,
    Span,
    diff,
    require_whole_log,
)
from services.ops.log_reader import log_bounds, ops_consumer, read_spans, resolve_spans
from services.ops.runs import Progress, RunReport, close_run, open_run
from services.runtime.projection import BatchWrite
from services.runtime.settings import Environment

REGISTRATION, VISIT = adjudication.INPUTS
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
BATCH = 2000
"""Records per batch through the task (its state flushed after each, as the engine does)."""
_ROW_COLUMNS = ("setl_id", "insuplc_admdvs", "payload_sha256", *MONEY, *FUNDS)


@dataclass(frozen=True, slots=True)
class ShadowTarget:
    name: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise BadArgument("a shadow name is 1-40 of a-z, 0-9, _ and starts with a letter")

    @property
    def schema(self) -> str:
        return f"shadow_{self.name}"

    @property
    def settlement_topic(self) -> str:
        return catalog.shadow_topic(self.name, "settlement")

    @property
    def ack_topic(self) -> str:
        return catalog.shadow_topic(self.name, "ack")


@dataclass(slots=True)
class ShadowReport:
    run: RunReport
    diff: ShadowDiff
    in_range: int

    def as_dict(self) -> dict[str, object]:
        return {**self.run.as_dict(), "in_range": self.in_range, "diff": self.diff.as_dict()}


async def _prepare(pool: asyncpg.Pool, target: ShadowTarget) -> None:
    """A fresh shadow schema holding the ledger's tables (constraints and indexes included)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"DROP SCHEMA IF EXISTS {target.schema} CASCADE")
        await conn.execute(f"CREATE SCHEMA {target.schema}")
        for table in ("settlements", "settlement_conflicts", "sink_offsets"):
            await conn.execute(
                f"CREATE TABLE {target.schema}.{table} (LIKE public.{table} INCLUDING ALL)"
            )


async def _merged(
    reader: Callable[[str, Sequence[Span]], AsyncIterator[list[InputRecord]]],
    partition: int,
    reg_end: int,
    visit_end: int,
) -> AsyncIterator[InputRecord]:
    """One partition's registrations and visits, merged by timestamp (both streamed)."""
    regs = aiter(reader(REGISTRATION, [Span(partition, 0, reg_end)]))
    pending: deque[InputRecord] = deque()
    exhausted = False
    async for batch in reader(VISIT, [Span(partition, 0, visit_end)]):
        for v in batch:
            while True:
                if not pending and not exhausted:
                    try:
                        pending.extend(await anext(regs))
                    except StopAsyncIteration:
                        exhausted = True
                    continue
                if pending and pending[0].timestamp_ms <= v.timestamp_ms:
                    yield pending.popleft()
                    continue
                break
            yield v


async def shadow(
    bootstrap: KafkaConnection,
    database_url: str,
    env: Environment,
    codec: Codec,
    ref: ReferenceData,
    name: str,
    request: RangeRequest,
    rate: float | None = None,
    progress: Progress = lambda _n: None,
    on_plan: Callable[[int], None] = lambda _n: None,
) -> ShadowReport:
    """Recompute the range's visits under ``ref`` into the shadow and diff it with production."""
    target = ShadowTarget(name)
    started = time.perf_counter()
    limit = RateLimit(rate)
    pool = await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=2,
        server_settings={"search_path": f"{target.schema}, public"},
    )
    try:
        async with ops_consumer(bootstrap) as consumer:
            reg_starts, reg_ends = await log_bounds(consumer, REGISTRATION)
            visit_starts, _ = await log_bounds(consumer, VISIT)
            require_whole_log(REGISTRATION, reg_starts)
            require_whole_log(VISIT, visit_starts)
            spans = {s.partition: s for s in await resolve_spans(consumer, VISIT, request)}
        await apply(
            bootstrap,
            (
                Topic(target.settlement_topic, "person", f"shadow {name}", len(reg_ends)),
                Topic(target.ack_topic, "ce_id", f"shadow {name} acks", len(reg_ends)),
            ),
            env,
        )
        await _prepare(pool, target)
        async with pool.acquire() as conn:
            await open_run(
                conn, f"shadow:{name}", "shadow", name,
                {VISIT: {str(p): [s.start, s.end] for p, s in spans.items()}},
            )  # fmt: skip
        on_plan(sum(reg_ends.values()) + sum(s.end for s in spans.values()))
        in_range: list[str] = []
        records = landed = 0
        producer = clients.producer(bootstrap, linger_ms=20, acks="all")
        await producer.start()
        try:
            async with ops_consumer(bootstrap) as regs, ops_consumer(bootstrap) as visits:

                def reader(topic: str, s: Sequence[Span]) -> AsyncIterator[list[InputRecord]]:
                    return read_spans(regs if topic == REGISTRATION else visits, topic, s, limit)

                for p, span in sorted(spans.items()):
                    n, rows, ids = await _partition(
                        reader, producer, pool, target, codec, ref, p, reg_ends.get(p, 0), span,
                        request, progress,
                    )  # fmt: skip
                    records += n
                    landed += rows
                    in_range.extend(ids)
        finally:
            await producer.stop()
        result = await compare(pool, target, in_range)
        run = RunReport(
            f"shadow:{name}", records, landed, 0, 0, time.perf_counter() - started, False,
            {VISIT: {str(p): [s.start, s.end] for p, s in spans.items()}},
        )  # fmt: skip
        report = ShadowReport(run, result, len(in_range))
        async with pool.acquire() as conn:
            await close_run(conn, run, report.as_dict())
        return report
    finally:
        await pool.close()


async def _partition(
    reader: Callable[[str, Sequence[Span]], AsyncIterator[list[InputRecord]]],
    producer: AIOKafkaProducer,
    pool: asyncpg.Pool,
    target: ShadowTarget,
    codec: Codec,
    ref: ReferenceData,
    p: int,
    reg_end: int,
    span: Span,
    request: RangeRequest,
    progress: Progress,
) -> tuple[int, int, list[str]]:
    """One partition's merged inputs through the adjudication task on the stream layer's
    in-memory driver (the live engine's per-record step and guard), batch by batch: one
    batch's outputs sent and its rows landed while the next batch is read."""
    engine = MemoryEngine(
        lambda part, restored: adjudication.AdjudicationTask(part, restored, codec, ref),
        adjudication.guard(codec),
        keep=False,
        changelog=False,  # the task lives through the whole partition: nothing restores it
    )
    assert LEDGER.mapper is not None and LEDGER.writer is not None
    to_row = LEDGER.mapper(codec, ref.pooling)  # the ledger projection as declared
    write = LEDGER.writer(codec, True)
    in_range: list[str] = []
    sends: list[asyncio.Future[object]] = []
    totals = [0, 0]

    async def land(batch: list[InputRecord]) -> None:
        rows: list[object] = []
        last = -1
        for rec, result in zip(batch, engine.batch(batch), strict=True):
            if rec.topic != VISIT or rec.offset < span.start:
                continue
            ce_id = dict(rec.headers).get("ce_id", b"").decode()
            if request.ce_ids is not None and ce_id not in request.ce_ids:
                continue
            in_range.append(ce_id)
            last = rec.offset
            for out in result.outputs:
                if out.topic == catalog.SETTLEMENT:
                    sends.append(await producer.send(
                        target.settlement_topic, out.value, key=out.key, headers=out.headers,
                        partition=p,
                    ))  # fmt: skip
                    rows.append(to_row(InputRecord(
                        target.settlement_topic, p, rec.offset, out.key, out.value, out.headers,
                        rec.timestamp_ms,
                    )))  # fmt: skip
                elif out.topic.startswith(catalog.ACK_TOPIC_PREFIX):
                    sends.append(await producer.send(
                        target.ack_topic, out.value, key=out.key, headers=out.headers
                    ))  # fmt: skip
        totals[0] += len(batch)
        totals[1] += await _land(pool, write, rows, p, last + 1)
        progress(len(batch))

    merged = _merged(reader, p, reg_end, span.end)
    await stream_reader.drive(stream_reader.rebatch(_lists(merged), BATCH, BATCH), land)
    await asyncio.gather(*sends)
    return totals[0], totals[1], in_range


async def _lists(records: AsyncIterator[InputRecord]) -> AsyncIterator[list[InputRecord]]:
    async for rec in records:
        yield [rec]


async def _land(
    pool: asyncpg.Pool, write: BatchWrite, rows: list[object], p: int, next_offset: int
) -> int:
    if not rows:
        return 0
    async with pool.acquire() as conn:
        outcome = await write(conn, "shadow", rows, {(catalog.SETTLEMENT, p): next_offset})
    return outcome.inserted


def _side(r: asyncpg.Record) -> SideRow:
    amounts: dict[str, Decimal] = {c: r[c] for c in (*MONEY, *FUNDS)}
    return SideRow(
        r["setl_id"], r["insuplc_admdvs"], bytes(r["payload_sha256"]), amounts,
        (r["policy_version"], r["catalog_version"]),
    )  # fmt: skip


async def compare(pool: asyncpg.Pool, target: ShadowTarget, input_ce_ids: list[str]) -> ShadowDiff:
    """Production's settlements of the range's inputs against the shadow's, by ``setl_id``."""
    outputs = [derived_id(c, k) for c in input_ce_ids for k in ("settled", "reversed")]
    cols = ", ".join((*_ROW_COLUMNS, "policy_version", "catalog_version"))
    async with pool.acquire() as conn:
        production = await conn.fetch(
            f"SELECT {cols} FROM public.settlements WHERE ce_id = ANY($1::text[])", outputs
        )
        shadow_rows = await conn.fetch(f"SELECT {cols} FROM {target.schema}.settlements")
    return diff(map(_side, production), map(_side, shadow_rows))


async def drop(bootstrap: KafkaConnection, database_url: str, name: str) -> None:
    """Remove a shadow: its schema, its topics and its run record."""
    target = ShadowTarget(name)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {target.schema} CASCADE")
        await conn.execute("DELETE FROM replay_runs WHERE run_id = $1", f"shadow:{name}")
    finally:
        await conn.close()
    await delete_topics(bootstrap, [target.settlement_topic, target.ack_topic])
