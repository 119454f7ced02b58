"""Clearing between regions on ``yidi.clearing.v1``, keyed by participant (a region code).

Monthly full clearing (按月全额清算): each home side pays each treatment side
the full fund-paid amount. Statements carry those gross pairs (the rule) and
each participant's net (our added view); the nets are derived from the pairs
and must sum to zero — the conservation guarantee is checked on every
statement, not trusted. ``000000`` names the national platform as participant.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, model_validator

from contracts.codes import ClearingStatus
from contracts.common import (
    Admdvs,
    AwareDatetime,
    Code,
    Contract,
    SetlId,
    ShortText,
    rule_violation,
)
from contracts.money import Money, SignedMoney

CLEARING_TOPIC = "yidi.clearing.v1"
MAX_PAIRS = 2000
"""Participant pairs per statement: 32 provinces squared, or a province's pools squared."""

Period = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
"""A clearing month, ``YYYY-MM`` in Asia/Shanghai."""
Scope = Literal["national", "provincial", "regional"]
Ratio = Annotated[str, StringConstraints(pattern=r"^(0|1)\.[0-9]{2}$")]
"""A threshold such as "0.70": a parameter travels with the warning it caused."""


class ClearingMessage(Contract):
    topic: ClassVar[str] = CLEARING_TOPIC
    key_field: ClassVar[str | None] = "participant"

    participant: Admdvs = Field(description="record key: the region this message is about")
    period: Period
    scope: Scope


class PositionUpdated(ClearingMessage):
    """The running gross position of one (home, treatment) pair in an open period."""

    ce_type: ClassVar[str] = "cn.yidi.clearing.position_updated.v1"

    home: Admdvs
    treatment: Admdvs
    medfee_sumamt: SignedMoney
    fund_pay_sumamt: SignedMoney
    setl_cnt: int = Field(ge=0, le=10**9)
    late_cnt: int = Field(ge=0, le=10**9, description="settlements of a closed month moved here")
    as_of: AwareDatetime

    @model_validator(mode="after")
    def _pair(self) -> PositionUpdated:
        if self.home == self.treatment:
            raise rule_violation("treatment", "a position pairs two different regions")
        if self.participant not in (self.home, self.treatment):
            raise rule_violation("participant", "participant is neither home nor treatment")
        return self


class PrepaymentWarning(ClearingMessage):
    """Usage of the home side's prepayment (预付金) crossed a threshold (Arts. 18–27)."""

    ce_type: ClassVar[str] = "cn.yidi.clearing.prepayment_warning.v1"

    home: Admdvs
    treatment: Admdvs
    prepayment: Money
    clearing_amt: Money
    level: Literal["yellow", "red"]
    threshold: Ratio
    raised_at: AwareDatetime

    @model_validator(mode="after")
    def _crossed(self) -> PrepaymentWarning:
        if self.clearing_amt < Decimal(self.threshold) * self.prepayment:
            raise rule_violation("clearing_amt", "usage is below the threshold it reports")
        return self


class PeriodCommand(ClearingMessage):
    """An agency's instruction for a period: close it, mark it settled once the transfers are
    made; defer and reopen are named so that they are refused with a reason, not misread."""

    ce_type: ClassVar[str] = "cn.yidi.clearing.period_command.v1"

    command: Literal["close", "settle", "defer", "reopen"]
    issued_by: Code
    issued_at: AwareDatetime
    reason: ShortText = ""


class StatementPair(Contract):
    """One gross transfer: ``payer`` (home side) owes ``payee`` (treatment side)."""

    payer: Admdvs
    payee: Admdvs
    fund_pay_sumamt: Money
    deduction: Money = Field(description="audit deductions (审核扣款) reducing the payable")
    setl_cnt: int = Field(ge=0, le=10**9)


class NetPosition(Contract):
    participant: Admdvs
    net: SignedMoney = Field(description="received minus paid; positive = receives")


class ClearingStatement(ClearingMessage):
    """A period's clearing table: the gross pairs and the nets derived from them."""

    ce_type: ClassVar[str] = "cn.yidi.clearing.statement.v1"

    statement_id: Code
    status: ClearingStatus
    pairs: tuple[StatementPair, ...] = Field(max_length=MAX_PAIRS)
    nets: tuple[NetPosition, ...] = Field(max_length=MAX_PAIRS)
    issued_at: AwareDatetime

    @model_validator(mode="after")
    def _nets_follow_pairs(self) -> ClearingStatement:
        want: defaultdict[str, Decimal] = defaultdict(Decimal)
        for i, p in enumerate(self.pairs):
            if p.payer == p.payee:
                raise rule_violation(f"pairs.{i}.payee", "a region does not pay itself")
            if p.deduction > p.fund_pay_sumamt:
                raise rule_violation(f"pairs.{i}.deduction", "deduction exceeds the amount")
            payable = p.fund_pay_sumamt - p.deduction
            want[p.payee] += payable
            want[p.payer] -= payable
        got = {n.participant: n.net for n in self.nets}
        if len(got) != len(self.nets):
            raise rule_violation("nets", "a participant appears twice")
        if sum(got.values(), start=Decimal(0)) != 0:
            raise rule_violation("nets", "net positions do not sum to zero")
        for region in sorted(set(want) | set(got)):
            if got.get(region, Decimal(0)) != want.get(region, Decimal(0)):
                raise rule_violation("nets", f"net of {region} does not follow from the pairs")
        return self


class ClearingConfirmed(ClearingMessage):
    """A participant's sign-off on a statement (by the 25th); signed by its agency."""

    ce_type: ClassVar[str] = "cn.yidi.clearing.confirmed.v1"

    statement_id: Code
    net: SignedMoney = Field(description="the net the participant confirms, as on the statement")
    confirmed_at: AwareDatetime
    memo: ShortText = ""


class DeductionReason(StrEnum):
    """Why the treatment side's audit rejects a cost (审核扣款): the supervision rule kinds that
    find it, the common audit findings, and a disputed query on a large stay (协查)."""

    OVERLAPPING_STAYS = "overlapping_stays"
    DECOMPOSED_HOSPITALIZATION = "decomposed_hospitalization"
    DUPLICATE_BILLING = "duplicate_billing"
    FREQUENCY = "frequency"
    DAYS_SUPPLY = "days_supply"
    INSTITUTION_OUTLIER = "institution_outlier"
    NOT_COVERED = "not_covered"
    PRICE_ABOVE_STANDARD = "price_above_standard"
    QUERY_DISPUTED = "query_disputed"
    OTHER = "other"


class AuditDeduction(Contract):
    """A treatment-side agency's audit deduction (审核扣款, Arts. 43, 54-59): ``amount`` of one
    settlement's fund payment is not paid by the home side. Signed by the agency
    (``AG<participant>``); the clearing processor applies it to the period open when it
    arrives, or refuses it with a typed code on the sender's ack topic.

    No period and no scope: the sender does not choose them; clearing derives both from the
    settlement (its flow) and the periods' states. ``deduction_id`` is the agency's own id:
    the same id with the same body is applied once, with another body refused."""

    ce_type: ClassVar[str] = "cn.yidi.clearing.deduction.v1"
    topic: ClassVar[str] = CLEARING_TOPIC
    key_field: ClassVar[str | None] = "participant"

    participant: Admdvs = Field(description="record key: the deducting (treatment-side) agency")
    deduction_id: Code
    setl_id: SetlId
    amount: Money = Field(description="deducted from the settlement's fund_pay_sumamt")
    reason: DeductionReason
    alert_id: Code | None = Field(default=None, description="the supervision alert reviewed")
    memo: ShortText = ""
    issued_at: AwareDatetime

    @model_validator(mode="after")
    def _positive(self) -> AuditDeduction:
        if self.amount <= 0:
            raise rule_violation("amount", "a deduction is more than 0.00")
        return self


CLEARING_MESSAGES: tuple[type[Contract], ...] = (
    PositionUpdated, PrepaymentWarning, PeriodCommand, ClearingStatement, ClearingConfirmed,
    AuditDeduction,
)  # fmt: skip
CLEARING_SIGNED: tuple[type[Contract], ...] = (PeriodCommand, ClearingConfirmed, AuditDeduction)
