"""What clearing's service layer needs from storage: one unit-of-work port.

The service functions (``services/clearing/service_layer/``) hold the orchestration —
which month a settlement lands in, when a warning is due, what a close checks, when a
period becomes CONFIRMED — and call only these methods. The PostgreSQL adapter
(``adapters/postgres.py``) keeps the concurrency guarantees in SQL (advisory locks, COPY
staging, the frozen offsets); the in-memory adapter (``adapters/memory.py``) gives unit
tests the same behaviour without a server. ``tests/port_suites/clearing.py`` is the one
contract both pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from services.clearing.core import periods as P
from services.clearing.core.corrections import CorrectionLine
from services.clearing.core.deductions import ClearedSettlement, Deduction
from services.clearing.core.prepayment import Level, Thresholds
from services.clearing.core.queries import Query
from services.clearing.core.statement import Draft, PairKey, PairTotals, Prepayment

Lock = Literal["none", "shared", "exclusive"]
"""``shared``: a batch landing settlements; ``exclusive``: a period transition. Once a
period is CLOSING, no batch that read it OPEN under the shared lock can land in it."""

FlowKey = tuple[str, str, str, str]
"""(period, scope, payer, payee): one flow's usage of its prepayment in one month."""


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    pairs: dict[PairKey, PairTotals]
    missing: int
    """Entries of the period whose settlement is not in the ledger (not in ``pairs``)."""


@dataclass(frozen=True, slots=True)
class StatementView:
    statement_id: str
    period: str
    scope: str
    status: str
    payload: bytes
    created: bool


@dataclass(frozen=True, slots=True)
class PeriodStates:
    """Per scope: each period's status, and where each clearing group stood when it froze."""

    statuses: dict[str, dict[str, P.Status]]
    frozen: dict[tuple[str, str], dict[str, dict[str, int]]]

    def counted_before(
        self, scope: str, group_id: str, src_partition: int, src_offset: int
    ) -> Callable[[str], bool]:
        def before(period: str) -> bool:
            at = self.frozen.get((scope, period), {}).get(group_id, {})
            return src_offset < at.get(str(src_partition), -1)

        return before


@dataclass(frozen=True, slots=True)
class Entry:
    """One settlement placed in its clearing month (signed like the ledger)."""

    setl_id: str
    period: str
    natural_period: str
    scope: str
    late: bool
    kind: str
    home: str
    treatment: str
    payer: str
    payee: str
    amounts: tuple[Decimal, ...]
    """``feed.AMOUNT_FIELDS`` in order."""
    src_partition: int
    src_offset: int
    orig_setl_id: str | None = None
    """A reversal's original settlement."""


@dataclass(frozen=True, slots=True)
class Usage:
    """A flow's prepayment in force for a month, its usage so far and the last level warned."""

    flow: FlowKey
    prepayment_fen: int
    thresholds: Thresholds
    used_fen: int
    level: Level | None
    crossings: int


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    ce_id: str
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class PendingMessage:
    seq: int
    message: OutboxMessage


@dataclass(frozen=True, slots=True)
class PeriodRow:
    period: str
    scope: str
    status: P.Status
    statement_id: str | None
    changed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class IssuedPair:
    payer: str
    payee: str
    fund_pay_sumamt: Decimal
    setl_cnt: int
    late_cnt: int
    prepayment: Decimal | None
    top_up: Decimal
    deduction: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class IssuedStatement:
    """A stored statement as the report reads it: nets by net descending, pairs by amount
    descending (ties by name)."""

    statement_id: str
    nets: dict[str, Decimal]
    pairs: list[IssuedPair]
    gross_fen: int
    net_volume_fen: int
    late_cnt: int


@dataclass(frozen=True, slots=True)
class LateEntry:
    setl_id: str
    natural_period: str
    home: str
    treatment: str
    fund_pay_sumamt: Decimal


@dataclass(frozen=True, slots=True)
class DeductionMeta:
    """What is stored beside a deduction for the record (not used by any rule)."""

    ce_id: str
    issued_at: dt.datetime
    alert_id: str | None = None
    memo: str = ""


@dataclass(frozen=True, slots=True)
class StayRow:
    """A settlement as a query on a large stay reads it from the ledger."""

    setl_id: str
    clr_type: str
    medfee_fen: int
    fund_fen: int
    setl_date: dt.date
    home: str
    treatment: str
    reversed: bool


class QueryStore(Protocol):
    """Queries on large stays (协查) and what they read; one transaction per step."""

    def transaction(self) -> AbstractAsyncContextManager[QueryStore]: ...
    async def stay(self, setl_id: str) -> StayRow | None: ...
    async def get(self, query_id: str) -> Query | None:
        """The query, locked for the step."""

    async def open_for(self, setl_id: str) -> bool: ...
    async def save(self, q: Query) -> None: ...
    async def all(self) -> list[Query]: ...
    async def deduction_setl(self, participant: str, deduction_id: str) -> str | None:
        """The settlement of an applied deduction (``None``: no such deduction)."""


class Outbox(Protocol):
    """Messages written in the transaction of the state change that caused them."""

    async def add(self, message: OutboxMessage) -> None:
        """Queue one message; a ``ce_id`` already queued is a no-op."""


class OutboxReader(Protocol):
    """The publisher's side of the outbox (outside any clearing transaction)."""

    async def pending(self, limit: int) -> list[PendingMessage]:
        """Unpublished messages in the order they were queued."""

    async def mark_published(self, seqs: Sequence[int]) -> None: ...


class ClearingRepository(Protocol):
    """Clearing's state as the service layer reads and changes it, inside one transaction."""

    @property
    def outbox(self) -> Outbox: ...

    # landing a batch of the settlement feed
    async def period_states(self, scopes: Sequence[str]) -> PeriodStates: ...
    async def add_entries(self, entries: Sequence[Entry]) -> tuple[int, list[FlowKey]]:
        """Insert entries not seen before (the first by offset per ``setl_id``) and add them to
        the running positions; returns (inserted, the flows whose positions changed)."""

    async def usage(self, flows: Sequence[FlowKey]) -> list[Usage]:
        """The flows that have a prepayment in force (their year's, else last year's)."""

    async def set_level(self, flow: FlowKey, level: Level | None, crossings: int) -> None: ...
    async def record_positions(self, group_id: str, positions: dict[tuple[str, int], int]) -> None:
        """The feed group's next offsets, written with the batch (never moved backwards)."""

    # periods and statements
    async def status(self, period: str, scope: str) -> P.Status | None: ...
    async def freeze(self, period: str, scope: str, group_prefix: str) -> None:
        """OPEN (or absent) -> CLOSING, recording where every group of ``group_prefix`` stood."""

    async def ledger_missing(self, period: str, scope: str) -> int:
        """Entries of the period whose settlement the ledger has not landed yet."""

    async def ledger_totals(self, period: str, scope: str) -> LedgerTotals:
        """The period's pairs from the ledger's own rows (only the month comes from entries),
        and how many of the period's entries the ledger has not landed: one pass, so a close
        reads the period's entries once (``ledger_missing`` is the cheap lock-free wait)."""

    async def position_totals(self, period: str, scope: str) -> dict[PairKey, PairTotals]: ...
    async def prepayments_for(self, period: str, scope: str) -> dict[tuple[str, str], Prepayment]:
        """The period's year's prepayments; until January's re-set, last year's."""

    async def add_statement(self, draft: Draft, issued_at: dt.datetime, payload: bytes) -> None: ...
    async def set_status(
        self, period: str, scope: str, status: P.Status, statement_id: str | None = None
    ) -> None: ...
    async def stored_statement(self, period: str, scope: str) -> StatementView | None: ...
    async def statement_period(self, statement_id: str) -> tuple[str, str, P.Status] | None:
        """(period, scope, period status) of a statement."""

    async def net_of(self, statement_id: str, participant: str) -> Decimal | None: ...
    async def add_confirmation(
        self,
        statement_id: str,
        participant: str,
        net: Decimal,
        ce_id: str,
        confirmed_at: dt.datetime,
    ) -> None:
        """A participant's sign-off; signing twice keeps the first."""

    async def unconfirmed(self, statement_id: str) -> int:
        """Participants with a net on the statement who have not signed it."""

    # what the report reads
    async def issued_statement(self, statement_id: str) -> IssuedStatement | None: ...
    async def late_entries(self, period: str, scope: str, limit: int) -> list[LateEntry]:
        """The period's late entries, largest ``abs(fund_pay_sumamt)`` first."""

    # corrections of closed statements
    async def issued_pairs(self, period: str, scope: str) -> dict[tuple[str, str], int] | None:
        """Non-zero pair amounts of the period's statement; ``None``: no statement."""

    async def carried_from(self, origin: str, scope: str) -> dict[tuple[str, str], int]:
        """What later statements already carried of ``origin``'s correction, per pair."""

    async def add_corrections(
        self, period: str, scope: str, statement_id: str, lines: Sequence[CorrectionLine]
    ) -> None: ...
    async def recorded_corrections(self, period: str, scope: str) -> tuple[CorrectionLine, ...]:
        """What ``period``'s statement carried when it closed."""

    # audit deductions (审核扣款)
    async def cleared_settlement(self, setl_id: str) -> ClearedSettlement | None:
        """The settlement's clearing entry (``None``: no cleared settlement, or a reversal's
        id) and whether a reversal of it has been cleared."""

    async def deducted_fen(self, setl_id: str) -> int:
        """The settlement's deductions so far (returns not counted)."""

    async def deduction(self, participant: str, deduction_id: str) -> Deduction | None: ...
    async def return_deductions(self, reversals: Sequence[Entry]) -> int:
        """For each reversal entry whose original settlement was deducted: each deduction given
        back (kind ``return``, id ``<id>~R``, the pair turned round) in the reversal's period.
        Once per deduction (a reversal landed again writes nothing); returns rows written."""

    async def add_deduction(self, d: Deduction, meta: DeductionMeta) -> None: ...
    async def deduction_totals(self, period: str, scope: str) -> dict[tuple[str, str], int]:
        """The period's deductions per (payer, payee) of their settlements' flows."""

    async def deductions_in(self, period: str, scope: str) -> list[Deduction]:
        """The period's deductions, by (setl_id, participant, deduction_id)."""

    # prepayments and the clearing year
    async def q4_fund(
        self, scope: str, months: Sequence[str], flow: tuple[str, str] | None = None
    ) -> dict[tuple[str, str], dict[str, int]]:
        """Cleared fund payments (fen) per flow and month, from the running positions."""

    async def prepayment_flows(self, year: int, scope: str) -> list[tuple[str, str]]: ...
    async def set_prepayments(
        self, year: int, scope: str, amounts: dict[tuple[str, str], int], t: Thresholds
    ) -> None:
        """Upsert the flows' prepayments (re-setting one replaces its amount and thresholds)."""

    async def prepayment_counts(self, year: int) -> list[tuple[str, int, int]]:
        """(scope, flows of ``year - 1``, flows of ``year``) per scope holding either."""

    async def periods(self) -> list[PeriodRow]:
        """Every period that has left OPEN, by (period, scope)."""

    async def statuses_before(self, year: int) -> dict[tuple[str, str], P.Status]:
        """Periods of earlier years with positions or a state (no state: OPEN)."""


class ClearingUnitOfWork(Protocol):
    """Opens clearing transactions: everything done with the repository commits together or
    not at all (an exception rolls every change back, outbox messages included)."""

    def transaction(
        self, lock: Lock = "none", *, snapshot: bool = False, fast_commit: bool = False
    ) -> AbstractAsyncContextManager[ClearingRepository]:
        """``lock``: see ``Lock``; ``snapshot``: every read sees one snapshot (a close's
        checks and its statement agree); ``fast_commit``: a rebuild's batch need not wait
        for durability (a crash loses a suffix the rebuild reads again)."""
