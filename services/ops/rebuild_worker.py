"""One process of a ``--trusted`` rebuild: its partitions of the feed into the ledger or
into clearing.

Run as ``python -m services.ops.rebuild_worker`` by ``trusted_rebuild.Workers``. Two pickled
messages come on stdin: first where to connect (it connects while the parent plans), then
its job (or None: nothing to do). It reports JSON lines on stdout: ``progress``,
``refused`` (a ledger batch landed through the validating path), ``done`` with its counts,
or ``error``. A ledger worker imports no contract model unless a batch is refused:
start-up is on the rebuild's clock.

Within the process one batch lands while the next is read. A partition belongs to one
process, so its batches land in offset order and its position moves forward with its rows.
"""

from __future__ import annotations

import asyncio
import gc
import pickle
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from events.stream import reader
from services.ledger.adapters import bulk
from services.ledger.adapters.pg_sink import BatchOutcome, write_batch
from services.ops.core.errors import OpsError
from services.ops.core.replay import RateLimit, Span
from services.ops.log_reader import fetch_spans, ops_consumer

if TYPE_CHECKING:
    from contracts.pools import PoolingRegions
    from events.wire.codec import Codec

LAND_BATCH = 5000
FIRST_BATCH = 1000
"""Small, so PostgreSQL starts landing while the first full batch is still being read."""
_REFUSED = (
    asyncpg.PostgresError, asyncpg.InterfaceError, TypeError, ValueError, KeyError,
    AttributeError,
)  # fmt: skip

Record: TypeAlias = ConsumerRecord[bytes, bytes]
Counts: TypeAlias = tuple[int, int, int, int]
"""records, inserted, already present, skipped"""
Connect: TypeAlias = "tuple[str, str, bytes, PoolingRegions]"
"""bootstrap, database URL, pickled codec, clearing's pooling regions"""
Job: TypeAlias = tuple[str, str, str, list[Span], float | None]
"""projection (ledger | clearing), topic, group, spans, rate"""
Positions: TypeAlias = dict[tuple[str, int], int]
Land: TypeAlias = Callable[
    [asyncpg.Connection, str, list[Record], Positions], Awaitable[tuple[BatchOutcome, int]]
]
"""Write a batch and its positions; the outcome and how many records became rows."""


async def drive(
    consumer: AIOKafkaConsumer,
    conn: asyncpg.Connection,
    topic: str,
    group: str,
    land: Land,
    spans: Sequence[Span],
    limit: RateLimit,
    progress: Callable[[int], None],
) -> Counts:
    """Land ``spans`` of the feed batch by batch, one landing while the next is read."""
    totals = [0, 0, 0, 0]

    async def lander(batch: list[Record]) -> None:
        positions = {(rec.topic, rec.partition): rec.offset + 1 for rec in batch}
        outcome, taken = await land(conn, group, batch, positions)
        for i, n in enumerate((len(batch), outcome.inserted, outcome.already_present,
                               len(batch) - taken)):  # fmt: skip
            totals[i] += n
        progress(len(batch))

    batches = reader.rebatch(fetch_spans(consumer, topic, spans, limit), FIRST_BATCH, LAND_BATCH)
    await reader.drive(batches, lander)
    return totals[0], totals[1], totals[2], totals[3]


def ledger_lander(codec: Callable[[], Codec], refused: Callable[[str, int], None]) -> Land:
    """COPY text from the payloads; a refused batch (told to ``refused``: the error type and
    its size) lands through the validating path. ``codec`` is asked for only then."""

    async def land(
        conn: asyncpg.Connection, group: str, batch: list[Record], positions: Positions
    ) -> tuple[BatchOutcome, int]:
        try:
            lines = [line for rec in batch if (line := bulk.copy_line(rec)) is not None]
            return await bulk.write_lines(conn, group, lines, positions), len(lines)
        except _REFUSED as exc:
            refused(type(exc).__name__, len(batch))
            rows = _validated(codec(), batch)
            return await write_batch(conn, group, rows, positions), len(rows)

    return land


def clearing_lander(codec: Codec, pools: PoolingRegions) -> Land:
    """Facts straight from the JSON (``TrustedClearingMapper``), written by the clearing
    processor's own batch write, without warnings (a rebuild re-lands history)."""
    from services.clearing.feed import Fact
    from services.clearing.projection import CLEARING

    assert CLEARING.trusted_mapper is not None and CLEARING.writer is not None
    mapper, sink = CLEARING.trusted_mapper(codec, pools), CLEARING.writer(codec, True)

    async def land(
        conn: asyncpg.Connection, group: str, batch: list[Record], positions: Positions
    ) -> tuple[BatchOutcome, int]:
        facts = [f for rec in batch if isinstance(f := mapper(rec), Fact)]
        return await sink(conn, group, facts, positions), len(facts)

    return land


def _validated(codec: Codec, batch: list[Record]) -> list[tuple[object, ...]]:
    """The ledger rows the live sink makes of ``batch`` (what it would dead-letter left out)."""
    from events.stream.clients import to_input
    from events.stream.types import Output
    from services.ledger.rows import LedgerMapper

    mapper = LedgerMapper(codec)
    rows = (mapper(to_input(rec)) for rec in batch)
    return [row for row in rows if row is not None and not isinstance(row, Output)]


def reason(exc: BaseException) -> str:
    """What a failure can say in a log: an ops message, or a database error's SQLSTATE
    (its text may quote a failing row's personal fields)."""
    if isinstance(exc, OpsError):
        return exc.message
    if isinstance(exc, asyncpg.PostgresError):
        return f"SQLSTATE {exc.sqlstate}"
    return (type(exc).__doc__ or "").strip().split("\n", 1)[0]


def _report(**fields: object) -> None:
    sys.stdout.buffer.write(orjson.dumps(fields) + b"\n")
    sys.stdout.buffer.flush()


async def _run() -> Counts:
    bootstrap, database_url, pickled_codec, pools = pickle.load(sys.stdin.buffer)
    conn = await asyncpg.connect(database_url)
    try:
        async with ops_consumer(bootstrap) as consumer:
            job: Job | None = await asyncio.to_thread(pickle.load, sys.stdin.buffer)
            if job is None:
                return 0, 0, 0, 0
            projection, topic, group, spans, rate = job
            if projection == "clearing":
                land = clearing_lander(pickle.loads(pickled_codec), pools)
            else:
                land = ledger_lander(
                    lambda: pickle.loads(pickled_codec),
                    lambda error, n: _report(kind="refused", error=error, records=n),
                )
            return await drive(
                consumer, conn, topic, group, land, spans, RateLimit(rate),
                lambda n: _report(kind="progress", records=n),
            )  # fmt: skip
    finally:
        await conn.close()


def main() -> None:
    # a worker allocates tens of short-lived containers per record, freed by reference
    # counting; at the default threshold the cycle collector ran every few dozen records
    # and took a sixth of the time
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)
    try:
        counts = asyncio.run(_run())
    except Exception as exc:
        _report(kind="error", error=type(exc).__name__, reason=reason(exc))
        raise SystemExit(1) from None
    _report(kind="done", counts=counts)


if __name__ == "__main__":
    main()
