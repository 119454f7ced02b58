"""COPY-text landing of the settlement feed (services/ledger/adapters/bulk.py) lands what the
validating path lands: the same rows and outcomes, a re-emitted settlement already present,
other bytes for a landed ``setl_id`` kept aside as a conflict, and a payload that COPY text
must escape stored byte for byte."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import orjson

from contracts.settlement import Reversed, Settled
from events import settlement_feed as feed_types
from events.stream.types import InputRecord, Output
from services.entry.bootstrap import build_runtime
from services.ledger.adapters import bulk
from services.ledger.adapters.pg_sink import BatchOutcome, write_batch
from services.ledger.rows import LedgerMapper
from services.ops.ledger_hash import ledger_digest
from services.runtime.settings import Settings
from tests.fresh_db import fresh_database
from tests.settlement_feed import settlement_feed

TOPIC = "yidi.settlement.v1"


def test_the_copy_path_knows_the_contracts_event_types() -> None:
    assert Settled.ce_type.encode() == feed_types.SETTLED_TYPE
    assert Reversed.ce_type.encode() == feed_types.REVERSED_TYPE


def _with_proc_info(value: bytes, text: str) -> bytes:
    doc = orjson.loads(value)
    doc["setldetail"][0]["setl_proc_info"] = text
    return orjson.dumps(doc)


async def test_copy_text_lands_what_the_validating_path_lands(
    settings: Settings, unique: str, tmp_path: Path
) -> None:
    codec = build_runtime(settings).codec
    feed = settlement_feed(codec, tmp_path, 200, 4, f"bulk-{unique}")
    detailed = [i for i, (_k, v, _h) in enumerate(feed) if orjson.loads(v)["setldetail"]]
    escaped, conflicted = detailed[0], detailed[1]
    key, value, headers = feed[escaped]
    # a quote (a backslash in JSON), a tab escape and non-ASCII: COPY text must escape it
    feed[escaped] = (key, _with_proc_info(value, 'ratio "改" \t end'), headers)
    key, value, headers = feed[conflicted]
    again = [feed[0], (key, _with_proc_info(value, "other bytes, same setl_id"), headers)]
    half = len(feed) // 2
    batches = [feed[:half], feed[half:] + again]
    records = [
        [
            InputRecord(TOPIC, 0, offset, k, v, h, 0)
            for offset, (k, v, h) in enumerate(batch, start=sum(map(len, batches[:n])))
        ]
        for n, batch in enumerate(batches)
    ]

    results = {}
    for trusted in (False, True):
        async with fresh_database(settings) as db:
            conn = await asyncpg.connect(db)
            try:
                outcomes: list[BatchOutcome] = []
                for batch in records:
                    positions = {(TOPIC, 0): batch[-1].offset + 1}
                    if trusted:
                        lines = [line for r in batch if (line := bulk.copy_line(r)) is not None]
                        outcomes.append(await bulk.write_lines(conn, "g", lines, positions))
                    else:
                        mapped = (LedgerMapper(codec)(r) for r in batch)
                        rows = [row for row in mapped if not isinstance(row, Output)]
                        outcomes.append(await write_batch(conn, "g", rows, positions))
                stored = await conn.fetchval(
                    "SELECT payload FROM settlements WHERE src_offset = $1", escaped
                )
                results[trusted] = (
                    outcomes,
                    (await ledger_digest(conn)).sha256,
                    await conn.fetchval("SELECT count(*) FROM settlement_conflicts"),
                    await conn.fetchval("SELECT next_offset FROM sink_offsets WHERE group_id='g'"),
                    stored,
                )
            finally:
                await conn.close()

    assert results[True] == results[False]
    outcomes, _digest, conflicts, next_offset, stored = results[True]
    assert outcomes[1].already_present == 2 and conflicts == 1
    assert sum(o.inserted for o in outcomes) == len(feed)
    assert next_offset == len(feed) + 2
    assert stored == feed[escaped][1]
