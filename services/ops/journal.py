"""The redrive journal (``dlq_redrives``, migration 0006): claim before sending, complete after.

Why claim first: "send, then record" loses the record when the process dies
between the two, and the next operator would redrive again without knowing.
A claim row written before the send says "this may have been sent"; the
broker itself then answers whether it was (``services/ops/redrive.py``
scans for the marker), so the journal converges to the truth after any
crash. The claim is also the lock: the primary key and the one-pending
index let exactly one of two concurrent operators send a record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from services.ops.core.dlq import DlqEntry, DlqPosition, SourcePosition
from services.ops.core.redrive import Attempt, Outgoing


async def attempts_for(conn: asyncpg.Connection, entries: Sequence[DlqEntry]) -> list[Attempt]:
    """Every journal row about these DLQ records or about the same source records."""
    if not entries:
        return []
    rows = await conn.fetch(
        """SELECT dlq_topic, dlq_partition, dlq_offset, attempt, source_topic, source_partition,
                  source_offset, status
           FROM dlq_redrives r
           WHERE (r.dlq_topic, r.dlq_partition, r.dlq_offset) IN
                 (SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]))
              OR (r.source_topic, r.source_partition, r.source_offset) IN
                 (SELECT * FROM unnest($4::text[], $5::int[], $6::bigint[]))""",
        [e.topic for e in entries],
        [e.position.partition for e in entries],
        [e.position.offset for e in entries],
        [e.source.topic for e in entries],
        [e.source.partition for e in entries],
        [e.source.offset for e in entries],
    )
    return [
        Attempt(
            r["dlq_topic"],
            DlqPosition(r["dlq_partition"], r["dlq_offset"]),
            r["attempt"],
            SourcePosition(r["source_topic"], r["source_partition"], r["source_offset"]),
            r["status"],
        )
        for r in rows
    ]


async def claim(
    conn: asyncpg.Connection,
    batch: Sequence[Outgoing],
    scan_from: dict[tuple[str, int], int],
    operator: str,
) -> set[str]:
    """Insert a pending row per message; the markers actually claimed come back. A message is
    not claimed when another attempt of it is pending, or (unless forced) one was sent."""
    rows = await conn.fetch(
        """INSERT INTO dlq_redrives (dlq_topic, dlq_partition, dlq_offset, attempt, source_topic,
               source_partition, source_offset, reason_code, ce_id, marker, forced, operator,
               status, scan_from)
           SELECT u.dlq_topic, u.dlq_partition, u.dlq_offset, u.attempt, u.source_topic,
                  u.source_partition, u.source_offset, u.reason_code, u.ce_id, u.marker,
                  u.forced, $13::text, 'pending', u.scan_from
           FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::text[], $6::int[],
                       $7::bigint[], $8::text[], $9::text[], $10::text[], $11::boolean[],
                       $12::bigint[])
                AS u(dlq_topic, dlq_partition, dlq_offset, attempt, source_topic,
                     source_partition, source_offset, reason_code, ce_id, marker, forced,
                     scan_from)
           WHERE u.forced OR NOT EXISTS (
               SELECT 1 FROM dlq_redrives r
               WHERE r.status = 'sent'
                 AND ((r.dlq_topic, r.dlq_partition, r.dlq_offset)
                          = (u.dlq_topic, u.dlq_partition, u.dlq_offset)
                      OR (r.source_topic, r.source_partition, r.source_offset)
                          = (u.source_topic, u.source_partition, u.source_offset)))
           ON CONFLICT DO NOTHING
           RETURNING marker""",
        [o.entry.topic for o in batch],
        [o.entry.position.partition for o in batch],
        [o.entry.position.offset for o in batch],
        [o.attempt for o in batch],
        [o.entry.source.topic for o in batch],
        [o.entry.source.partition for o in batch],
        [o.entry.source.offset for o in batch],
        [o.entry.reason for o in batch],
        [o.entry.ce_id for o in batch],
        [o.marker for o in batch],
        [o.forced for o in batch],
        [scan_from[(o.topic, o.partition)] for o in batch],
        operator,
    )
    return {r["marker"] for r in rows}


async def mark_sent(conn: asyncpg.Connection, landed: dict[str, int]) -> None:
    """The broker acknowledged these markers' messages at these offsets. Overrides a
    ``not_sent`` written by another operator's reconciliation: the sender knows best."""
    if landed:
        await conn.execute(
            """UPDATE dlq_redrives r SET status = 'sent', sent_offset = u.off, resolved_at = now()
               FROM unnest($1::text[], $2::bigint[]) AS u(marker, off)
               WHERE r.marker = u.marker AND r.status <> 'sent'""",
            list(landed),
            list(landed.values()),
        )


async def mark_not_sent(conn: asyncpg.Connection, markers: Sequence[str]) -> None:
    """A scan of the target partition since the claim did not find these markers."""
    if markers:
        await conn.execute(
            """UPDATE dlq_redrives SET status = 'not_sent', resolved_at = now()
               WHERE marker = ANY($1::text[]) AND status = 'pending'""",
            list(markers),
        )


async def pending(conn: asyncpg.Connection, older_than: dt.timedelta) -> list[asyncpg.Record]:
    """Pending attempts claimed at least ``older_than`` ago: their sender is gone, or finished
    (a live sender completes its rows within the producer's delivery timeout)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT marker, source_topic, source_partition, scan_from FROM dlq_redrives
           WHERE status = 'pending' AND claimed_at <= now() - $1::interval
           ORDER BY source_topic, source_partition, scan_from""",
        older_than,
    )
    return rows


async def history(conn: asyncpg.Connection, limit: int = 50) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT dlq_partition, dlq_offset, attempt, source_topic, source_partition,
                  source_offset, reason_code, ce_id, forced, operator, status, sent_offset,
                  claimed_at
           FROM dlq_redrives ORDER BY claimed_at DESC, marker LIMIT $1""",
        limit,
    )
    return rows
