"""3201 (对总账): one slice's totals, the hospital's against the ledger's.

Balanced only when all four totals agree exactly; the description names every total
that differs with both values, so the hospital knows whether to look for a missing
settlement (the count) or a wrong amount (the sums) before it sends its details.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from contracts.codes import StmtRslt
from contracts.recon import ReconTotals
from services.recon.core.text import MAX_TEXT, clip, yuan

TOTAL_FIELDS: tuple[str, ...] = (
    "fixmedins_setl_cnt",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
)


@dataclass(frozen=True, slots=True)
class TotalsVerdict:
    stmt_rslt: StmtRslt
    dscr: str
    differing: tuple[str, ...]


def _or_zero(value: int | Decimal | None) -> int | Decimal:
    return Decimal("0.00") if value is None else value


def _show(value: int | Decimal) -> str:
    return str(value) if isinstance(value, int) else yuan(value)


def compare_totals(hospital: ReconTotals, ledger: ReconTotals) -> TotalsVerdict:
    """Deductions (审核扣款) are compared when the hospital states its own (1.1); either way
    the ledger's are in the answer, and named in a balanced description when there are any."""
    fields = TOTAL_FIELDS + (("deduction_sumamt",) if hospital.deduction_sumamt is not None else ())
    differing = tuple(f for f in fields if getattr(hospital, f) != _or_zero(getattr(ledger, f)))
    if not differing:
        dscr = (
            f"balanced: {ledger.fixmedins_setl_cnt} settlements, medfee_sumamt "
            f"{yuan(ledger.medfee_sumamt)}, fund_pay_sumamt {yuan(ledger.fund_pay_sumamt)}, "
            f"acct_pay {yuan(ledger.acct_pay)}"
        )
        if ledger.deduction_sumamt:
            dscr += f", deductions {yuan(ledger.deduction_sumamt)}"
        return TotalsVerdict(StmtRslt.BALANCED, clip(dscr), ())
    shown = "; ".join(
        f"{f} {_show(getattr(hospital, f))}/{_show(_or_zero(getattr(ledger, f)))}"
        for f in differing
    )
    dscr = f"unbalanced (yours/ledger): {shown}"
    if len(dscr) > MAX_TEXT:
        dscr = f"unbalanced: {', '.join(differing)} differ"
    return TotalsVerdict(StmtRslt.UNBALANCED, dscr, differing)
