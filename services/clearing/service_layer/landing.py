"""Landing a batch of the settlement feed: each settlement into its clearing month, the
running positions, and a prepayment warning once per upward threshold crossing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from contracts.clearing import PrepaymentWarning
from contracts.money import from_fen
from events.wire.codec import Codec
from services.clearing.core import periods as P
from services.clearing.core.prepayment import warnings_due
from services.clearing.feed import Fact
from services.clearing.ports import ClearingRepository, ClearingUnitOfWork, Entry, Usage
from services.clearing.service_layer.messages import enqueue

log = structlog.get_logger("yidi.clearing")


@dataclass(frozen=True, slots=True)
class Landed:
    inserted: int
    duplicates: int


async def land_batch(
    uow: ClearingUnitOfWork,
    codec: Codec,
    group_id: str,
    facts: Sequence[Fact],
    positions: dict[tuple[str, int], int],
    *,
    rebuild: bool = False,
) -> Landed:
    """Entries, positions, warnings and the group's offsets of one batch, atomically.

    Needs of the unit of work: one transaction under the *shared* clearing lock, so a
    close (exclusive) either sees this batch whole or freezes its month before this batch
    reads the period states. A ``rebuild`` re-lands history: its warnings were raised
    already, and its commit need not wait for durability (``fast_commit``)."""
    async with uow.transaction("shared", fast_commit=rebuild) as repo:
        inserted = 0
        if facts:
            inserted = await _land(repo, codec, group_id, facts, warn=not rebuild)
        await repo.record_positions(group_id, positions)
    return Landed(inserted, len(facts) - inserted)


async def _land(
    repo: ClearingRepository, codec: Codec, group_id: str, facts: Sequence[Fact], *, warn: bool
) -> int:
    states = await repo.period_states(sorted({f.scope for f in facts}))
    entries = []
    for f in facts:
        a = P.assign(
            f.natural_period,
            states.statuses[f.scope],
            states.counted_before(f.scope, group_id, f.src_partition, f.src_offset),
        )
        entries.append(
            Entry(f.setl_id, a.period, a.natural_period, f.scope, a.late, f.kind, f.home,
                  f.treatment, f.payer, f.payee, f.amounts, f.src_partition, f.src_offset,
                  f.orig_setl_id)
        )  # fmt: skip
    inserted, touched = await repo.add_entries(entries)
    reversals = [e for e in entries if e.kind == "reversal" and e.orig_setl_id is not None]
    if reversals and await repo.return_deductions(reversals):
        log.info("clearing_deductions_returned", reversals=len(reversals))
    if touched and warn:
        now = dt.datetime.now(dt.UTC)
        for usage in await repo.usage(touched):
            await _warn(repo, codec, usage, now)
    return inserted


async def _warn(repo: ClearingRepository, codec: Codec, u: Usage, now: dt.datetime) -> None:
    """Warn once per upward crossing of a prepayment threshold by this month's usage."""
    level, crossed = warnings_due(u.level, u.used_fen, u.prepayment_fen, u.thresholds)
    if level == u.level:
        return
    period, scope, payer, payee = u.flow
    n = u.crossings
    for lvl in crossed:
        n += 1
        bp = u.thresholds.yellow_bp if lvl == "yellow" else u.thresholds.red_bp
        warning = PrepaymentWarning(
            participant=payer, period=period, scope=P.scope_kind(scope), home=payer,
            treatment=payee, prepayment=from_fen(u.prepayment_fen),
            clearing_amt=from_fen(u.used_fen), level=lvl, threshold=f"{bp / 10_000:.2f}",
            raised_at=now,
        )  # fmt: skip
        ce_id = f"warn-{period}-{scope}-{payer}-{payee}-{n}-{lvl}".replace(":", "-")
        await enqueue(repo.outbox, codec, warning, ce_id, now)
        log.warning("prepayment_warning", period=period, payer=payer, payee=payee, level=lvl)
    await repo.set_level(u.flow, level, n)
