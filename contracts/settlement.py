"""Adjudicated settlements and reversals: the ledger feed (``yidi.settlement.v1``).

A reversal carries the original settlement's amounts unchanged under its own
``setl_id``, with ``refd_setl_flag`` "1" and ``orig_setl_id`` — as the
national 3201/3202 reconciliation counts refunds; consumers subtract by the
flag. The identities of DOMAIN.md section 3 are checked on every instance.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from contracts.codes import ClrType, ClrWay, FundPayType, Insutype, MedType, RefdSetlFlag
from contracts.common import (
    Admdvs,
    AwareDatetime,
    Code,
    Contract,
    FixmedinsCode,
    MdtrtId,
    PsnNo,
    SetlId,
    ShortText,
)
from contracts.money import Money

SETTLEMENT_TOPIC = "yidi.settlement.v1"
Route = Literal["local", "long_term", "referral", "emergency", "other_temporary", "zone", "unfiled"]


class SetlInfo(Contract):
    """``setlinfo`` of the national settlement result, every field."""

    mdtrt_id: MdtrtId
    setl_id: SetlId
    psn_no: PsnNo
    insutype: Insutype
    psn_type: Code
    med_type: MedType
    setl_time: AwareDatetime
    medfee_sumamt: Money
    fulamt_ownpay_amt: Money
    overlmt_selfpay: Money
    preselfpay_amt: Money
    inscp_scp_amt: Money
    act_pay_dedc: Money
    hifp_pay: Money
    pool_prop_selfpay: Money
    cvlserv_pay: Money
    hifes_pay: Money
    hifmi_pay: Money
    hifob_pay: Money
    maf_pay: Money
    oth_pay: Money
    fund_pay_sumamt: Money
    psn_part_amt: Money
    acct_pay: Money
    psn_cash_pay: Money
    hosp_part_amt: Money
    balc: Money
    acct_mulaid_pay: Money
    medins_setl_id: Code = Field(max_length=40)
    clr_optins: Admdvs
    clr_way: ClrWay
    clr_type: ClrType

    @model_validator(mode="after")
    def _identities(self) -> SetlInfo:
        funds = (
            self.hifp_pay + self.cvlserv_pay + self.hifes_pay + self.hifmi_pay
            + self.hifob_pay + self.maf_pay + self.oth_pay
        )  # fmt: skip
        if self.fund_pay_sumamt != funds:
            raise ValueError(f"fund_pay_sumamt {self.fund_pay_sumamt} != sum of funds {funds}")
        if self.psn_part_amt != self.medfee_sumamt - self.fund_pay_sumamt - self.hosp_part_amt:
            raise ValueError("psn_part_amt != medfee_sumamt - fund_pay_sumamt - hosp_part_amt")
        if self.psn_part_amt != self.acct_pay + self.psn_cash_pay:
            raise ValueError("psn_part_amt != acct_pay + psn_cash_pay")
        parts = (
            self.fulamt_ownpay_amt + self.overlmt_selfpay + self.preselfpay_amt + self.inscp_scp_amt
        )
        if self.medfee_sumamt != parts:
            raise ValueError(
                "medfee_sumamt != fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt"
            )
        return self


class SetlDetail(Contract):
    """One ``setldetail`` row: what one fund paid."""

    fund_pay_type: FundPayType
    inscp_scp_amt: Money
    crt_payb_lmt_amt: Money
    fund_payamt: Money
    setl_proc_info: ShortText = ""


class YearPart(Contract):
    """One calendar year's part of a cross-year inpatient stay settled ``split_by_date``:
    the fee lines dated in that year, computed with that year's pack and counters."""

    year: int = Field(ge=2000, le=2100)
    policy_version: Code
    policy_carried: bool = False
    medfee_sumamt: Money
    act_pay_dedc: Money
    fund_pay_sumamt: Money


class SettlementResult(Contract):
    """A settlement as published: ``setlinfo``, its fund rows, routing and versions."""

    topic: ClassVar[str] = SETTLEMENT_TOPIC

    setlinfo: SetlInfo
    setldetail: tuple[SetlDetail, ...] = Field(max_length=20)
    fixmedins_code: FixmedinsCode
    insuplc_admdvs: Admdvs
    mdtrtarea_admvs: Admdvs
    setl_date: dt.date = Field(description="business date in Asia/Shanghai")
    route: Route
    policy_version: Code = Field(description="content hash of the home region's policy pack")
    catalog_version: Code = Field(description="content hash of the treatment region's catalog")
    policy_carried: bool = Field(
        default=False,
        description="the settlement year had no pack: the home region carried policy_version's "
        "(an earlier year's) forward",
    )
    year_parts: tuple[YearPart, ...] = Field(
        default=(),
        max_length=5,
        description="a cross-year stay split by date: one part per year (empty otherwise)",
    )
    refd_setl_flag: RefdSetlFlag
    pre_settlement: bool = False
    orig_setl_id: SetlId | None = None

    @model_validator(mode="after")
    def _details_add_up(self) -> SettlementResult:
        funds = [
            d.fund_payamt
            for d in self.setldetail
            if d.fund_pay_type != FundPayType.PERSONAL_ACCOUNT
        ]
        total = sum(funds, start=Decimal(0))
        if self.setldetail and total != self.setlinfo.fund_pay_sumamt:
            raise ValueError(
                f"setldetail fund rows sum to {total}, fund_pay_sumamt is {self.setlinfo.fund_pay_sumamt}"
            )
        if self.year_parts:
            info = self.setlinfo
            if (
                sum((p.medfee_sumamt for p in self.year_parts), start=Decimal(0))
                != info.medfee_sumamt
            ):
                raise ValueError("year_parts' medfee_sumamt do not add up to medfee_sumamt")
            if (
                sum((p.fund_pay_sumamt for p in self.year_parts), start=Decimal(0))
                != info.fund_pay_sumamt
            ):
                raise ValueError("year_parts' fund_pay_sumamt do not add up to fund_pay_sumamt")
            if (
                sum((p.act_pay_dedc for p in self.year_parts), start=Decimal(0))
                != info.act_pay_dedc
            ):
                raise ValueError("year_parts' act_pay_dedc do not add up to act_pay_dedc")
        return self


class Settled(SettlementResult):
    ce_type: ClassVar[str] = "cn.yidi.settlement.settled.v1"

    @model_validator(mode="after")
    def _normal(self) -> Settled:
        if self.refd_setl_flag != RefdSetlFlag.NORMAL or self.orig_setl_id is not None:
            raise ValueError("a settlement has refd_setl_flag 0 and no orig_setl_id")
        return self


class Reversed(SettlementResult):
    ce_type: ClassVar[str] = "cn.yidi.settlement.reversed.v1"

    @model_validator(mode="after")
    def _refund(self) -> Reversed:
        if self.refd_setl_flag != RefdSetlFlag.REFUND or self.orig_setl_id is None:
            raise ValueError("a reversal has refd_setl_flag 1 and orig_setl_id")
        return self
