"""Visit lifecycle messages a hospital publishes (national transaction codes 2201–2601).

Each class accepts only its own ``infno`` values (outpatient and inpatient
codes of the same step share a class), so a message can never be read as a
different step than its sender meant.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field, GetPydanticSchema, field_validator, model_validator

from contracts.codes import Insutype, MdtrtCertType, MedType, PsnSetlway
from contracts.common import (
    MAX_FEE_LINES,
    AwareDatetime,
    CertNo,
    Code,
    Contract,
    MdtrtId,
    MessageHeader,
    PsnNo,
    ShortText,
    rule_violation,
)
from contracts.money import CENT, Money, decimal_string_schema, round_half_up

VISIT_TOPIC = "yidi.visit.v1"
QUANTITY_PATTERN = r"^(0|[1-9][0-9]{0,7})(\.[0-9]{1,4})?$"
Quantity = Annotated[
    Decimal, GetPydanticSchema(lambda _t, _h: decimal_string_schema(QUANTITY_PATTERN))
]
"""A quantity: up to 8 integer digits and 4 places, as a JSON string ("2", "0.5")."""
Flag = Literal["0", "1"]


class FeeLine(Contract):
    """One fee detail line (费用明细). ``det_item_fee_sumamt`` = cnt × pric, half-up to 0.01
    (checked by the message that carries the lines, in one pass)."""

    feedetl_sn: Code = Field(max_length=30)
    med_list_codg: Code = Field(description="national item code (医保目录编码)")
    cnt: Quantity
    pric: Money
    det_item_fee_sumamt: Money
    fee_ocur_time: AwareDatetime


class VisitMessage(MessageHeader):
    """Fields every visit event carries: the person and the visit (就诊) it belongs to."""

    topic: ClassVar[str] = VISIT_TOPIC
    infnos: ClassVar[frozenset[str]] = frozenset()

    psn_no: PsnNo
    mdtrt_id: MdtrtId

    @field_validator("infno")
    @classmethod
    def _infno_matches_type(cls, value: str) -> str:
        if cls.infnos and value not in cls.infnos:
            raise rule_violation("infno", f"infno {value} is not one of {sorted(cls.infnos)} here")
        return value


class VisitRegistered(VisitMessage):
    """Outpatient registration (2201, with 2203's diagnoses) or inpatient admission (2401)."""

    ce_type: ClassVar[str] = "cn.yidi.visit.registered.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"2201", "2401"})

    med_type: MedType
    insutype: Insutype
    begntime: AwareDatetime
    mdtrt_cert_type: MdtrtCertType
    mdtrt_cert_no: CertNo = Field(repr=False)
    dise_codg: tuple[Code, ...] = Field(default=(), max_length=20)
    dept_code: Code | None = None


class VisitCancelled(VisitMessage):
    """Registration cancel (2202) or admission cancel (2404)."""

    ce_type: ClassVar[str] = "cn.yidi.visit.cancelled.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"2202", "2404"})


class FeesUploaded(VisitMessage):
    """Fee details upload (2204 outpatient, 2301 inpatient)."""

    ce_type: ClassVar[str] = "cn.yidi.visit.fees_uploaded.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"2204", "2301"})

    feedetail: tuple[FeeLine, ...] = Field(min_length=1, max_length=MAX_FEE_LINES)

    @model_validator(mode="after")
    def _lines_consistent(self) -> FeesUploaded:
        lines = self.feedetail
        for i, line in enumerate(lines):
            cnt, pric = line.cnt, line.pric
            if cnt <= 0:
                raise rule_violation(f"feedetail.{i}.cnt", "quantity must be positive")
            if (cnt * pric).quantize(CENT, ROUND_HALF_UP) != line.det_item_fee_sumamt:
                raise rule_violation(
                    f"feedetail.{i}.det_item_fee_sumamt",
                    f"{line.det_item_fee_sumamt} != cnt × pric = {round_half_up(cnt * pric)}",
                )
        if len({line.feedetl_sn for line in lines}) != len(lines):
            seen: set[str] = set()
            for i, line in enumerate(lines):
                if line.feedetl_sn in seen:
                    raise rule_violation(
                        f"feedetail.{i}.feedetl_sn", "feedetl_sn repeats in one upload"
                    )
                seen.add(line.feedetl_sn)
        return self


class FeesWithdrawn(VisitMessage):
    """Fee details cancel (2205 / 2302): the listed lines, or every pending line when empty."""

    ce_type: ClassVar[str] = "cn.yidi.visit.fees_withdrawn.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"2205", "2302"})

    feedetl_sns: tuple[Code, ...] = Field(default=(), max_length=MAX_FEE_LINES)


class SettlementRequested(VisitMessage):
    """Settlement (2207 outpatient, 2304 inpatient)."""

    ce_type: ClassVar[str] = "cn.yidi.visit.settlement_requested.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"2207", "2304"})

    mdtrt_cert_type: MdtrtCertType
    mdtrt_cert_no: CertNo = Field(repr=False)
    medfee_sumamt: Money
    psn_setlway: PsnSetlway
    insutype: Insutype
    acct_used_flag: Flag = "0"
    mid_setl_flag: Flag = "0"
    medins_setl_id: Code = Field(max_length=40)


class PresettleRequested(SettlementRequested):
    """Pre-settlement (2206 / 2303): the same computation, nothing recorded."""

    ce_type: ClassVar[str] = "cn.yidi.visit.presettle_requested.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"2206", "2303"})


class ReversalRequested(VisitMessage):
    """Settlement reversal (2208 / 2305) or reversal of a failed transaction (2601).

    Names the settlement by our ``setl_id`` or by the hospital's original
    ``orig_medins_setl_id``; at least one is required.
    """

    ce_type: ClassVar[str] = "cn.yidi.visit.reversal_requested.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"2208", "2305", "2601"})

    setl_id: Code | None = Field(default=None, max_length=40)
    orig_medins_setl_id: Code | None = Field(default=None, max_length=40)
    reason: ShortText = ""

    @model_validator(mode="after")
    def _names_a_settlement(self) -> ReversalRequested:
        if self.setl_id is None and self.orig_medins_setl_id is None:
            raise rule_violation("setl_id", "setl_id or orig_medins_setl_id is required")
        return self


class Discharged(VisitMessage):
    """Discharge (2402)."""

    ce_type: ClassVar[str] = "cn.yidi.visit.discharged.v1"
    infnos: ClassVar[frozenset[str]] = frozenset({"2402"})

    endtime: AwareDatetime
    dscg_way: Code | None = None


def business_day(instant: dt.datetime) -> dt.date:
    """The Asia/Shanghai date of an instant (UTC+8, no daylight saving)."""
    return instant.astimezone(dt.timezone(dt.timedelta(hours=8))).date()


VISIT_MESSAGES: tuple[type[VisitMessage], ...] = (
    VisitRegistered,
    VisitCancelled,
    FeesUploaded,
    FeesWithdrawn,
    PresettleRequested,
    SettlementRequested,
    ReversalRequested,
    Discharged,
)
