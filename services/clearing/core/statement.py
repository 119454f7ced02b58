"""A period's statement, built from per-pair totals in integer fen.

The totals come twice: once grouped from the ledger, once from the running
positions the clearing processor kept. They must agree to the fen and the
count before anything is issued — two independent paths over the same
settlements, so a lost, doubled or mis-assigned settlement cannot hide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.clearing.core.netting import nets, transfer_volume
from services.clearing.core.periods import NATIONAL, scope_participant
from services.clearing.core.prepayment import Thresholds, level_of

PairKey = tuple[str, str, str, str]
"""(home, treatment, payer, payee): pooling regions and the scope's participants."""


@dataclass(frozen=True, slots=True)
class PairTotals:
    setl_cnt: int
    rev_cnt: int
    late_cnt: int
    medfee_fen: int
    fund_fen: int
    funds_fen: tuple[int, ...] = ()
    """Per fund type (hifp, cvlserv, hifes, hifmi, hifob, maf, oth), when the source has them."""


@dataclass(frozen=True, slots=True)
class Prepayment:
    amount_fen: int
    thresholds: Thresholds


@dataclass(frozen=True, slots=True)
class DraftPair:
    payer: str
    payee: str
    fund_fen: int
    setl_cnt: int
    late_cnt: int
    deduction_fen: int = 0
    prepayment_fen: int | None = None
    top_up_fen: int = 0


@dataclass(frozen=True, slots=True)
class Draft:
    statement_id: str
    period: str
    scope: str
    participant: str
    pairs: tuple[DraftPair, ...]
    nets: dict[str, int] = field(hash=False)
    setl_cnt: int
    late_cnt: int
    gross_fen: int
    net_volume_fen: int


def pair_amounts(draft: Draft) -> dict[tuple[str, str], int]:
    """The draft's directed pair amounts (payer, payee) -> fen, pairs with no money left out."""
    return {(p.payer, p.payee): p.fund_fen for p in draft.pairs if p.fund_fen}


def statement_id(period: str, scope: str) -> str:
    """Deterministic, so closing twice (or on another machine) names the same statement."""
    suffix = "N" if scope == NATIONAL else "P" + scope_participant(scope)
    return f"STMT-{period}-{suffix}"


def differences(
    ledger: Mapping[PairKey, PairTotals], positions: Mapping[PairKey, PairTotals]
) -> list[str]:
    """Every pair where the ledger and the running positions disagree, described."""
    out = []
    for key in sorted(set(ledger) | set(positions)):
        a, b = ledger.get(key), positions.get(key)
        if a is None or b is None:
            side = "running positions" if a is not None else "ledger"
            out.append(f"{key[0]}->{key[1]}: missing from the {side}")
            continue
        compared = (
            ("setl_cnt", a.setl_cnt, b.setl_cnt),
            ("rev_cnt", a.rev_cnt, b.rev_cnt),
            ("late_cnt", a.late_cnt, b.late_cnt),
            ("medfee_sumamt", a.medfee_fen, b.medfee_fen),
            ("fund_pay_sumamt", a.fund_fen, b.fund_fen),
        )
        for name, x, y in compared:
            if x != y:
                out.append(f"{key[0]}->{key[1]} {name}: ledger {x}, positions {y}")
        if a.funds_fen and b.funds_fen and a.funds_fen != b.funds_fen:
            out.append(
                f"{key[0]}->{key[1]} fund types: ledger {a.funds_fen}, positions {b.funds_fen}"
            )
    return out


def top_up_fen(used_fen: int, prepayment: Prepayment) -> int:
    """Emergency top-up (紧急调增) once usage reaches red: the amount that brings usage back
    to the yellow line (ceil, so the new usage is at or below it)."""
    if level_of(used_fen, prepayment.amount_fen, prepayment.thresholds) != "red":
        return 0
    needed = -(-used_fen * 10_000 // prepayment.thresholds.yellow_bp)
    return max(0, needed - prepayment.amount_fen)


def build(
    period: str,
    scope: str,
    totals: Mapping[PairKey, PairTotals],
    prepayments: Mapping[tuple[str, str], Prepayment],
    deductions: Mapping[tuple[str, str], int] | None = None,
) -> Draft:
    """Gross participant pairs (the rule: full monthly clearing) and the nets derived from them.

    ``deductions``: audit deductions (审核扣款) placed in this period, per (payer, payee) of
    the settlements' flows; each reduces the pair's payable (``fund - deduction``) and so
    the home side's net. A pair whose month is net negative (more reversed than settled)
    pays the other way, and deductions apply to the direction money moves in. Where a
    period's deductions exceed what a pair moves (a late deduction larger than the month),
    the pair's deduction stops at its amount and the rest is owed back on the opposite pair
    (a pair's deduction never exceeds its amount, as the statement contract requires).
    The one computation of a period's figures: the close issues it, and ``yidi clearing
    report`` shows it for an open period over the running positions (what a close would
    issue at that moment).
    """
    deductions = deductions or {}
    fund: dict[tuple[str, str], int] = {}
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for (_home, _treatment, payer, payee), t in totals.items():
        fund[(payer, payee)] = fund.get((payer, payee), 0) + t.fund_fen
        c, late = counts.get((payer, payee), (0, 0))
        counts[(payer, payee)] = (c + t.setl_cnt + t.rev_cnt, late + t.late_cnt)
    directed_fund: dict[tuple[str, str], int] = {}
    for (payer, payee), amount in fund.items():
        key, value = ((payer, payee), amount) if amount >= 0 else ((payee, payer), -amount)
        directed_fund[key] = directed_fund.get(key, 0) + value
    directed = {k: (f, 0) for k, f in directed_fund.items()}
    for key, deducted in sorted(deductions.items()):
        if deducted < 0:
            raise ValueError(f"deductions of {key[0]}->{key[1]} are negative")
        f, d = directed.get(key, (0, 0))
        if f - d >= deducted:
            directed[key] = (f, d + deducted)
            continue
        directed[key] = (f, f)  # all that is left is deducted; the payee owes the rest back
        back = (key[1], key[0])
        fb, db = directed.get(back, (0, 0))
        directed[back] = (fb + deducted - (f - d), db)
    gross = {k: f - d for k, (f, d) in sorted(directed.items()) if f - d != 0}
    net = nets(gross)
    pairs = []
    for key in sorted(
        {k for k, (f, _d) in directed.items() if f} | {k for k, (c, _) in counts.items() if c}
    ):
        amount, deducted = directed.get(key, (0, 0))
        c, late = counts.get(key, (0, 0))
        pre = prepayments.get(key)
        pairs.append(
            DraftPair(
                key[0], key[1], amount, c, late, deduction_fen=deducted,
                prepayment_fen=None if pre is None else pre.amount_fen,
                top_up_fen=0 if pre is None else top_up_fen(amount, pre),
            )
        )  # fmt: skip
    moved_gross, moved_net = transfer_volume(gross, net)
    return Draft(
        statement_id=statement_id(period, scope),
        period=period,
        scope=scope,
        participant=scope_participant(scope),
        pairs=tuple(pairs),
        nets=net,
        setl_cnt=sum(c for c, _ in counts.values()),
        late_cnt=sum(late for _, late in counts.values()),
        gross_fen=moved_gross,
        net_volume_fen=moved_net,
    )
