"""The home region's policy (参保地政策) applied to a priced bill, layer by layer.

Why this order (DOMAIN.md section 5): deductible, basic pooled fund (ratio after
the filing cut, yearly cap), employee large-amount subsidy above the cap,
resident critical-illness insurance on the year's in-scope burden, medical
assistance on what insurance left, then the personal account, cash last. Each
layer lives in its own module; this one only wires them and records the
accumulator delta, so a reversal can subtract exactly what was added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

from contracts.policy import Category
from services.adjudication.core import accumulators as acc_keys
from services.adjudication.core.accumulators import Accumulators
from services.adjudication.core.assistance import assistance_pay
from services.adjudication.core.basic_fund import basic_fund, effective_ratio
from services.adjudication.core.breakdown import Breakdown, DetailRow, check_identities
from services.adjudication.core.critical_illness import critical_illness_pay
from services.adjudication.core.deductible import deductible_due
from services.adjudication.core.large_amount import large_amount_pay
from services.adjudication.core.personal_account import CompiledAccount, account_pay
from services.adjudication.core.pricing import Scope
from services.adjudication.core.tables import CompiledPolicy, RuleTerms

BASIC_FUND_TYPE = {"310": "310100", "390": "390100"}
FUND_CRITICAL_ILLNESS = "390200"
FUND_LARGE_AMOUNT = "330100"
FUND_ASSISTANCE = "610100"


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Claim:
    """Everything the policy needs about one settlement, already resolved."""

    scope: Scope
    policy: CompiledPolicy
    terms: RuleTerms
    insutype: str
    category: Category
    cut_bp: int
    poor: bool
    assistance_eligible: bool
    admission_deductible_paid: int
    use_account: bool
    account_balance: int


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Calculation:
    """The amounts, the detail rows, and what the settlement adds to the counters."""

    breakdown: Breakdown
    details: tuple[DetailRow, ...]
    delta: Mapping[str, int]
    admission_deductible: int
    ratio_bp: int


def calculate(claim: Claim, acc: Accumulators) -> Calculation:
    """Apply every layer to ``claim`` given the person-year counters ``acc``."""
    scope, terms, policy, insutype = claim.scope, claim.terms, claim.policy, claim.insutype
    inscp = scope.inscp
    delta: dict[str, int] = {}
    details: list[DetailRow] = []

    ded_key = acc_keys.ded_key(insutype, terms.category)
    ded_before = claim.admission_deductible_paid if terms.per_admission else acc.get(ded_key)
    dedc = deductible_due(terms.deductible_fen, ded_before, inscp)
    if dedc and not terms.per_admission:
        delta[ded_key] = dedc
    eligible = inscp - dedc

    ratio = effective_ratio(terms.ratio_bp, claim.cut_bp)
    cap_key = acc_keys.cap_key(insutype, terms.cap_group)
    cap_left = max(0, terms.cap_fen - acc.get(cap_key))
    basic = basic_fund(eligible, ratio, cap_left)
    hifp = basic.paid
    if hifp:
        delta[cap_key] = hifp
    details.append(
        DetailRow(
            BASIC_FUND_TYPE[insutype],
            eligible,
            cap_left,
            hifp,
            f"ratio_bp={ratio} home_bp={terms.ratio_bp} cut_bp={claim.cut_bp} dedc_fen={dedc}",
        )
    )

    hifob = _large_amount(claim, acc, basic.cost_over_cap, delta, details)
    hifmi = _critical_illness(claim, acc, inscp - hifp - hifob, delta, details)
    maf = _assistance(claim, acc, inscp - hifp - hifob - hifmi, delta, details)

    funds = hifp + hifmi + hifob + maf
    psn_part = scope.medfee - funds
    acct = 0
    if claim.use_account:
        acct = account_pay(
            policy.account, insutype, claim.category, claim.account_balance, psn_part, inscp - funds
        )
    breakdown = Breakdown(
        medfee_sumamt=scope.medfee,
        fulamt_ownpay_amt=scope.fulamt_ownpay,
        overlmt_selfpay=scope.overlmt_selfpay,
        preselfpay_amt=scope.preselfpay,
        inscp_scp_amt=inscp,
        act_pay_dedc=dedc,
        hifp_pay=hifp,
        pool_prop_selfpay=eligible - hifp,
        cvlserv_pay=0,
        hifes_pay=0,
        hifmi_pay=hifmi,
        hifob_pay=hifob,
        maf_pay=maf,
        oth_pay=0,
        fund_pay_sumamt=funds,
        psn_part_amt=psn_part,
        acct_pay=acct,
        psn_cash_pay=psn_part - acct,
        hosp_part_amt=0,
        balc=claim.account_balance - acct,
        acct_mulaid_pay=0,
    )
    rows = tuple(details)
    check_identities(breakdown, rows)
    return Calculation(breakdown, rows, delta, dedc if terms.per_admission else 0, ratio)


def _large_amount(
    claim: Claim,
    acc: Accumulators,
    cost_over_cap: int,
    delta: dict[str, int],
    rows: list[DetailRow],
) -> int:
    layer = claim.policy.large_amount
    if layer is None or claim.insutype not in layer.insutypes or not cost_over_cap:
        return 0
    paid_before = acc.get(acc_keys.HIFOB_PAID)
    pay = large_amount_pay(layer, cost_over_cap, paid_before)
    if pay:
        delta[acc_keys.HIFOB_PAID] = pay
    cap_left = max(0, layer.cap_fen - paid_before)
    info = f"ratio_bp={layer.ratio_bp} above_cap_fen={cost_over_cap}"
    rows.append(DetailRow(FUND_LARGE_AMOUNT, cost_over_cap, cap_left, pay, info))
    return pay


def _critical_illness(
    claim: Claim, acc: Accumulators, burden: int, delta: dict[str, int], rows: list[DetailRow]
) -> int:
    layer = claim.policy.critical_illness
    if layer is None or not layer.applies(claim.insutype, claim.category):
        return 0
    before = acc.get(acc_keys.CI_BURDEN)
    paid_before = acc.get(acc_keys.CI_PAID)
    pay = critical_illness_pay(layer, before, burden, paid_before, claim.poor)
    if burden:
        delta[acc_keys.CI_BURDEN] = burden
    if pay:
        delta[acc_keys.CI_PAID] = pay
    cap_left = max(0, layer.cap(claim.poor) - paid_before)
    info = f"year_burden_fen={before}->{before + burden} poor={int(claim.poor)}"
    rows.append(DetailRow(FUND_CRITICAL_ILLNESS, burden, cap_left, pay, info))
    return pay


def _assistance(
    claim: Claim, acc: Accumulators, left: int, delta: dict[str, int], rows: list[DetailRow]
) -> int:
    layer = claim.policy.assistance
    if layer is None or not claim.assistance_eligible or claim.category not in layer.categories:
        return 0
    paid_before = acc.get(acc_keys.MAF_PAID)
    pay = assistance_pay(layer, left, paid_before)
    if pay:
        delta[acc_keys.MAF_PAID] = pay
    cap_left = max(0, layer.limit_fen - paid_before)
    rows.append(DetailRow(FUND_ASSISTANCE, left, cap_left, pay, f"ratio_bp={layer.ratio_bp}"))
    return pay


_SUMMED = tuple(
    f.name for f in fields(Breakdown) if f.name not in ("acct_pay", "psn_cash_pay", "balc")
)


def combine_years(
    parts: Sequence[tuple[int, Calculation]],
    account: CompiledAccount | None,
    insutype: str,
    category: Category,
    use_account: bool,
    account_balance: int,
) -> tuple[Breakdown, tuple[DetailRow, ...]]:
    """One settlement from the yearly parts of a stay split by date.

    Each part was calculated without the account (``use_account=False``); its amounts
    are summed field by field, its detail rows kept (``setl_proc_info`` prefixed with the
    part's year), and the personal account pays once, on the summed burden, under the
    settlement year's rule ``account``: the account is the person's, not a year's.
    """
    totals = {name: sum(getattr(calc.breakdown, name) for _, calc in parts) for name in _SUMMED}
    funds = totals["fund_pay_sumamt"]
    psn_part = totals["psn_part_amt"]
    acct = 0
    if use_account:
        acct = account_pay(
            account, insutype, category, account_balance, psn_part, totals["inscp_scp_amt"] - funds
        )
    breakdown = Breakdown(
        **totals, acct_pay=acct, psn_cash_pay=psn_part - acct, balc=account_balance - acct
    )
    rows = tuple(
        replace(row, setl_proc_info=f"year={year} {row.setl_proc_info}")
        for year, calc in parts
        for row in calc.details
    )
    check_identities(breakdown, rows)
    return breakdown, rows
