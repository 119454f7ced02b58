"""Trusted bulk landing of the settlement feed: PostgreSQL builds the ledger rows.

Why: a rebuild spends most of its time in Python on each record (contract validation,
the row, COPY encoding of 44 columns). Here Python only COPYs the bytes with their ids and
source positions, and PostgreSQL extracts the columns from the JSON on the other core.

Trusted means the records are taken as the adjudicator wrote them: the contract is not
validated in Python; the table's CHECK identities still hold every row, and a batch that
does not cast or check is landed again through the validating path (``write_batch``), so
a bad record still ends where the live sink put it. Equal results are asserted by the
replay e2e test (ledger hash after a trusted rebuild).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import orjson

from contracts.settlement import Reversed, Settled
from events.stream.types import InputRecord
from services.ledger.pg_sink import (
    LEDGER_COLUMNS,
    STAGE,
    BatchOutcome,
    ensure_stage,
    land_stage,
    record_positions,
)
from services.ledger.rows import AMOUNTS

_STAGE = "ledger_bulk_stage"
_INFO_TEXT = ("setl_id", "mdtrt_id", "medins_setl_id", "psn_no", "insutype", "psn_type",
              "med_type", "clr_type", "clr_way", "clr_optins", "setl_time", *AMOUNTS)  # fmt: skip
_TOP_TEXT = ("orig_setl_id", "refd_setl_flag", "fixmedins_code", "insuplc_admdvs",
             "mdtrtarea_admvs", "setl_date", "policy_version", "catalog_version")  # fmt: skip
_STAGE_COLUMNS = ("reversal", "ce_id", *_INFO_TEXT, *_TOP_TEXT, "payload", "src_topic",
                  "src_partition", "src_offset")  # fmt: skip
_CAST = {"refd_setl_flag": "::smallint", "setl_time": "::timestamptz", "setl_date": "::date",
         **dict.fromkeys(AMOUNTS, "::numeric")}  # fmt: skip


def _select() -> str:
    """The ledger row of each staged record, in ``LEDGER_COLUMNS`` order (rows.ledger_row):
    text as the JSON had it, cast by PostgreSQL; reversals negated."""
    exprs = {c: f"{c}{_CAST.get(c, '')}" for c in LEDGER_COLUMNS}
    exprs["kind"] = "CASE WHEN reversal THEN 'reversal' ELSE 'settlement' END"
    exprs["payload_sha256"] = "sha256(payload)"
    for a in AMOUNTS:
        exprs[a] = f"CASE WHEN reversal THEN -({a}::numeric) ELSE {a}::numeric END"
    return f"SELECT {', '.join(exprs.values())} FROM {_STAGE}"


_ROWS = _select()
_COLS = ", ".join(LEDGER_COLUMNS)
_STAGE_DDL = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (reversal boolean, "
    + ", ".join(f"{c} text" for c in _STAGE_COLUMNS[1:-4])
    + ", payload bytea, src_topic text, src_partition int, src_offset bigint) "
    "ON COMMIT DELETE ROWS"
)


def stage_record(record: InputRecord) -> tuple[object, ...] | None:
    """The record's ledger fields as the JSON has them (strings: amounts, codes, dates), or
    None for a record that is no ledger message (the validating path would have
    dead-lettered it, or it is a pre-settlement). A value of another JSON type fails the
    COPY, and the batch falls back to the validating path."""
    headers = dict(record.headers)
    ce_type = headers.get("ce_type", b"")
    if ce_type not in _LEDGER_TYPES or not record.value:
        return None
    doc = orjson.loads(record.value)
    if doc.get("pre_settlement"):
        return None
    info = doc["setlinfo"]
    return (
        ce_type == _REVERSED, headers.get("ce_id", b"").decode(),
        *[info.get(c) for c in _INFO_TEXT], *[doc.get(c) for c in _TOP_TEXT],
        record.value, record.topic, record.partition, record.offset,
    )  # fmt: skip


_REVERSED = Reversed.ce_type.encode()
_LEDGER_TYPES = (Settled.ce_type.encode(), _REVERSED)


async def write_trusted(
    conn: asyncpg.Connection,
    group_id: str,
    staged: Sequence[tuple[object, ...]],
    positions: dict[tuple[str, int], int],
) -> BatchOutcome:
    """Land the staged records and the next offsets in one transaction (raises on a record
    PostgreSQL cannot cast or whose identities fail: the caller falls back)."""
    async with conn.transaction():
        await conn.execute(_STAGE_DDL)
        await ensure_stage(conn)
        inserted = conflicts = 0
        if staged:
            await conn.copy_records_to_table(_STAGE, records=staged, columns=_STAGE_COLUMNS)
            status = await conn.execute(
                f"INSERT INTO settlements ({_COLS}) SELECT DISTINCT ON (setl_id) * "
                f"FROM ({_ROWS}) r ORDER BY setl_id, src_offset ON CONFLICT (setl_id) DO NOTHING"
            )
            inserted = int(status.split()[-1])
            if inserted < len(staged):  # some were there already: any with other bytes?
                await conn.execute(f"INSERT INTO {STAGE} ({_COLS}) {_ROWS}")
                conflicts = (await land_stage(conn))[1]
        await record_positions(conn, group_id, positions)
    return BatchOutcome(inserted, len(staged) - inserted, conflicts)
