"""The messages an answered request produces: the hospital's result (in parts for 3202)
and the clearing center's summary. Built from the request and the comparison alone, so a
stored answer re-emits byte for byte."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from contracts.codes import StmtRslt
from contracts.recon import (
    DetailReconRequested,
    ReconDiffCounts,
    ReconResult,
    ReconRowResult,
    ReconSummary,
    ReconTotals,
    TotalsReconRequested,
)
from services.recon.core.text import clip
from services.recon.core.totals import compare_totals

RESULT_ROWS_PER_PART = 2000
"""Unbalanced rows per answer part: at most ~400 bytes each (a 200-character memo and the
ids), so a part stays well under the codec's and the broker's 1 MB message limit."""


def totals_answer(
    request: TotalsReconRequested,
    ledger: ReconTotals,
    *,
    answered_at: dt.datetime,
    ledger_version: str | None,
) -> tuple[ReconResult, ReconSummary]:
    verdict = compare_totals(request.totals, ledger)
    result = ReconResult(
        request_msgid=request.msgid, request_infno="3201", fixmedins_code=request.fixmedins_code,
        stmt_rslt=verdict.stmt_rslt, stmt_rslt_dscr=verdict.dscr, ledger_totals=ledger,
        answered_at=answered_at, ledger_version=ledger_version,
    )  # fmt: skip
    summary = ReconSummary(
        participant=request.mdtrtarea_admvs, fixmedins_code=request.fixmedins_code,
        setl_optins=request.setl_optins, request_msgid=request.msgid, request_infno="3201",
        insutype=request.insutype, clr_type=request.clr_type,
        stmt_begndate=request.stmt_begndate, stmt_enddate=request.stmt_enddate,
        refd_setl_flag=request.refd_setl_flag, stmt_rslt=verdict.stmt_rslt,
        stmt_rslt_dscr=verdict.dscr, hospital_totals=request.totals, ledger_totals=ledger,
        answered_at=answered_at,
    )  # fmt: skip
    return result, summary


def detail_description(counts: ReconDiffCounts) -> tuple[StmtRslt, str]:
    compared = max(counts.hosp_row_cnt, counts.ledger_row_cnt)
    sides = f"your rows {counts.hosp_row_cnt}, ledger rows {counts.ledger_row_cnt}"
    if counts.diff_cnt == 0:
        return StmtRslt.BALANCED, f"balanced: {sides}"
    by = ", ".join(
        f"{name} {n}"
        for name, n in (
            ("missing_in_ledger", counts.missing_in_ledger),
            ("missing_in_hospital", counts.missing_in_hospital),
            ("amount_mismatch", counts.amount_mismatch),
            ("refund_mismatch", counts.refund_mismatch),
            ("visit_mismatch", counts.visit_mismatch),
        )
        if n
    )
    text = f"unbalanced: {counts.diff_cnt} rows differ ({by}); {sides}"
    if compared == 0:
        text = f"unbalanced: {by}"
    return StmtRslt.UNBALANCED, clip(text)


def detail_answer(
    request: DetailReconRequested,
    *,
    request_msgid: str,
    counts: ReconDiffCounts,
    answered_at: dt.datetime,
    ledger_version: str | None,
) -> tuple[ReconResult, ReconSummary]:
    """The answer's head (part 1 of 1, no rows: ``result_part`` fills them in) and the summary.
    ``request`` is any part of the batch: they share the slice."""
    stmt_rslt, dscr = detail_description(counts)
    head = ReconResult(
        request_msgid=request_msgid, request_infno="3202", fixmedins_code=request.fixmedins_code,
        stmt_rslt=stmt_rslt, stmt_rslt_dscr=dscr, answered_at=answered_at,
        ledger_version=ledger_version, batch_id=request.batch_id, diff_cnts=counts,
    )  # fmt: skip
    summary = ReconSummary(
        participant=request.mdtrtarea_admvs, fixmedins_code=request.fixmedins_code,
        setl_optins=request.setl_optins, request_msgid=request_msgid, request_infno="3202",
        batch_id=request.batch_id, insutype=request.insutype, clr_type=request.clr_type,
        stmt_begndate=request.stmt_begndate, stmt_enddate=request.stmt_enddate,
        stmt_rslt=stmt_rslt, stmt_rslt_dscr=dscr, diff_cnts=counts, answered_at=answered_at,
    )  # fmt: skip
    return head, summary


def part_count(rows: int, per_part: int = RESULT_ROWS_PER_PART) -> int:
    """Answer parts for ``rows`` unbalanced rows: one part even when nothing differs."""
    return max(1, math.ceil(rows / per_part))


def result_part(
    head: ReconResult, rows: Sequence[ReconRowResult], part_no: int, part_cnt: int
) -> ReconResult:
    return ReconResult.model_validate(
        {**dict(head), "rows": tuple(rows), "part_no": part_no, "part_cnt": part_cnt}
    )
