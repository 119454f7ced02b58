"""The in-memory clearing state: one object per fake database, copied for rollback.

``ledger`` stands for the ledger's ``settlements`` table (what the ledger sink landed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from events.stream.positions import MemoryPositions
from services.clearing.core import periods as P
from services.clearing.core.corrections import CorrectionLine
from services.clearing.core.deductions import Deduction
from services.clearing.core.prepayment import Level
from services.clearing.core.statement import Prepayment
from services.clearing.ports import (
    DeductionMeta,
    Entry,
    FlowKey,
    IssuedStatement,
    OutboxMessage,
    PendingMessage,
)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """What clearing reads of a landed settlement: its kind, regions and amounts."""

    kind: str
    home: str
    treatment: str
    amounts: tuple[Decimal, ...]


@dataclass(slots=True)
class PeriodRecord:
    status: P.Status
    statement_id: str | None = None
    frozen: dict[str, dict[str, int]] | None = None
    changed_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(slots=True)
class PositionRecord:
    payer: str
    payee: str
    counts: list[int]  # setl_cnt, rev_cnt, late_cnt
    amounts: list[Decimal]


@dataclass(frozen=True, slots=True)
class StatementRecord:
    period: str
    scope: str
    payload: bytes
    issued: IssuedStatement


@dataclass(slots=True)
class ClearingState:
    periods: dict[tuple[str, str], PeriodRecord] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)
    positions: dict[tuple[str, str, str, str], PositionRecord] = field(default_factory=dict)
    levels: dict[FlowKey, tuple[Level | None, int]] = field(default_factory=dict)
    prepayments: dict[tuple[int, str, str, str], Prepayment] = field(default_factory=dict)
    statements: dict[str, StatementRecord] = field(default_factory=dict)
    confirmations: dict[tuple[str, str], tuple[Decimal, str, dt.datetime]] = field(
        default_factory=dict
    )
    corrections: list[tuple[str, str, str, str, str, CorrectionLine]] = field(default_factory=list)
    """(origin, scope, payer, payee, carried_into, line as carried)."""
    deductions: dict[tuple[str, str], tuple[Deduction, DeductionMeta]] = field(default_factory=dict)
    """(participant, deduction_id) -> the deduction as stored."""
    outbox: dict[str, tuple[int, OutboxMessage, bool]] = field(default_factory=dict)
    sink: MemoryPositions = field(default_factory=MemoryPositions)
    ledger: dict[str, LedgerRow] = field(default_factory=dict)


class MemoryOutbox:
    def __init__(self, state: ClearingState) -> None:
        self.state = state

    async def add(self, message: OutboxMessage) -> None:
        if message.ce_id not in self.state.outbox:
            self.state.outbox[message.ce_id] = (len(self.state.outbox) + 1, message, False)

    async def pending(self, limit: int) -> list[PendingMessage]:
        rows = sorted(v for v in self.state.outbox.values() if not v[2])[:limit]
        return [PendingMessage(seq, m) for seq, m, _ in rows]

    async def mark_published(self, seqs: Sequence[int]) -> None:
        done = set(seqs)
        for ce_id, (seq, m, published) in list(self.state.outbox.items()):
            self.state.outbox[ce_id] = (seq, m, published or seq in done)
