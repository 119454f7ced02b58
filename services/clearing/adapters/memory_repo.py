"""The in-memory clearing repository (``memory.MemoryClearingUnitOfWork`` hands it out)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from contracts.money import from_fen, to_fen
from contracts.settlement import SETTLEMENT_TOPIC
from services.clearing.adapters.memory_state import (
    ClearingState,
    MemoryOutbox,
    PeriodRecord,
    PositionRecord,
    StatementRecord,
)
from services.clearing.core import periods as P
from services.clearing.core.corrections import CorrectionLine
from services.clearing.core.deductions import ClearedSettlement, Deduction
from services.clearing.core.prepayment import Level, Thresholds
from services.clearing.core.statement import Draft, PairKey, PairTotals, Prepayment
from services.clearing.ports import (
    DeductionMeta,
    Entry,
    FlowKey,
    IssuedPair,
    IssuedStatement,
    LateEntry,
    LedgerTotals,
    PeriodRow,
    PeriodStates,
    StatementView,
    Usage,
)


def _fen(amounts: Sequence[Decimal], setl: int, rev: int, late: int) -> PairTotals:
    return PairTotals(
        setl,
        rev,
        late,
        to_fen(amounts[0]),
        to_fen(amounts[1]),
        tuple(to_fen(a) for a in amounts[2:]),
    )


class MemoryClearingRepository:
    def __init__(self, state: ClearingState) -> None:
        self.s = state
        self._outbox = MemoryOutbox(state)

    @property
    def outbox(self) -> MemoryOutbox:
        return self._outbox

    async def period_states(self, scopes: Sequence[str]) -> PeriodStates:
        out = PeriodStates({sc: {} for sc in scopes}, {})
        for (period, scope), p in self.s.periods.items():
            if scope in out.statuses:
                out.statuses[scope][period] = p.status
                if p.frozen is not None:
                    out.frozen[(scope, period)] = copy.deepcopy(p.frozen)
        return out

    async def add_entries(self, entries: Sequence[Entry]) -> tuple[int, list[FlowKey]]:
        inserted, touched = 0, set()
        for e in sorted(entries, key=lambda e: (e.setl_id, e.src_offset)):
            if e.setl_id in self.s.entries:
                continue
            self.s.entries[e.setl_id] = e
            inserted += 1
            key = (e.period, e.scope, e.home, e.treatment)
            pos = self.s.positions.setdefault(
                key, PositionRecord(e.payer, e.payee, [0, 0, 0], [Decimal(0)] * len(e.amounts))
            )
            pos.counts[0] += e.kind == "settlement"
            pos.counts[1] += e.kind == "reversal"
            pos.counts[2] += e.late
            pos.amounts = [a + b for a, b in zip(pos.amounts, e.amounts, strict=True)]
            touched.add((e.period, e.scope, pos.payer, pos.payee))
        return inserted, sorted(touched)

    async def usage(self, flows: Sequence[FlowKey]) -> list[Usage]:
        out = []
        for flow in sorted(set(flows)):
            period, scope, payer, payee = flow
            pre = self._prepayment_in_force(P.period_year(period), scope, payer, payee)
            if pre is None:
                continue
            used = sum(
                (p.amounts[1] for (pe, sc, _h, _t), p in self.s.positions.items()
                 if (pe, sc, p.payer, p.payee) == flow),
                Decimal(0),
            )  # fmt: skip
            level, crossings = self.s.levels.get(flow, (None, 0))
            out.append(Usage(flow, pre.amount_fen, pre.thresholds, to_fen(used), level, crossings))
        return out

    def _prepayment_in_force(
        self, year: int, scope: str, payer: str, payee: str
    ) -> Prepayment | None:
        for y in (year, year - 1):
            pre = self.s.prepayments.get((y, scope, payer, payee))
            if pre is not None:
                return pre
        return None

    async def set_level(self, flow: FlowKey, level: Level | None, crossings: int) -> None:
        self.s.levels[flow] = (level, crossings)

    async def record_positions(self, group_id: str, positions: dict[tuple[str, int], int]) -> None:
        await self.s.sink.record(group_id, positions)

    async def status(self, period: str, scope: str) -> P.Status | None:
        p = self.s.periods.get((period, scope))
        return None if p is None else p.status

    async def freeze(self, period: str, scope: str, group_prefix: str) -> None:
        frozen = {
            group: {str(part): at for part, at in offsets.items()}
            for group, offsets in self.s.sink.by_group(SETTLEMENT_TOPIC).items()
            if group.startswith(group_prefix)
        }
        p = self.s.periods.setdefault((period, scope), PeriodRecord("CLOSING"))
        p.status, p.frozen, p.changed_at = "CLOSING", frozen, dt.datetime.now(dt.UTC)

    def _entries(self, period: str, scope: str) -> list[Entry]:
        return [e for e in self.s.entries.values() if (e.period, e.scope) == (period, scope)]

    async def ledger_missing(self, period: str, scope: str) -> int:
        return sum(e.setl_id not in self.s.ledger for e in self._entries(period, scope))

    async def ledger_totals(self, period: str, scope: str) -> LedgerTotals:
        groups: dict[PairKey, tuple[list[int], list[Decimal]]] = {}
        missing = 0
        for e in self._entries(period, scope):
            row = self.s.ledger.get(e.setl_id)
            if row is None:
                missing += 1
                continue
            counts, sums = groups.setdefault(
                (row.home, row.treatment, e.payer, e.payee),
                ([0, 0, 0], [Decimal(0)] * len(row.amounts)),
            )
            counts[0] += row.kind == "settlement"
            counts[1] += row.kind == "reversal"
            counts[2] += e.late
            sums[:] = [a + b for a, b in zip(sums, row.amounts, strict=True)]
        pairs = {k: _fen(sums, *counts) for k, (counts, sums) in groups.items()}
        return LedgerTotals(pairs, missing)

    async def position_totals(self, period: str, scope: str) -> dict[PairKey, PairTotals]:
        return {
            (home, treatment, p.payer, p.payee): _fen(p.amounts, *p.counts)
            for (pe, sc, home, treatment), p in self.s.positions.items()
            if (pe, sc) == (period, scope)
        }

    async def prepayments_for(self, period: str, scope: str) -> dict[tuple[str, str], Prepayment]:
        year = P.period_year(period)
        flows = {
            (pa, pe)
            for (y, sc, pa, pe) in self.s.prepayments
            if sc == scope and y in (year, year - 1)
        }
        out = {}
        for payer, payee in flows:
            pre = self._prepayment_in_force(year, scope, payer, payee)
            assert pre is not None
            out[(payer, payee)] = pre
        return out

    async def add_statement(self, draft: Draft, issued_at: dt.datetime, payload: bytes) -> None:
        if draft.statement_id in self.s.statements:
            raise ValueError(f"statement {draft.statement_id} exists")  # the primary key
        pairs = [
            IssuedPair(p.payer, p.payee, from_fen(p.fund_fen), p.setl_cnt, p.late_cnt,
                       None if p.prepayment_fen is None else from_fen(p.prepayment_fen),
                       from_fen(p.top_up_fen), from_fen(p.deduction_fen))
            for p in sorted(draft.pairs, key=lambda p: (-p.fund_fen, p.payer, p.payee))
        ]  # fmt: skip
        nets = dict(sorted(draft.nets.items(), key=lambda kv: (-kv[1], kv[0])))
        issued = IssuedStatement(
            draft.statement_id, {k: from_fen(v) for k, v in nets.items()}, pairs,
            draft.gross_fen, draft.net_volume_fen, draft.late_cnt,
        )  # fmt: skip
        self.s.statements[draft.statement_id] = StatementRecord(
            draft.period, draft.scope, payload, issued
        )

    async def set_status(
        self, period: str, scope: str, status: P.Status, statement_id: str | None = None
    ) -> None:
        p = self.s.periods.setdefault((period, scope), PeriodRecord(status))
        p.status, p.changed_at = status, dt.datetime.now(dt.UTC)
        if statement_id is not None:
            p.statement_id = statement_id

    def _statement_at(self, period: str, scope: str) -> tuple[str, StatementRecord] | None:
        for sid, st in self.s.statements.items():
            if (st.period, st.scope) == (period, scope):
                return sid, st
        return None

    async def stored_statement(self, period: str, scope: str) -> StatementView | None:
        found = self._statement_at(period, scope)
        p = self.s.periods.get((period, scope))
        if found is None or p is None:
            return None
        return StatementView(found[0], period, scope, p.status, found[1].payload, False)

    async def statement_period(self, statement_id: str) -> tuple[str, str, P.Status] | None:
        st = self.s.statements.get(statement_id)
        p = None if st is None else self.s.periods.get((st.period, st.scope))
        return None if st is None or p is None else (st.period, st.scope, p.status)

    async def net_of(self, statement_id: str, participant: str) -> Decimal | None:
        st = self.s.statements.get(statement_id)
        return None if st is None else st.issued.nets.get(participant)

    async def add_confirmation(
        self,
        statement_id: str,
        participant: str,
        net: Decimal,
        ce_id: str,
        confirmed_at: dt.datetime,
    ) -> None:
        self.s.confirmations.setdefault((statement_id, participant), (net, ce_id, confirmed_at))

    async def unconfirmed(self, statement_id: str) -> int:
        st = self.s.statements.get(statement_id)
        nets = {} if st is None else st.issued.nets
        return sum((statement_id, who) not in self.s.confirmations for who in nets)

    async def issued_statement(self, statement_id: str) -> IssuedStatement | None:
        st = self.s.statements.get(statement_id)
        return None if st is None else st.issued

    async def late_entries(self, period: str, scope: str, limit: int) -> list[LateEntry]:
        late = [e for e in self._entries(period, scope) if e.late]
        late.sort(key=lambda e: (-abs(e.amounts[1]), e.setl_id))
        return [
            LateEntry(e.setl_id, e.natural_period, e.home, e.treatment, e.amounts[1])
            for e in late[:limit]
        ]

    async def issued_pairs(self, period: str, scope: str) -> dict[tuple[str, str], int] | None:
        found = self._statement_at(period, scope)
        if found is None:
            return None
        return {
            (p.payer, p.payee): to_fen(p.fund_pay_sumamt)
            for p in found[1].issued.pairs
            if p.fund_pay_sumamt
        }

    async def carried_from(self, origin: str, scope: str) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for o, sc, payer, payee, _into, line in self.s.corrections:
            if (o, sc) == (origin, scope):
                out[(payer, payee)] = out.get((payer, payee), 0) + line.due_fen
        return out

    async def add_corrections(
        self, period: str, scope: str, statement_id: str, lines: Sequence[CorrectionLine]
    ) -> None:
        for c in lines:
            self.s.corrections.append((c.origin_period, scope, c.payer, c.payee, period, c))

    async def recorded_corrections(self, period: str, scope: str) -> tuple[CorrectionLine, ...]:
        rows = sorted(
            (
                c
                for _o, sc, _pa, _pe, into, c in self.s.corrections
                if (into, sc) == (period, scope)
            ),
            key=lambda c: (c.origin_period, c.payer, c.payee),
        )
        return tuple(rows)

    async def cleared_settlement(self, setl_id: str) -> ClearedSettlement | None:
        e = self.s.entries.get(setl_id)
        if e is None or e.kind != "settlement":
            return None
        reversed_ = any(
            r.kind == "reversal" and r.orig_setl_id == setl_id for r in self.s.entries.values()
        )
        return ClearedSettlement(
            setl_id, e.period, e.scope, e.home, e.treatment, e.payer, e.payee,
            to_fen(e.amounts[1]), reversed_,
        )  # fmt: skip

    async def deducted_fen(self, setl_id: str) -> int:
        return sum(
            d.amount_fen
            for d, _m in self.s.deductions.values()
            if d.setl_id == setl_id and d.kind == "deduction"
        )

    async def return_deductions(self, reversals: Sequence[Entry]) -> int:
        written = 0
        for r in reversals:
            originals = [
                (d, m) for d, m in list(self.s.deductions.values())
                if d.setl_id == r.orig_setl_id and d.kind == "deduction"
            ]  # fmt: skip
            for d, m in sorted(originals, key=lambda x: (x[0].participant, x[0].deduction_id)):
                key = (d.participant, d.deduction_id + "~R")
                if key in self.s.deductions:
                    continue
                back = dataclasses.replace(
                    d, deduction_id=key[1], period=r.period, origin_period=r.period,
                    payer=d.payee, payee=d.payer, kind="return",
                )  # fmt: skip
                self.s.deductions[key] = (back, m)
                written += 1
        return written

    async def deduction(self, participant: str, deduction_id: str) -> Deduction | None:
        found = self.s.deductions.get((participant, deduction_id))
        return None if found is None else found[0]

    async def add_deduction(self, d: Deduction, meta: DeductionMeta) -> None:
        key = (d.participant, d.deduction_id)
        if key in self.s.deductions:
            raise ValueError(f"deduction {key} exists")  # the primary key
        self.s.deductions[key] = (d, meta)

    async def deduction_totals(self, period: str, scope: str) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for d, _m in self.s.deductions.values():
            if (d.period, d.scope) == (period, scope):
                out[(d.payer, d.payee)] = out.get((d.payer, d.payee), 0) + d.amount_fen
        return out

    async def deductions_in(self, period: str, scope: str) -> list[Deduction]:
        found = [
            d for d, _m in self.s.deductions.values() if (d.period, d.scope) == (period, scope)
        ]
        return sorted(found, key=lambda d: (d.setl_id, d.participant, d.deduction_id))

    async def q4_fund(
        self, scope: str, months: Sequence[str], flow: tuple[str, str] | None = None
    ) -> dict[tuple[str, str], dict[str, int]]:
        out: dict[tuple[str, str], dict[str, Decimal]] = {}
        for (period, sc, _h, _t), p in self.s.positions.items():
            if sc != scope or period not in months or flow not in (None, (p.payer, p.payee)):
                continue
            by_month = out.setdefault((p.payer, p.payee), {})
            by_month[period] = by_month.get(period, Decimal(0)) + p.amounts[1]
        return {k: {m: to_fen(v) for m, v in months_.items()} for k, months_ in out.items()}

    async def prepayment_flows(self, year: int, scope: str) -> list[tuple[str, str]]:
        return sorted(
            (pa, pe) for (y, sc, pa, pe) in self.s.prepayments if (y, sc) == (year, scope)
        )

    async def set_prepayments(
        self, year: int, scope: str, amounts: dict[tuple[str, str], int], t: Thresholds
    ) -> None:
        for (payer, payee), fen in amounts.items():
            if fen < 0:
                raise ValueError("a prepayment is never negative")  # the CHECK constraint
            self.s.prepayments[(year, scope, payer, payee)] = Prepayment(fen, t)

    async def prepayment_counts(self, year: int) -> list[tuple[str, int, int]]:
        counts: dict[str, list[int]] = {}
        for y, sc, _pa, _pe in self.s.prepayments:
            if y in (year - 1, year):
                counts.setdefault(sc, [0, 0])[y - year + 1] += 1
        return [(sc, last, now) for sc, (last, now) in sorted(counts.items())]

    async def periods(self) -> list[PeriodRow]:
        return [
            PeriodRow(period, scope, p.status, p.statement_id, p.changed_at)
            for (period, scope), p in sorted(self.s.periods.items())
        ]

    async def statuses_before(self, year: int) -> dict[tuple[str, str], P.Status]:
        keys = {(pe, sc) for pe, sc, _h, _t in self.s.positions} | set(self.s.periods)
        return {
            (pe, sc): (self.s.periods[(pe, sc)].status if (pe, sc) in self.s.periods else "OPEN")
            for pe, sc in keys
            if P.period_year(pe) < year
        }
