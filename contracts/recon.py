"""Hospital reconciliation (对账): requests on ``yidi.recon.v1`` keyed by institution code,
answers on that hospital's own ack topic, summaries to the clearing center.

A hospital sends its own totals for a date range (3201, 对总账); when yidi's
ledger disagrees it sends its detail rows (3202, 对明细账) and gets back the
rows that differ, each with a verdict and a memo. Totals are split by
``refd_setl_flag`` as the national interface counts them, so a reversal never
silently cancels a settlement in a sum.

Minor version 1.1 (additive, optional): multi-part detail requests and answers
(``batch_id``, ``part_no``, ``part_cnt``), verdict codes and counts on answers,
and ``ReconSummary`` for the clearing center; ``deduction_sumamt`` in totals. A 1.0 message
reads unchanged.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from contracts.clearing import CLEARING_TOPIC
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
ACK_TOPIC = "yidi.ack.v1.<sender>"
MAX_RECON_ROWS = 5000
"""Detail rows per 3202 message: a busy hospital day is split over several messages.
The codec's 1,000,000-byte body limit binds first for long ids (see docs/reconciliation.md)."""
MAX_RECON_PARTS = 1000
"""Parts of one multi-part request or answer: far above a hospital-month of settlements."""


class ReconVerdict(StrEnum):
    """Why a detail row is unbalanced (yidi's code table; the memo carries the particulars)."""

    MISSING_IN_LEDGER = "missing_in_ledger"
    """The hospital has this settlement; yidi's ledger has none in the slice."""
    MISSING_IN_HOSPITAL = "missing_in_hospital"
    """yidi's ledger has this settlement in the slice; the hospital's rows lack it."""
    AMOUNT_MISMATCH = "amount_mismatch"
    """Both have it; ``medfee_sumamt``, ``fund_pay_sumamt`` or ``acct_pay`` differ."""
    REFUND_MISMATCH = "refund_mismatch"
    """Reversed on one side only: ``refd_setl_flag`` differs, or a refund row exists once."""
    VISIT_MISMATCH = "visit_mismatch"
    """Both have the ``setl_id`` but for another visit (``mdtrt_id`` or ``psn_no`` differ)."""


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
    deduction_sumamt: Money | None = Field(
        default=None,
        description="1.1: audit deductions (审核扣款) taken from the slice's settlements; "
        "the ledger always states it, a hospital that states it has it compared",
    )


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
    batch_id: Code | None = Field(
        default=None,
        description="1.1: names a multi-part reconciliation; the same on every part",
    )
    part_no: int = Field(default=1, ge=1, le=MAX_RECON_PARTS, description="1.1: this part")
    part_cnt: int = Field(
        default=1, ge=1, le=MAX_RECON_PARTS, description="1.1: parts in the batch, the same on all"
    )

    @model_validator(mode="after")
    def _unique_rows(self) -> DetailReconRequested:
        if len({r.setl_id for r in self.rows}) != len(self.rows):
            raise rule_violation("rows", "a setl_id appears twice in one detail request")
        return self

    @model_validator(mode="after")
    def _part_in_batch(self) -> DetailReconRequested:
        if self.part_no > self.part_cnt:
            raise rule_violation("part_no", "part_no is beyond part_cnt")
        if self.part_cnt > 1 and self.batch_id is None:
            raise rule_violation("batch_id", "a multi-part request names its batch_id")
        return self


class ReconRowResult(Contract):
    """The verdict on one row; ``memo`` says which amount differs or that the ledger lacks it.

    1.1 answers list only unbalanced rows, each with its ``verdict``; ``mdtrt_id`` and
    ``medins_setl_id`` are the ledger's, so a hospital can find a settlement it lacks."""

    setl_id: SetlId
    stmt_rslt: StmtRslt
    memo: ShortText = ""
    verdict: ReconVerdict | None = None
    mdtrt_id: MdtrtId | None = None
    medins_setl_id: Code | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _verdict_is_unbalanced(self) -> ReconRowResult:
        if self.verdict is not None and self.stmt_rslt != StmtRslt.UNBALANCED:
            raise rule_violation("stmt_rslt", "a row with a verdict is unbalanced")
        return self


class ReconDiffCounts(Contract):
    """A detail reconciliation in numbers: rows on each side and unbalanced rows by verdict."""

    hosp_row_cnt: int = Field(ge=0, le=10**9)
    ledger_row_cnt: int = Field(ge=0, le=10**9)
    missing_in_ledger: int = Field(default=0, ge=0, le=10**9)
    missing_in_hospital: int = Field(default=0, ge=0, le=10**9)
    amount_mismatch: int = Field(default=0, ge=0, le=10**9)
    refund_mismatch: int = Field(default=0, ge=0, le=10**9)
    visit_mismatch: int = Field(default=0, ge=0, le=10**9)

    @property
    def diff_cnt(self) -> int:
        return (
            self.missing_in_ledger + self.missing_in_hospital + self.amount_mismatch
            + self.refund_mismatch + self.visit_mismatch
        )  # fmt: skip

    @model_validator(mode="after")
    def _within_rows(self) -> ReconDiffCounts:
        if self.diff_cnt > self.hosp_row_cnt + self.ledger_row_cnt:
            raise rule_violation("hosp_row_cnt", "more unbalanced rows than rows on both sides")
        return self


class ReconResult(Contract):
    """yidi's answer to a 3201 or 3202 request, on the requesting hospital's ack topic only.

    A 3202 answer lists the unbalanced rows in ``setl_id`` order, split into parts
    (``part_no`` of ``part_cnt``); every part repeats the verdict and the counts. For a
    multi-part request, ``request_msgid`` is its part 1's ``msgid``."""

    ce_type: ClassVar[str] = "cn.yidi.recon.result.v1"
    topic: ClassVar[str] = ACK_TOPIC
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
    batch_id: Code | None = Field(default=None, description="1.1: the request's batch_id")
    part_no: int = Field(default=1, ge=1, le=MAX_RECON_PARTS, description="1.1: this part")
    part_cnt: int = Field(default=1, ge=1, le=MAX_RECON_PARTS, description="1.1: answer parts")
    diff_cnts: ReconDiffCounts | None = Field(default=None, description="1.1: 3202 answers")

    @model_validator(mode="after")
    def _verdict_matches_rows(self) -> ReconResult:
        if self.request_infno == "3201" and (self.rows or self.diff_cnts or self.part_cnt > 1):
            raise rule_violation("rows", "a totals answer carries no rows")
        if any(r.stmt_rslt == StmtRslt.UNBALANCED for r in self.rows) and (
            self.stmt_rslt == StmtRslt.BALANCED
        ):
            raise rule_violation("stmt_rslt", "balanced although some rows are unbalanced")
        if self.part_no > self.part_cnt:
            raise rule_violation("part_no", "part_no is beyond part_cnt")
        if self.diff_cnts is not None and (self.diff_cnts.diff_cnt > 0) != (
            self.stmt_rslt == StmtRslt.UNBALANCED
        ):
            raise rule_violation("stmt_rslt", "stmt_rslt disagrees with the unbalanced row count")
        return self


class ReconSummary(Contract):
    """For the clearing center: who reconciled which slice, and whether it balanced.

    Keyed by the treatment region (``participant`` = the request's ``mdtrtarea_admvs``).
    No rows and no personal data: the rows went to the hospital alone."""

    ce_type: ClassVar[str] = "cn.yidi.recon.summary.v1"
    topic: ClassVar[str] = CLEARING_TOPIC
    key_field: ClassVar[str | None] = "participant"

    participant: Admdvs = Field(description="record key: the treatment region")
    fixmedins_code: FixmedinsCode
    setl_optins: Admdvs
    request_msgid: Msgid
    request_infno: Literal["3201", "3202"]
    batch_id: Code | None = None
    insutype: Insutype
    clr_type: ClrType
    stmt_begndate: dt.date
    stmt_enddate: dt.date
    refd_setl_flag: RefdSetlFlag | None = Field(default=None, description="3201 only")
    stmt_rslt: StmtRslt
    stmt_rslt_dscr: ShortText = ""
    hospital_totals: ReconTotals | None = Field(default=None, description="3201 only")
    ledger_totals: ReconTotals | None = Field(default=None, description="3201 only")
    diff_cnts: ReconDiffCounts | None = Field(default=None, description="3202 only")
    answered_at: AwareDatetime

    @model_validator(mode="after")
    def _shape_follows_infno(self) -> ReconSummary:
        if self.stmt_enddate < self.stmt_begndate:
            raise rule_violation("stmt_enddate", "stmt_enddate is before stmt_begndate")
        totals = self.request_infno == "3201"
        sides = (self.hospital_totals, self.ledger_totals, self.refd_setl_flag)
        if totals and None in sides:
            raise rule_violation("ledger_totals", "a totals summary carries both sides' totals")
        if not totals and self.diff_cnts is None:
            raise rule_violation("diff_cnts", "a detail summary carries its counts")
        return self


RECON_MESSAGES: tuple[type[Contract], ...] = (
    TotalsReconRequested,
    DetailReconRequested,
    ReconResult,
    ReconSummary,
)
RECON_SIGNED: tuple[type[Contract], ...] = (TotalsReconRequested, DetailReconRequested)
