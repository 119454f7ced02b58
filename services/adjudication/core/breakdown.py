"""A settlement's amounts in fen, and the identities every one must satisfy.

Why checked on every result: a settlement that breaks an identity of DOMAIN.md
section 3 would be written to the ledger and cleared between provinces; it is
a bug in yidi, never the hospital's fault, so it raises ``IdentityViolation``
(not a ``Rejection``) and the adapter must stop rather than ack.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


class IdentityViolation(Exception):
    """A computed settlement broke an identity or went negative: a yidi bug."""


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class DetailRow:
    """One ``setldetail`` row: a fund, the in-scope base it saw, the cap left
    before this settlement (``crt_payb_lmt_amt``), what it paid, and why
    (``setl_proc_info``: ``key=value`` integers in fen / basis points, cheap to
    build on the hot path and exact to parse back)."""

    fund_pay_type: str
    inscp_scp_amt: int
    crt_payb_lmt_amt: int
    fund_payamt: int
    setl_proc_info: str


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Breakdown:
    """Every ``setlinfo`` amount in fen. ``pool_prop_selfpay`` is the eligible cost
    above the deductible that the basic fund left to the person (ratio and cap)."""

    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int
    act_pay_dedc: int
    hifp_pay: int
    pool_prop_selfpay: int
    cvlserv_pay: int
    hifes_pay: int
    hifmi_pay: int
    hifob_pay: int
    maf_pay: int
    oth_pay: int
    fund_pay_sumamt: int
    psn_part_amt: int
    acct_pay: int
    psn_cash_pay: int
    hosp_part_amt: int
    balc: int
    acct_mulaid_pay: int


AMOUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Breakdown))


def check_identities(b: Breakdown, details: tuple[DetailRow, ...]) -> None:
    """Assert DOMAIN.md section 3's identities, non-negativity, and that the detail
    rows add up to ``fund_pay_sumamt``."""
    problems: list[str] = []
    funds = (
        b.hifp_pay + b.cvlserv_pay + b.hifes_pay + b.hifmi_pay + b.hifob_pay + b.maf_pay + b.oth_pay
    )
    if b.fund_pay_sumamt != funds:
        problems.append("fund_pay_sumamt != sum of funds")
    if b.psn_part_amt != b.medfee_sumamt - b.fund_pay_sumamt - b.hosp_part_amt:
        problems.append("psn_part_amt != medfee - funds - hosp_part")
    if b.psn_part_amt != b.acct_pay + b.psn_cash_pay:
        problems.append("psn_part_amt != acct_pay + psn_cash_pay")
    if (
        b.medfee_sumamt
        != b.fulamt_ownpay_amt + b.overlmt_selfpay + b.preselfpay_amt + b.inscp_scp_amt
    ):
        problems.append("medfee != ownpay + overlimit + preselfpay + inscp")
    if sum(d.fund_payamt for d in details) != b.fund_pay_sumamt:
        problems.append("setldetail rows != fund_pay_sumamt")
    if b.fund_pay_sumamt > b.inscp_scp_amt:
        problems.append("funds paid more than the in-scope amount")
    if (
        min(
            b.fulamt_ownpay_amt,
            b.overlmt_selfpay,
            b.preselfpay_amt,
            b.inscp_scp_amt,
            b.act_pay_dedc,
            b.hifp_pay,
            b.pool_prop_selfpay,
            b.hifmi_pay,
            b.hifob_pay,
            b.maf_pay,
            b.cvlserv_pay,
            b.hifes_pay,
            b.oth_pay,
            b.psn_part_amt,
            b.acct_pay,
            b.psn_cash_pay,
            b.hosp_part_amt,
            b.balc,
            b.acct_mulaid_pay,
            b.medfee_sumamt,
            b.fund_pay_sumamt,
        )
        < 0
    ):
        negative = [name for name in AMOUNT_FIELDS if getattr(b, name) < 0]
        problems.append("negative: " + ",".join(negative))
    if problems:
        raise IdentityViolation("; ".join(problems))
