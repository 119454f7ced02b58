"""Reconciliation's PostgreSQL side (the SQL behind ``pg_repository.PgReconRepository``):
requests seen, staged 3202 rows, the ledger's slice
read in ``setl_id`` order, and stored answers (migration 0005).

Why staging in PostgreSQL: a 100,000-row detail reconciliation arrives as dozens of
messages; holding them in the worker would tie memory to the hospital's size and lose
them on a crash. Each part is COPYed in the transaction that records it; when the last
part lands, two server-side cursors stream both sides in byte order of ``setl_id`` into
the core's merge, and the unbalanced rows are COPYed out in chunks, so neither side ever
sits in Python memory whole.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

import asyncpg

from contracts.codes import RefdSetlFlag
from contracts.recon import (
    DetailReconRequested,
    ReconDiffCounts,
    ReconRowResult,
    ReconTotals,
    ReconVerdict,
    TotalsReconRequested,
)
from contracts.settlement import SETTLEMENT_TOPIC
from services.recon.core.detail import DetailMerge
from services.recon.core.errors import PartTwice, RowInTwoParts
from services.recon.core.requests import (
    Position,
    Request,
    SeenRequest,
    answer_key,
    batch_sha256,
    check_batch,
)
from services.recon.core.rows import Amounts, HospitalRow, LedgerRow, Placement
from services.recon.ports import StoredAnswer

FETCH_ROWS = 2000
"""Rows per cursor fetch on each side of the merge."""
FLUSH_ROWS = 5000
"""Unbalanced rows buffered before they are COPYed into the answer."""

_STAGE_COLUMNS = (
    "fixmedins_code", "answer_key", "setl_id", "part_no", "psn_no", "mdtrt_id", "msgid",
    "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag",
)  # fmt: skip
_ANSWER_ROW_COLUMNS = (
    "fixmedins_code", "answer_key", "setl_id", "verdict", "memo", "mdtrt_id", "medins_setl_id",
)  # fmt: skip

# Reversal rows are stored negated (services/ledger/rows.py); hospitals count them positive.
_AS_COUNTED = "CASE WHEN kind = 'reversal' THEN -{0} ELSE {0} END"

_LEDGER_SLICE = """fixmedins_code = $1 AND insutype = $2 AND clr_type = $3
                   AND setl_date BETWEEN $4 AND $5"""

_LEDGER_TOTALS = f"""
    SELECT count(*) AS cnt,
           coalesce(sum({_AS_COUNTED.format("medfee_sumamt")}), 0) AS medfee_sumamt,
           coalesce(sum({_AS_COUNTED.format("fund_pay_sumamt")}), 0) AS fund_pay_sumamt,
           coalesce(sum({_AS_COUNTED.format("acct_pay")}), 0) AS acct_pay,
           coalesce(sum((SELECT sum(CASE d.kind WHEN 'return' THEN -d.amount ELSE d.amount END)
                         FROM clearing_deductions d
                         WHERE d.setl_id = settlements.setl_id)), 0) AS deduction_sumamt
    FROM settlements WHERE {_LEDGER_SLICE} AND refd_setl_flag = $6"""
"""The slice's totals; ``deduction_sumamt``: the audit deductions clearing applied to its
settlements (``clearing_deductions``, migration 0010), whichever period they landed in, less
those given back when the settlement was reversed afterwards."""

_LEDGER_ROWS = f"""
    SELECT setl_id, refd_setl_flag, mdtrt_id, psn_no, medins_setl_id, setl_date, orig_setl_id,
           {_AS_COUNTED.format("medfee_sumamt")} AS medfee_sumamt,
           {_AS_COUNTED.format("fund_pay_sumamt")} AS fund_pay_sumamt,
           {_AS_COUNTED.format("acct_pay")} AS acct_pay
    FROM settlements WHERE {_LEDGER_SLICE}
    ORDER BY setl_id COLLATE "C"
"""

_HOSPITAL_ROWS = """
    SELECT r.setl_id, r.refd_setl_flag, r.mdtrt_id, r.psn_no,
           r.medfee_sumamt, r.fund_pay_sumamt, r.acct_pay,
           s.setl_date, s.insutype, s.clr_type
    FROM recon_stage_rows r
    LEFT JOIN settlements s
           ON s.setl_id = (r.setl_id COLLATE "default") AND s.fixmedins_code = r.fixmedins_code
    WHERE r.fixmedins_code = $1 AND r.answer_key = $2
    ORDER BY r.setl_id"""


async def seen_request(
    conn: asyncpg.Connection, fixmedins_code: str, msgid: str
) -> SeenRequest | None:
    row = await conn.fetchrow(
        "SELECT body_sha256, src_topic, src_partition, src_offset FROM recon_requests "
        "WHERE fixmedins_code = $1 AND msgid = $2",
        fixmedins_code,
        msgid,
    )
    if row is None:
        return None
    at = Position(row["src_topic"], row["src_partition"], row["src_offset"])
    return SeenRequest(bytes(row["body_sha256"]), at)


async def record_request(
    conn: asyncpg.Connection, request: Request, body: bytes, ce_id: str, at: Position
) -> None:
    """Remember the message; a part number of the batch already taken is ``PartTwice``."""
    part_no = request.part_no if isinstance(request, DetailReconRequested) else 1
    status = await conn.execute(
        """INSERT INTO recon_requests (fixmedins_code, msgid, answer_key, infno, part_no,
                                       body_sha256, ce_id, src_topic, src_partition, src_offset)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (fixmedins_code, answer_key, part_no) DO NOTHING""",
        request.fixmedins_code, request.msgid, answer_key(request), request.infno, part_no,
        body, ce_id, at.topic, at.partition, at.offset,
    )  # fmt: skip
    if status.split()[-1] == "0":
        raise PartTwice(f"part {part_no} of this batch came before under another msgid", "part_no")


async def join_batch(conn: asyncpg.Connection, request: DetailReconRequested) -> int:
    """Add this part to its batch (created by the first part) and return the parts now in;
    a part whose slice or size disagrees with the batch is ``BatchMismatch``."""
    key = answer_key(request)
    await conn.execute(
        """INSERT INTO recon_batches (fixmedins_code, answer_key, batch_sha256, insutype,
                                      clr_type, stmt_begndate, stmt_enddate, part_cnt)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
        request.fixmedins_code, key, batch_sha256(request), str(request.insutype),
        str(request.clr_type), request.stmt_begndate, request.stmt_enddate, request.part_cnt,
    )  # fmt: skip
    row = await conn.fetchrow(
        "SELECT batch_sha256 FROM recon_batches WHERE fixmedins_code = $1 AND answer_key = $2 "
        "FOR UPDATE",
        request.fixmedins_code,
        key,
    )
    check_batch(bytes(row["batch_sha256"]), request)
    received: int = await conn.fetchval(
        "UPDATE recon_batches SET parts_received = parts_received + 1 "
        "WHERE fixmedins_code = $1 AND answer_key = $2 RETURNING parts_received",
        request.fixmedins_code,
        key,
    )
    return received


async def stage_rows(conn: asyncpg.Connection, request: DetailReconRequested) -> None:
    key = answer_key(request)
    ids = [r.setl_id for r in request.rows]
    taken = await conn.fetchval(
        "SELECT setl_id FROM recon_stage_rows WHERE fixmedins_code = $1 AND answer_key = $2 "
        "AND setl_id = ANY($3::text[]) ORDER BY setl_id LIMIT 1",
        request.fixmedins_code,
        key,
        ids,
    )
    if taken is not None:
        raise RowInTwoParts(f"setl_id {taken} is already in another part of the batch", "rows")
    await conn.copy_records_to_table(
        "recon_stage_rows",
        columns=_STAGE_COLUMNS,
        records=[
            (
                request.fixmedins_code,
                key,
                r.setl_id,
                request.part_no,
                r.psn_no,
                r.mdtrt_id,
                r.msgid,
                r.medfee_sumamt,
                r.fund_pay_sumamt,
                r.acct_pay,
                int(r.refd_setl_flag),
            )
            for r in request.rows
        ],
    )


async def first_part_msgid(conn: asyncpg.Connection, fixmedins_code: str, key: str) -> str:
    msgid: str = await conn.fetchval(
        "SELECT msgid FROM recon_requests WHERE fixmedins_code = $1 AND answer_key = $2 "
        "AND part_no = 1",
        fixmedins_code,
        key,
    )
    return msgid


async def ledger_totals(conn: asyncpg.Connection, request: TotalsReconRequested) -> ReconTotals:
    row = await conn.fetchrow(
        _LEDGER_TOTALS,
        request.fixmedins_code, str(request.insutype), str(request.clr_type),
        request.stmt_begndate, request.stmt_enddate, int(request.refd_setl_flag),
    )  # fmt: skip
    return ReconTotals(
        fixmedins_setl_cnt=row["cnt"], medfee_sumamt=row["medfee_sumamt"],
        fund_pay_sumamt=row["fund_pay_sumamt"], acct_pay=row["acct_pay"],
        deduction_sumamt=row["deduction_sumamt"],
    )  # fmt: skip


async def ledger_version(conn: asyncpg.Connection, ledger_group: str) -> str | None:
    """The ledger sink's consumed positions summed: which prefix of the settlement feed the
    answer saw (``None`` when no ledger worker has recorded a position here)."""
    total = await conn.fetchval(
        "SELECT sum(next_offset) FROM sink_offsets WHERE group_id = $1 AND topic = $2",
        ledger_group,
        SETTLEMENT_TOPIC,
    )
    return None if total is None else f"offsets-{total}"


_T = TypeVar("_T")


class _Pull(Generic[_T]):
    """One side of the merge: a server-side cursor read ``FETCH_ROWS`` at a time."""

    def __init__(self, cursor: asyncpg.cursor.Cursor, convert: Callable[[asyncpg.Record], _T]):
        self.cursor = cursor
        self.convert = convert
        self.buffer: deque[asyncpg.Record] = deque()
        self.done = False

    async def next(self) -> _T | None:
        if not self.buffer and not self.done:
            rows = await self.cursor.fetch(FETCH_ROWS)
            self.buffer.extend(rows)
            self.done = len(rows) < FETCH_ROWS
        return self.convert(self.buffer.popleft()) if self.buffer else None


def _amounts(r: asyncpg.Record) -> Amounts:
    return Amounts(r["medfee_sumamt"], r["fund_pay_sumamt"], r["acct_pay"])


def _hospital_row(r: asyncpg.Record) -> HospitalRow:
    where = None
    if r["setl_date"] is not None:
        where = Placement(r["setl_date"], r["insutype"], r["clr_type"] or "")
    return HospitalRow(
        r["setl_id"], RefdSetlFlag(str(r["refd_setl_flag"])), _amounts(r), r["mdtrt_id"],
        r["psn_no"], where,
    )  # fmt: skip


def _ledger_row(r: asyncpg.Record) -> LedgerRow:
    return LedgerRow(
        r["setl_id"], RefdSetlFlag(str(r["refd_setl_flag"])), _amounts(r), r["mdtrt_id"],
        r["psn_no"], r["medins_setl_id"], r["setl_date"], r["orig_setl_id"],
    )  # fmt: skip


async def compare_batch(conn: asyncpg.Connection, request: DetailReconRequested) -> ReconDiffCounts:
    """Merge the staged rows of ``request``'s batch with the ledger's slice and store the
    unbalanced rows; the caller's transaction keeps the cursors open."""
    code, key = request.fixmedins_code, answer_key(request)
    # Freshly staged rows have no statistics: without them the planner guesses one row and
    # joins by nested loop over the hospital's whole ledger, quadratic in the batch size.
    await conn.execute("ANALYZE recon_stage_rows")
    hospital = _Pull(await conn.cursor(_HOSPITAL_ROWS, code, key), _hospital_row)
    ledger = _Pull(
        await conn.cursor(
            _LEDGER_ROWS, code, str(request.insutype), str(request.clr_type),
            request.stmt_begndate, request.stmt_enddate,
        ),
        _ledger_row,
    )  # fmt: skip
    merge = DetailMerge()
    pending: list[tuple[object, ...]] = []
    h, lrow = await hospital.next(), await ledger.next()
    while h is not None or lrow is not None:
        step = merge.step(h, lrow)
        if (v := step.verdict) is not None:
            pending.append(
                (code, key, v.setl_id, str(v.verdict), v.memo, v.mdtrt_id, v.medins_setl_id)
            )
            if len(pending) >= FLUSH_ROWS:
                await _copy_answer_rows(conn, pending)
        if step.take_hospital:
            h = await hospital.next()
        if step.take_ledger:
            lrow = await ledger.next()
    await _copy_answer_rows(conn, pending)
    return merge.tally.counts()


async def _copy_answer_rows(conn: asyncpg.Connection, rows: list[tuple[object, ...]]) -> None:
    if rows:
        await conn.copy_records_to_table(
            "recon_answer_rows", columns=_ANSWER_ROW_COLUMNS, records=rows
        )
        rows.clear()


async def drop_staged(conn: asyncpg.Connection, fixmedins_code: str, key: str) -> None:
    """Staged rows are not needed once the batch is answered: the answer is kept instead."""
    await conn.execute(
        "DELETE FROM recon_stage_rows WHERE fixmedins_code = $1 AND answer_key = $2",
        fixmedins_code,
        key,
    )


async def store_answer(
    conn: asyncpg.Connection,
    request: Request,
    *,
    stmt_rslt: str,
    result_head: bytes,
    summary: bytes,
    row_cnt: int,
    answered_at: dt.datetime,
) -> None:
    await conn.execute(
        """INSERT INTO recon_answers (fixmedins_code, answer_key, infno, completed_by, stmt_rslt,
                                      result_head, summary, row_cnt, answered_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        request.fixmedins_code, answer_key(request), request.infno, request.msgid, stmt_rslt,
        result_head, summary, row_cnt, answered_at,
    )  # fmt: skip


async def load_answer(
    conn: asyncpg.Connection, fixmedins_code: str, key: str
) -> StoredAnswer | None:
    row = await conn.fetchrow(
        "SELECT infno, completed_by, result_head, summary, row_cnt, answered_at "
        "FROM recon_answers WHERE fixmedins_code = $1 AND answer_key = $2",
        fixmedins_code,
        key,
    )
    if row is None:
        return None
    return StoredAnswer(
        row["infno"], row["completed_by"], bytes(row["result_head"]), bytes(row["summary"]),
        row["row_cnt"], row["answered_at"],
    )  # fmt: skip


async def answer_rows(
    conn: asyncpg.Connection, fixmedins_code: str, key: str, per_part: int
) -> AsyncIterator[list[ReconRowResult]]:
    """The stored unbalanced rows, ``per_part`` at a time in ``setl_id`` order (keyset reads:
    no transaction held open while the parts are published)."""
    after = ""
    while True:
        rows = await conn.fetch(
            "SELECT setl_id, verdict, memo, mdtrt_id, medins_setl_id FROM recon_answer_rows "
            "WHERE fixmedins_code = $1 AND answer_key = $2 AND setl_id > $3 "
            "ORDER BY setl_id LIMIT $4",
            fixmedins_code, key, after, per_part,
        )  # fmt: skip
        if not rows:
            return
        yield [
            ReconRowResult(
                setl_id=r["setl_id"],
                stmt_rslt="1",
                verdict=ReconVerdict(r["verdict"]),
                memo=r["memo"],
                mdtrt_id=r["mdtrt_id"],
                medins_setl_id=r["medins_setl_id"],
            )
            for r in rows
        ]
        if len(rows) < per_part:
            return
        after = rows[-1]["setl_id"]
