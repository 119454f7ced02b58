"""Reconciliation's use case: one request to its stored answer (or a typed refusal).

Runs inside one transaction of the caller (the worker opens it in REPEATABLE READ): the
request is recorded, a detail part staged, and the answer — totals at once, details when
the last part lands — stored with it, so a failed request leaves nothing behind and a
re-delivered one is recognised by its log position and answered from the stored answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from contracts.recon import DetailReconRequested, ReconResult, ReconSummary, TotalsReconRequested
from events.wire.codec import canonical_bytes
from services.recon.core.answers import detail_answer, totals_answer
from services.recon.core.requests import (
    Arrival,
    Position,
    Request,
    answer_key,
    arrival,
    body_sha256,
)
from services.recon.ports import ReconRepository

log = structlog.get_logger("yidi.recon")


@dataclass(frozen=True, slots=True)
class Applied:
    arrival: Arrival
    answered: bool
    """This request completed its answer (totals, or the last part of a detail batch)."""


async def apply_request(
    repo: ReconRepository,
    request: Request,
    ce_id: str,
    at: Position,
    *,
    ledger_group: str,
    clock: Callable[[], dt.datetime],
) -> Applied:
    """Record ``request`` and answer it when it completes its batch. Raises ``ReconRefused``
    (a business answer: the caller rolls back and acks it rejected)."""
    body = body_sha256(request)
    kind = arrival(await repo.seen_request(request.fixmedins_code, request.msgid), body, at)
    if kind is not Arrival.NEW:
        return Applied(kind, False)
    await repo.record_request(request, body, ce_id, at)
    if isinstance(request, TotalsReconRequested):
        await _answer_totals(repo, request, ledger_group, clock)
        return Applied(kind, True)
    received = await repo.join_batch(request)
    await repo.stage_rows(request)
    if received == request.part_cnt:
        await _answer_details(repo, request, ledger_group, clock)
        return Applied(kind, True)
    return Applied(kind, False)


async def _answer_totals(
    repo: ReconRepository,
    request: TotalsReconRequested,
    ledger_group: str,
    clock: Callable[[], dt.datetime],
) -> None:
    ledger = await repo.ledger_totals(request)
    version = await repo.ledger_version(ledger_group)
    result, summary = totals_answer(request, ledger, answered_at=clock(), ledger_version=version)
    await _store(repo, request, result, summary, row_cnt=0)


async def _answer_details(
    repo: ReconRepository,
    request: DetailReconRequested,
    ledger_group: str,
    clock: Callable[[], dt.datetime],
) -> None:
    started = asyncio.get_running_loop().time()
    key = answer_key(request)
    counts = await repo.compare_batch(request)
    version = await repo.ledger_version(ledger_group)
    first = await repo.first_part_msgid(request.fixmedins_code, key)
    head, summary = detail_answer(
        request, request_msgid=first, counts=counts, answered_at=clock(),
        ledger_version=version,
    )  # fmt: skip
    await _store(repo, request, head, summary, row_cnt=counts.diff_cnt)
    await repo.drop_staged(request.fixmedins_code, key)
    log.info(
        "recon_detail_compared", fixmedins_code=request.fixmedins_code,
        hosp_rows=counts.hosp_row_cnt, ledger_rows=counts.ledger_row_cnt,
        unbalanced=counts.diff_cnt,
        seconds=round(asyncio.get_running_loop().time() - started, 3),
    )  # fmt: skip


async def _store(
    repo: ReconRepository,
    request: Request,
    head: ReconResult,
    summary: ReconSummary,
    *,
    row_cnt: int,
) -> None:
    await repo.store_answer(
        request, stmt_rslt=str(head.stmt_rslt), result_head=canonical_bytes(head),
        summary=canonical_bytes(summary), row_cnt=row_cnt, answered_at=head.answered_at,
    )  # fmt: skip
    log.info(
        "recon_answered", fixmedins_code=request.fixmedins_code, infno=request.infno,
        stmt_rslt=str(head.stmt_rslt), unbalanced_rows=row_cnt,
    )  # fmt: skip
