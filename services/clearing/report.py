"""What the clearing center reads about a period: nets, the largest pairs, late items and
prepayment usage — from the issued statement once the period is closed, from the running
positions while it is open.

An open period's figures are what a close would issue at that moment: the same
``statement.build`` over the running positions (pairs netted each, a net-negative pair
turned round, gross = the sum of the pairs' amounts, nets = received - paid). Corrections
of closed statements (``core/corrections.py``) are listed apart, never mixed into a
statement's pairs or nets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from contracts.money import to_fen
from services.clearing.core.corrections import CorrectionLine, correction_nets
from services.clearing.core.deductions import Deduction
from services.clearing.core.prepayment import level_of
from services.clearing.core.statement import Prepayment, build, top_up_fen
from services.clearing.ports import ClearingRepository, ClearingUnitOfWork
from services.clearing.service_layer.corrections import carried_into, carried_to, correction_due


@dataclass(frozen=True, slots=True)
class PairLine:
    payer: str
    payee: str
    fund_pay_sumamt: Decimal
    setl_cnt: int
    late_cnt: int
    prepayment: Decimal | None
    usage: Decimal | None
    level: str | None
    top_up: Decimal
    deduction: Decimal = Decimal(0)
    """Audit deductions (审核扣款) of the period on this pair: the payable is the amount less it."""


@dataclass(frozen=True, slots=True)
class DeductionLine:
    """One deduction placed in the period; ``late``: its settlement was cleared in
    ``origin_period``, already closed when the deduction arrived."""

    setl_id: str
    participant: str
    deduction_id: str
    payer: str
    payee: str
    amount: Decimal
    reason: str
    origin_period: str
    late: bool

    @classmethod
    def of(cls, d: Deduction) -> DeductionLine:
        return cls(d.setl_id, d.participant, d.deduction_id, d.payer, d.payee,
                   _yuan(d.amount_fen), d.reason, d.origin_period, d.late)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LateLine:
    setl_id: str
    natural_period: str
    home: str
    treatment: str
    fund_pay_sumamt: Decimal


@dataclass(frozen=True, slots=True)
class CorrectionItem:
    origin_period: str
    payer: str
    payee: str
    issued: Decimal
    recomputed: Decimal
    amount: Decimal
    """Signed: what payer owes payee on top of the origin statement (negative: returned)."""

    @classmethod
    def of(cls, line: CorrectionLine) -> CorrectionItem:
        return cls(
            line.origin_period, line.payer, line.payee, _yuan(line.issued_fen),
            _yuan(line.recomputed_fen), _yuan(line.due_fen),
        )  # fmt: skip


def _yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


@dataclass(slots=True)
class Report:
    period: str
    scope: str
    status: str
    statement_id: str | None
    nets: dict[str, Decimal] = field(default_factory=dict)
    pairs: list[PairLine] = field(default_factory=list)
    late: list[LateLine] = field(default_factory=list)
    late_cnt: int = 0
    gross: Decimal = Decimal(0)
    net_volume: Decimal = Decimal(0)
    corrections: list[CorrectionItem] = field(default_factory=list)
    """Carried into this period from closed statements: pending while it is open, as
    recorded at its close once closed."""
    correction_nets: dict[str, Decimal] = field(default_factory=dict)
    correction_due: list[CorrectionItem] = field(default_factory=list)
    """A closed period only: its own statement against today's computation, still to carry."""
    correction_due_into: str | None = None
    deductions: list[DeductionLine] = field(default_factory=list)
    deduction_total: Decimal = Decimal(0)

    def as_dict(self) -> dict[str, object]:
        return {
            "period": self.period, "scope": self.scope, "status": self.status,
            "statement_id": self.statement_id,
            "nets": {k: str(v) for k, v in self.nets.items()},
            "nets_sum": str(sum(self.nets.values(), start=Decimal(0))),
            "gross": str(self.gross), "net_volume": str(self.net_volume),
            "pairs": [_strings(asdict(p)) for p in self.pairs],
            "late_cnt": self.late_cnt, "late": [_strings(asdict(item)) for item in self.late],
            "corrections": [_strings(asdict(c)) for c in self.corrections],
            "correction_nets": {k: str(v) for k, v in self.correction_nets.items()},
            "correction_due": [_strings(asdict(c)) for c in self.correction_due],
            "correction_due_into": self.correction_due_into,
            "deduction_total": str(self.deduction_total),
            "deductions": [_strings(asdict(d)) for d in self.deductions],
        }  # fmt: skip


def _strings(d: dict[str, object]) -> dict[str, object]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in d.items()}


def _usage(used: Decimal, pre: Prepayment | None) -> tuple[Decimal | None, str | None, Decimal]:
    if pre is None or pre.amount_fen <= 0:
        return None, None, Decimal(0)
    used_fen = to_fen(used)
    ratio = (Decimal(used_fen) / Decimal(pre.amount_fen)).quantize(Decimal("0.0001"))
    top = Decimal(top_up_fen(used_fen, pre)) / 100
    return ratio, level_of(used_fen, pre.amount_fen, pre.thresholds), top.quantize(Decimal("0.01"))


async def load_report(
    uow: ClearingUnitOfWork, period: str, scope: str, late_limit: int = 20
) -> Report:
    """The period as the clearing center reads it, from one snapshot of clearing's state."""
    async with uow.transaction(snapshot=True) as repo:
        return await _report(repo, period, scope, late_limit)


async def _report(repo: ClearingRepository, period: str, scope: str, late_limit: int) -> Report:
    stored = await repo.stored_statement(period, scope)
    status = await repo.status(period, scope) or "OPEN"
    statement_id = None if stored is None else stored.statement_id
    report = Report(period, scope, status, statement_id)
    prepayments = await repo.prepayments_for(period, scope)
    issued = None if statement_id is None else await repo.issued_statement(statement_id)
    if issued is not None:
        report.nets.update(issued.nets)
        for p in issued.pairs:
            ratio, level, _ = _usage(p.fund_pay_sumamt, prepayments.get((p.payer, p.payee)))
            report.pairs.append(
                PairLine(p.payer, p.payee, p.fund_pay_sumamt, p.setl_cnt, p.late_cnt,
                         p.prepayment, ratio, level, p.top_up, p.deduction)
            )  # fmt: skip
        report.gross, report.net_volume = _yuan(issued.gross_fen), _yuan(issued.net_volume_fen)
        report.late_cnt = issued.late_cnt
        carried = await repo.recorded_corrections(period, scope)
        due = await correction_due(repo, period, scope)
        if due:
            report.correction_due = [CorrectionItem.of(c) for c in due]
            report.correction_due_into = await carried_to(repo, period, scope)
    else:
        draft = build(
            period, scope, await repo.position_totals(period, scope), prepayments,
            await repo.deduction_totals(period, scope),
        )  # fmt: skip
        for who, amount in sorted(draft.nets.items(), key=lambda kv: (-kv[1], kv[0])):
            report.nets[who] = _yuan(amount)
        for d in sorted(draft.pairs, key=lambda p: (-p.fund_fen, p.payer, p.payee)):
            used = _yuan(d.fund_fen)
            pre = prepayments.get((d.payer, d.payee))
            ratio, level, top = _usage(used, pre)
            report.pairs.append(
                PairLine(d.payer, d.payee, used, d.setl_cnt, d.late_cnt,
                         None if pre is None else _yuan(pre.amount_fen), ratio, level, top,
                         _yuan(d.deduction_fen))
            )  # fmt: skip
        report.late_cnt = draft.late_cnt
        report.gross = _yuan(draft.gross_fen)
        report.net_volume = _yuan(draft.net_volume_fen)
        carried = await carried_into(repo, period, scope)
    report.corrections = [CorrectionItem.of(c) for c in carried]
    report.correction_nets = {k: _yuan(v) for k, v in correction_nets(carried).items()}
    report.deductions = [DeductionLine.of(d) for d in await repo.deductions_in(period, scope)]
    report.deduction_total = sum((d.amount for d in report.deductions), start=Decimal("0.00"))
    for e in await repo.late_entries(period, scope, late_limit):
        report.late.append(
            LateLine(e.setl_id, e.natural_period, e.home, e.treatment, e.fund_pay_sumamt)
        )
    return report
