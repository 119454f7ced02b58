"""Trusted bulk landing of the settlement feed: ledger rows as COPY text, straight from the JSON.

Why: a rebuild spends most of its time per record — contract validation, Decimals, binary
COPY encoding of 44 columns, a staging table, casts. Here Python picks the ledger fields
out of the published JSON as the strings they are and PostgreSQL parses them during the
COPY into ``settlements`` itself.

Trusted means the records are taken as the adjudicator wrote them: the contract is not
validated in Python; the table's types and CHECK identities still hold every row. A
batch with a ``setl_id`` already landed (a re-emitted settlement) lands through the
ledger's insert-if-absent staging instead, which also keeps aside other bytes for the
same id; a batch that does not parse or check raises, and the caller lands it through
the validating path, so a bad record still ends where the live sink put it. Equal
results are asserted by tests/integration/test_trusted_rebuild.py and the replay e2e.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from operator import itemgetter

import asyncpg
import orjson

from events.settlement_feed import FEED_TYPES, REVERSED_TYPE, FeedRecord
from services.ledger.pg_sink import (
    AMOUNTS,
    STAGE,
    BatchOutcome,
    ensure_stage,
    land_stage,
    record_positions,
)

_LEDGER_TYPES = FEED_TYPES
_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_FROM_INFO = ("setl_id", "mdtrt_id", "medins_setl_id", "psn_no", "insutype", "psn_type",
              "med_type", "clr_type", "clr_way", "clr_optins", "setl_time")  # fmt: skip
_FROM_TOP = ("orig_setl_id", "refd_setl_flag", "fixmedins_code", "insuplc_admdvs",
             "mdtrtarea_admvs", "setl_date", "policy_version", "catalog_version")  # fmt: skip
COPY_COLUMNS = ("kind", "ce_id", *_FROM_INFO, *AMOUNTS, *_FROM_TOP, "payload", "payload_sha256",
                "src_topic", "src_partition", "src_offset")  # fmt: skip
"""The columns of a COPY line, in the order the JSON is read."""
_info_fields = itemgetter(*_FROM_INFO)
_amounts = itemgetter(*AMOUNTS)
_top_fields = itemgetter(*_FROM_TOP)


def copy_line(record: FeedRecord) -> bytes | None:
    """The record's ledger row (``COPY_COLUMNS``) as one line of COPY text, or None for a
    record that is no ledger message (the validating path would have dead-lettered it, or
    it is a pre-settlement). Mirrors ``rows.ledger_row``: reversals hold amounts negated.
    A missing field (KeyError) or a JSON value that is not a string (TypeError) fails here;
    a string PostgreSQL does not parse as its column's type fails the COPY."""
    headers = dict(record.headers)
    ce_type = headers.get("ce_type", b"")
    value = record.value
    if ce_type not in _LEDGER_TYPES or not value:
        return None
    doc = orjson.loads(value)
    if doc.get("pre_settlement"):
        return None
    info = doc["setlinfo"]
    amounts = _amounts(info)
    if ce_type == REVERSED_TYPE:
        kind = "reversal"
        amounts = tuple(a[1:] if a.startswith("-") else f"-{a}" for a in amounts)
    else:
        kind = "settlement"
    fields = (kind, headers.get("ce_id", b"").decode(), *_info_fields(info), *amounts,
              *_top_fields(doc))  # fmt: skip
    # JSON without a backslash, tab or line break holds none inside its strings either
    plain = b"\\" not in value and b"\t" not in value and b"\n" not in value and b"\r" not in value
    text = "\t".join(
        [_NULL if v is None else v for v in fields]
        if plain
        else [_NULL if v is None else v.translate(_ESCAPES) for v in fields]
    )
    payload = value if plain and value.isascii() else b"\\\\x" + value.hex().encode()
    digest = hashlib.sha256(value).hexdigest()
    return b"%s\t%s\t\\\\x%s\t%s\t%d\t%d\n" % (
        text.encode(), payload, digest.encode(), record.topic.encode(), record.partition,
        record.offset,
    )  # fmt: skip


async def write_lines(
    conn: asyncpg.Connection,
    group_id: str,
    lines: Sequence[bytes],
    positions: dict[tuple[str, int], int],
) -> BatchOutcome:
    """Land the lines and the next offsets in one transaction (raises on a line PostgreSQL
    cannot parse or whose identities fail: the caller falls back).

    Committed without waiting for the WAL flush: rows and positions are one transaction,
    so a crash loses a suffix of both and the resumed rebuild reads it again."""
    async with conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit = off")
        outcome = BatchOutcome(0, 0, 0)
        if lines:
            try:
                async with conn.transaction():
                    await _copy(conn, "settlements", lines)
                outcome = BatchOutcome(len(lines), 0, 0)
            except asyncpg.UniqueViolationError:
                await ensure_stage(conn)
                await _copy(conn, STAGE, lines)
                inserted, conflicts = await land_stage(conn)
                outcome = BatchOutcome(inserted, len(lines) - inserted, conflicts)
        await record_positions(conn, group_id, positions)
    return outcome


async def _copy(conn: asyncpg.Connection, table: str, lines: Sequence[bytes]) -> None:
    await conn.copy_to_table(
        table, source=io.BytesIO(b"".join(lines)), columns=list(COPY_COLUMNS), format="text"
    )
