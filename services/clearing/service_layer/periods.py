"""A period's life after its month: close (freeze, check, issue), confirm, settle.

Every transition runs under the *exclusive* clearing lock of the unit of work, so no batch
of the settlement feed lands in a month while it changes state, and two closers never
issue two statements."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import structlog

from contracts.clearing import ClearingStatement
from contracts.codes import ClearingStatus
from contracts.pools import PoolingRegions
from events.wire.codec import Codec
from services.clearing.core import periods as P
from services.clearing.core.errors import (
    ConfirmationMismatch,
    LedgerBehind,
    PositionsDisagree,
    RebuildNeeded,
    WrongState,
)
from services.clearing.core.statement import build
from services.clearing.core.statement import differences as statement_differences
from services.clearing.ports import ClearingRepository, ClearingUnitOfWork, StatementView
from services.clearing.service_layer.corrections import ISSUED, carried_into
from services.clearing.service_layer.messages import (
    PROCESSOR,
    deliver_statement,
    statement_message,
)

log = structlog.get_logger("yidi.clearing")


async def close_period(
    uow: ClearingUnitOfWork,
    codec: Codec,
    period: str,
    scope: str,
    today: dt.date | None = None,
    pools: PoolingRegions | None = None,
) -> StatementView:
    """Freeze, check the ledger against the running positions, issue the statement (CLOSED).

    Idempotent: a period already closed returns its statement unchanged. Raises
    ``WrongState`` for a month not over yet, ``LedgerBehind`` (retry later; the period stays
    CLOSING), ``PositionsDisagree``, or — with ``pools``, the pooling regions loaded now —
    ``RebuildNeeded`` when the period's positions were placed under another pool rule.

    Needs of the unit of work: the freeze and the issue each in one transaction under the
    exclusive lock (the freeze records the feed groups' offsets, so a settlement read
    before it still counts in this month); the issue in one snapshot, so the ledger check,
    the statement, the corrections carried and the outbox message agree and commit together.
    The ledger check and the statement's totals are one pass over the month (a separate
    check first cost a second pass: a third of the close over 1,000,000 rows), so a close
    refused as ``LedgerBehind`` held the lock for that pass; ``close_waiting`` then waits
    for the ledger without it.
    """
    P.parse_period(period)
    P.parse_scope(scope)
    P.require_ended(period, today or dt.datetime.now(P.CHINA).date())
    async with uow.transaction("exclusive") as repo:
        status = await repo.status(period, scope)
        if status in (None, "OPEN"):
            await repo.freeze(period, scope, PROCESSOR)
            status = "CLOSING"
    if status != "CLOSING":
        return await _issued(uow, period, scope, status)
    async with uow.transaction("exclusive", snapshot=True) as repo:
        if await repo.status(period, scope) == "CLOSING":
            return await _issue(repo, codec, period, scope, pools)
    return await _issued(uow, period, scope, "CLOSED")  # another closer finished first


async def _issued(uow: ClearingUnitOfWork, period: str, scope: str, status: str) -> StatementView:
    async with uow.transaction() as repo:
        view = await repo.stored_statement(period, scope)
    if view is None:
        raise WrongState(f"{period} {scope} is {status} but has no statement")
    return view


async def _issue(
    repo: ClearingRepository, codec: Codec, period: str, scope: str, pools: PoolingRegions | None
) -> StatementView:
    ledger = await repo.ledger_totals(period, scope)
    if ledger.missing:
        raise _behind(ledger.missing, period, scope)
    from_ledger = ledger.pairs
    running = await repo.position_totals(period, scope)
    diff = statement_differences(from_ledger, running)
    if diff:
        log.error("clearing_positions_disagree", period=period, scope=scope, differences=diff[:20])
        raise PositionsDisagree(
            f"{period} {scope}: the ledger and the running positions differ in {len(diff)} "
            f"places, first: {diff[0]}"
        )
    stale = [] if pools is None else P.misplaced(from_ledger, scope, pools)
    if stale:
        log.error("clearing_rebuild_needed", period=period, scope=scope, pairs=stale[:20])
        raise RebuildNeeded(
            f"{period} {scope}: {len(stale)} running positions follow another pooling rule "
            f"(first: {stale[0]}); rebuild the clearing projection, then close again"
        )
    draft = build(
        period, scope, from_ledger, await repo.prepayments_for(period, scope),
        await repo.deduction_totals(period, scope),
    )  # fmt: skip
    issued_at = dt.datetime.now(dt.UTC)
    message = statement_message(draft, ClearingStatus.APPLIED, issued_at)
    _key, payload, _headers = codec.encode(
        message, ce_id=draft.statement_id, sender=PROCESSOR, ce_time=issued_at, sign=False
    )
    await repo.add_statement(draft, issued_at, payload)
    corrections = await carried_into(repo, period, scope, closing=True)
    await repo.add_corrections(period, scope, draft.statement_id, corrections)
    await repo.set_status(period, scope, "CLOSED", draft.statement_id)
    await deliver_statement(repo.outbox, codec, message, f"{draft.statement_id}-closed", issued_at)
    log.info("clearing_period_closed", period=period, scope=scope, statement_id=draft.statement_id,
             settlements=draft.setl_cnt, late=draft.late_cnt,
             deductions_fen=sum(p.deduction_fen for p in draft.pairs))  # fmt: skip
    if not draft.nets:
        # Nobody to sign off: confirmed by every participant as soon as it is closed.
        await _advance(repo, codec, period, scope, "CONFIRMED", ClearingStatus.ACCEPTED)
        return StatementView(draft.statement_id, period, scope, "CONFIRMED", payload, True)
    return StatementView(draft.statement_id, period, scope, "CLOSED", payload, True)


def _behind(missing: int, period: str, scope: str) -> LedgerBehind:
    return LedgerBehind(f"{missing} settlements of {period} {scope} are not in the ledger yet")


async def close_waiting(
    uow: ClearingUnitOfWork,
    codec: Codec,
    period: str,
    scope: str,
    wait_s: float,
    pools: PoolingRegions | None = None,
    today: dt.date | None = None,
) -> StatementView:
    """Close, waiting up to ``wait_s`` for the ledger to land what clearing placed in the period
    (``pools``: refuse a period placed under another pool rule, ``close_period``).
    ``today`` (China date) is for tests only: no command or message passes it, so a
    production close always asks the clock whether the month is over."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        try:
            return await close_period(uow, codec, period, scope, today, pools=pools)
        except LedgerBehind:
            if loop.time() >= deadline:
                raise
        # Wait for the ledger without the lock (the check under it blocks the feed).
        while True:
            await asyncio.sleep(0.5)
            async with uow.transaction() as repo:
                missing = await repo.ledger_missing(period, scope)
            if not missing:
                break
            if loop.time() >= deadline:
                raise _behind(missing, period, scope)


async def confirm(
    uow: ClearingUnitOfWork,
    codec: Codec,
    statement_id: str,
    participant: str,
    net: Decimal,
    ce_id: str,
    confirmed_at: dt.datetime,
) -> str:
    """Record a participant's sign-off; the period becomes CONFIRMED when every participant
    with a net on the statement has signed. Returns the period's status. Needs one
    transaction under the exclusive lock (the last two signatures never both miss the
    other)."""
    async with uow.transaction("exclusive") as repo:
        found = await repo.statement_period(statement_id)
        if found is None:
            raise ConfirmationMismatch(f"no statement {statement_id}")
        period, scope, status = found
        if status not in ISSUED:
            raise WrongState(f"statement {statement_id} is {status}")
        want = await repo.net_of(statement_id, participant)
        if want is None:
            raise ConfirmationMismatch(f"{participant} has no position on {statement_id}")
        if want != net:
            raise ConfirmationMismatch(
                f"{participant} confirms net {net} but the statement says {want}"
            )
        await repo.add_confirmation(statement_id, participant, net, ce_id, confirmed_at)
        if await repo.unconfirmed(statement_id) == 0 and status == "CLOSED":
            await _advance(repo, codec, period, scope, "CONFIRMED", ClearingStatus.ACCEPTED)
            return "CONFIRMED"
        return status


async def settle(uow: ClearingUnitOfWork, codec: Codec, period: str, scope: str) -> str:
    """CONFIRMED -> SETTLED once the transfers are made; settling twice is a no-op. Needs
    one transaction under the exclusive lock."""
    async with uow.transaction("exclusive") as repo:
        status = await repo.status(period, scope)
        if status == "SETTLED":
            return "SETTLED"
        P.require("settle", status or "OPEN", f"{period} {scope}")
        await _advance(repo, codec, period, scope, "SETTLED", ClearingStatus.CLEARED)
        return "SETTLED"


async def _advance(
    repo: ClearingRepository,
    codec: Codec,
    period: str,
    scope: str,
    status: P.Status,
    code: ClearingStatus,
) -> None:
    """Move the period on and tell the clearing center: the statement again, with its new status
    (its pairs and nets never change)."""
    await repo.set_status(period, scope, status)
    view = await repo.stored_statement(period, scope)
    assert view is not None, "a period past CLOSING has its statement"
    original = ClearingStatement.model_validate_json(view.payload)
    updated = original.model_copy(update={"status": code})
    now = dt.datetime.now(dt.UTC)
    await deliver_statement(
        repo.outbox, codec, updated, f"{original.statement_id}-{status.lower()}", now
    )
