"""Reconciliation on the hospital's side: split detail rows into request parts, collect the
answer's parts from the ack topic.

Pure bookkeeping (no Kafka), like ``ack_waiter``: the client registers a future per
request and resolves it once every part of its answer has arrived. Answer parts come
again when yidi re-emits an answer (a re-sent request, a restarted worker); a part
already held is counted as a repeat and changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from contracts.ack import Ack
from contracts.codes import ClrType, Insutype, StmtRslt
from contracts.recon import (
    DetailReconRequested,
    ReconDetailRow,
    ReconDiffCounts,
    ReconResult,
    ReconRowResult,
)

CST = dt.timezone(dt.timedelta(hours=8))
ROWS_PER_PART = 3000
"""Detail rows per 3202 part. The contract allows 5,000, but a row with ids at their
maximum lengths encodes to about 305 bytes and the codec refuses bodies over 1,000,000
bytes; 3,000 such rows always fit, so a 100,000-row reconciliation is 34 parts."""


class ReconRejected(Exception):
    """yidi refused a reconciliation request; ``ack.error.code`` says why (docs/reconciliation.md)."""

    def __init__(self, ack: Ack) -> None:
        code = ack.error.code if ack.error else "?"
        super().__init__(f"{ack.msgid}: {code}: {ack.error.message if ack.error else ''}")
        self.ack = ack


@dataclass(frozen=True, slots=True)
class ReconSlice:
    """What a detail reconciliation covers (every part repeats it)."""

    mdtrtarea_admvs: str
    setl_optins: str
    insutype: Insutype
    clr_type: ClrType
    stmt_begndate: dt.date
    stmt_enddate: dt.date


@dataclass(frozen=True, slots=True)
class ReconAnswer:
    """Every part of one answer, in part order."""

    parts: tuple[ReconResult, ...]

    @property
    def stmt_rslt(self) -> StmtRslt:
        return self.parts[0].stmt_rslt

    @property
    def stmt_rslt_dscr(self) -> str:
        return self.parts[0].stmt_rslt_dscr

    @property
    def diff_cnts(self) -> ReconDiffCounts | None:
        return self.parts[0].diff_cnts

    def rows(self) -> Iterator[ReconRowResult]:
        for part in self.parts:
            yield from part.rows


def answer_key_of(result: ReconResult) -> str:
    return f"b:{result.batch_id}" if result.batch_id else f"m:{result.request_msgid}"


@dataclass(slots=True)
class AnswerCollector:
    pending: dict[str, asyncio.Future[ReconAnswer]] = field(default_factory=dict)
    partial: dict[str, dict[int, ReconResult]] = field(default_factory=dict)
    complete: dict[str, ReconAnswer] = field(default_factory=dict)
    repeats: int = 0

    def expect(self, key: str) -> asyncio.Future[ReconAnswer]:
        """A future for the answer under ``key`` (``m:<msgid>`` or ``b:<batch_id>``)."""
        fut: asyncio.Future[ReconAnswer] = asyncio.get_running_loop().create_future()
        if key in self.complete:
            fut.set_result(self.complete[key])
        else:
            self.pending[key] = fut
        return fut

    def deliver(self, result: ReconResult) -> bool:
        """Keep one part; True when it completed its answer."""
        key = answer_key_of(result)
        got = self.partial.setdefault(key, {})
        if key in self.complete or result.part_no in got:
            self.repeats += 1
            return False
        got[result.part_no] = result
        if len(got) < result.part_cnt:
            return False
        answer = ReconAnswer(tuple(got[n] for n in sorted(got)))
        self.complete[key] = answer
        del self.partial[key]
        fut = self.pending.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result(answer)
        return True


def msgid_for(fixmedins_code: str, inf_time: dt.datetime, seq: int) -> str:
    """The national msgid: institution code + yyyyMMddHHmmss (Asia/Shanghai) + 4-digit sequence."""
    if not 0 <= seq <= 9999:
        raise ValueError(f"msgid sequence {seq} is not 4 digits")
    return f"{fixmedins_code}{inf_time.astimezone(CST):%Y%m%d%H%M%S}{seq:04d}"


def detail_parts(
    fixmedins_code: str,
    scope: ReconSlice,
    rows: Sequence[ReconDetailRow],
    *,
    inf_time: dt.datetime,
    first_seq: int = 1,
    batch_id: str | None = None,
    rows_per_part: int = ROWS_PER_PART,
) -> Iterator[DetailReconRequested]:
    """The 3202 messages for ``rows``, built one at a time (only one part's rows are copied).
    A multi-part request is named by ``batch_id``, by default its first part's msgid."""
    if not rows:
        raise ValueError("a detail reconciliation has at least one row")
    count = math.ceil(len(rows) / rows_per_part)
    if count > 1 and batch_id is None:
        batch_id = msgid_for(fixmedins_code, inf_time, first_seq)
    for i in range(count):
        yield DetailReconRequested(
            msgid=msgid_for(fixmedins_code, inf_time, first_seq + i), infno="3202",
            fixmedins_code=fixmedins_code, mdtrtarea_admvs=scope.mdtrtarea_admvs,
            inf_time=inf_time, setl_optins=scope.setl_optins, insutype=scope.insutype,
            clr_type=scope.clr_type, stmt_begndate=scope.stmt_begndate,
            stmt_enddate=scope.stmt_enddate,
            rows=tuple(rows[i * rows_per_part : (i + 1) * rows_per_part]),
            batch_id=batch_id, part_no=i + 1, part_cnt=count,
        )  # fmt: skip
