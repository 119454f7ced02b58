"""Hospital reconciliation (对账) on ``yidi.recon.v1``, keyed by institution code.

A hospital sends its own totals for a date range (3201, 对总账); when yidi's
ledger disagrees it sends its detail rows (3202, 对明细账) and gets one result
per row. Totals are split by ``refd_setl_flag`` as the national interface
counts them, so a reversal never silently cancels a settlement in a sum.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from contracts.codes import ClrType, Insutype, RefdSetlFlag, StmtRslt
from contracts.common import (
    Admdvs,
    AwareDatetime,
    Code,
    Contract,
    FixmedinsCode,
    Infno,
    MdtrtId,
    Msgid,
    PsnNo,
    SetlId,
    ShortText,
    rule_violation,
)
from contracts.money import Money

RECON_TOPIC = "yidi.recon.v1"
MAX_RECON_ROWS = 5000
"""Detail rows per 3202 message: a busy hospital day is split over several messages."""


class ReconRequest(Contract):
    """What both requests share: who reconciles, against which clearing agency, which days."""

    topic: ClassVar[str] = RECON_TOPIC
    key_field: ClassVar[str | None] = "fixmedins_code"
    infnos: ClassVar[frozenset[str]] = frozenset()

    msgid: Msgid
    infno: Infno
    fixmedins_code: FixmedinsCode
    mdtrtarea_admvs: Admdvs
    inf_time: AwareDatetime
    setl_optins: Admdvs = Field(description="clearing agency's region (结算经办机构)")
    insutype: Insutype
    clr_type: ClrType
    stmt_begndate: dt.date = Field(description="first day, Asia/Shanghai")
    stmt_enddate: dt.date = Field(description="last day (inclusive), Asia/Shanghai")

    @field_validator("infno")
    @classmethod
    def _infno_matches_type(cls, value: str) -> str:
        if cls.infnos and value not in cls.infnos:
            raise rule_violation("infno", f"infno {value} is not one of {sorted(cls.infnos)} here")
        return value

    @model_validator(mode="after")
    def _range_ordered(self) -> ReconRequest:
        if self.stmt_enddate < self.stmt_begndate:
            raise rule_violation("stmt_enddate", "stmt_enddate is before stmt_begndate")
        return self


class ReconTotals(Contract):
    """One side's totals for the range: the hospital's in 3201, the ledger's in a result."""

    medfee_sumamt: Money
    fund_pay_sumamt: Money
    acct_pay: Money
    fixmedins_setl_cnt: int = Field(ge=0, le=10**9)


class TotalsReconRequested(ReconRequest):
    """3201: the hospital's totals for one (insutype, clr_type, refd_setl_flag) slice."""

    ce_type: ClassVar[str] = "cn.yidi.recon.totals_requested.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"3201"})

    refd_setl_flag: RefdSetlFlag
    totals: ReconTotals


class ReconDetailRow(Contract):
    """One settlement as the hospital recorded it."""

    psn_no: PsnNo
    mdtrt_id: MdtrtId
    setl_id: SetlId
    msgid: Msgid
    medfee_sumamt: Money
    fund_pay_sumamt: Money
    acct_pay: Money
    refd_setl_flag: RefdSetlFlag


class DetailReconRequested(ReconRequest):
    """3202: the hospital's detail rows for the range; ``setl_id`` unique within a message."""

    ce_type: ClassVar[str] = "cn.yidi.recon.detail_requested.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"3202"})

    rows: tuple[ReconDetailRow, ...] = Field(min_length=1, max_length=MAX_RECON_ROWS)

    @model_validator(mode="after")
    def _unique_rows(self) -> DetailReconRequested:
        if len({r.setl_id for r in self.rows}) != len(self.rows):
            raise rule_violation("rows", "a setl_id appears twice in one detail request")
        return self


class ReconRowResult(Contract):
    """The verdict on one row; ``memo`` says which amount differs or that the ledger lacks it."""

    setl_id: SetlId
    stmt_rslt: StmtRslt
    memo: ShortText = ""


class ReconResult(Contract):
    """yidi's answer to a 3201 or 3202 request, sent back on the recon topic."""

    ce_type: ClassVar[str] = "cn.yidi.recon.result.v1"
    topic: ClassVar[str] = RECON_TOPIC
    key_field: ClassVar[str | None] = "fixmedins_code"

    request_msgid: Msgid
    request_infno: Literal["3201", "3202"]
    fixmedins_code: FixmedinsCode
    stmt_rslt: StmtRslt
    stmt_rslt_dscr: ShortText = ""
    ledger_totals: ReconTotals | None = Field(
        default=None, description="the ledger's totals for the same slice (3201 answers)"
    )
    rows: tuple[ReconRowResult, ...] = Field(default=(), max_length=MAX_RECON_ROWS)
    answered_at: AwareDatetime
    ledger_version: Code | None = Field(
        default=None, description="ledger position the answer was computed at"
    )

    @model_validator(mode="after")
    def _verdict_matches_rows(self) -> ReconResult:
        if self.request_infno == "3201" and self.rows:
            raise rule_violation("rows", "a totals answer carries no rows")
        if any(r.stmt_rslt == StmtRslt.UNBALANCED for r in self.rows) and (
            self.stmt_rslt == StmtRslt.BALANCED
        ):
            raise rule_violation("stmt_rslt", "balanced although some rows are unbalanced")
        return self


RECON_MESSAGES: tuple[type[Contract], ...] = (
    TotalsReconRequested,
    DetailReconRequested,
    ReconResult,
)
RECON_SIGNED: tuple[type[Contract], ...] = (TotalsReconRequested, DetailReconRequested)
