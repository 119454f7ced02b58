"""Fund supervision (智能监控): rule packs as reference data, and the alert message.

Why a discriminated union of rule kinds: a pack with an unknown kind, a missing
parameter or a window of 0 days is refused when it is loaded (a typed error
naming the field), never when the first matching visit arrives. Every
parameter is required in the file: a rule states its thresholds, nothing is
silently defaulted (DOMAIN.md section 8: a rule has a logic, parameters,
reference thresholds and a judgement level).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from contracts.codes import MedType
from contracts.common import Admdvs, Code, Contract, MdtrtId, SetlId, ShortText
from contracts.money import Money

SUPERVISION_TOPIC = "yidi.supervision.v1"

WindowDays = Annotated[int, Field(ge=1, le=366, description="a window of whole days, at least 1")]
Count = Annotated[int, Field(ge=1, le=100_000)]


class Severity(StrEnum):
    """The national rule base's judgement level."""

    SUSPICIOUS = "suspicious"
    VIOLATION = "violation"


class RuleKind(StrEnum):
    OVERLAPPING_STAYS = "overlapping_stays"
    DECOMPOSED_HOSPITALIZATION = "decomposed_hospitalization"
    DUPLICATE_BILLING = "duplicate_billing"
    FREQUENCY = "frequency"
    DAYS_SUPPLY = "days_supply"
    INSTITUTION_OUTLIER = "institution_outlier"


def _known_source(value: str) -> str:
    if value != "illustrative" and not value.startswith("DOMAIN.md"):
        raise ValueError("_source must be 'illustrative' or cite DOMAIN.md")
    return value


class _Rule(Contract):
    rule_id: Code = Field(max_length=40)
    severity: Severity
    description: ShortText = ""
    source: ShortText = Field(alias="_source", min_length=1, description="provenance")

    _source_known = field_validator("source")(_known_source)


class OverlappingStays(_Rule):
    """One person admitted as an inpatient in two institutions at once (any regions)."""

    kind: Literal["overlapping_stays"]
    inpatient_med_types: tuple[MedType, ...] = Field(min_length=1, max_length=10)
    horizon_days: WindowDays = Field(description="how long an undischarged stay is remembered")


class DecomposedHospitalization(_Rule):
    """Readmission for the same diagnosis within ``window_days`` of a discharge (分解住院)."""

    kind: Literal["decomposed_hospitalization"]
    window_days: WindowDays
    inpatient_med_types: tuple[MedType, ...] = Field(min_length=1, max_length=10)
    emergency_med_types: tuple[MedType, ...] = Field(
        max_length=10, description="a readmission of these types is excluded"
    )


class DuplicateBilling(_Rule):
    """The same item for the same person on the same day in two institutions, or in one
    visit more often than its allowed count per day."""

    kind: Literal["duplicate_billing"]
    item_max_per_day: dict[Code, Count] = Field(
        min_length=1, max_length=5000, description="the supervised items and their daily limit"
    )


class Frequency(_Rule):
    """More than ``max_settlements`` settlements of the listed types within ``window_days``."""

    kind: Literal["frequency"]
    window_days: WindowDays
    max_settlements: Count
    med_types: tuple[MedType, ...] = Field(min_length=1, max_length=10)


class DaysSupply(_Rule):
    """Pharmacy quantities of an item within ``window_days`` beyond the allowed supply."""

    kind: Literal["days_supply"]
    window_days: WindowDays
    max_units: dict[Code, Count] = Field(min_length=1, max_length=5000)
    med_types: tuple[MedType, ...] = Field(min_length=1, max_length=10)


class InstitutionOutlier(_Rule):
    """An institution's daily average bill or fund share far above its peers (same level,
    same treatment region): robust z = 0.6745 × (x − median) / MAD over the peers' day."""

    kind: Literal["institution_outlier"]
    metric: Literal["avg_bill", "fund_share"]
    threshold: Annotated[float, Field(gt=0, le=1000)]
    min_peers: Annotated[int, Field(ge=3, le=10_000)]
    min_settlements: Count
    peers: Literal["province_level", "province"] = Field(
        description="who an institution is compared with: the same level in its province, "
        "or every level in its province (docs/supervision.md)"
    )
    min_ratio: Annotated[float, Field(ge=1, le=1000)] = Field(
        description="and at least this multiple of the peers' median: a robust z alone "
        "flags a small absolute gap when the peers happen to agree"
    )


Rule = Annotated[
    OverlappingStays | DecomposedHospitalization | DuplicateBilling | Frequency | DaysSupply
    | InstitutionOutlier,
    Field(discriminator="kind"),
]  # fmt: skip


class RulePack(Contract):
    """One region's supervision rules. Person rules are looked up by the person's home
    region, institution rules by the treatment region; ``000000`` is the national base."""

    admdvs: Admdvs
    name: ShortText
    source: ShortText = Field(alias="_source", min_length=1, description="provenance")
    rules: tuple[Rule, ...] = Field(min_length=1, max_length=200)

    _source_known = field_validator("source")(_known_source)

    @model_validator(mode="after")
    def _ids_unique(self) -> RulePack:
        ids = [r.rule_id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError("rule_id repeats in the pack")
        return self


class SupervisionAlert(Contract):
    """One finding, once per (rule, subject, window): ``alert_id`` is a hash of rule id and
    version, subject and window, so a replay or restart yields the same id. The subject is
    a person key (authorized topic and table only) or an institution code."""

    ce_type: ClassVar[str] = "cn.yidi.supervision.alert.v1"
    topic: ClassVar[str] = SUPERVISION_TOPIC
    key_field: ClassVar[str | None] = "subject"

    alert_id: Code
    rule_id: Code = Field(max_length=40)
    rule_kind: RuleKind
    rule_version: Code
    severity: Severity
    subject_kind: Literal["person", "institution"]
    subject: str = Field(max_length=40, pattern=r"^(\d{6}:[0-9A-Za-z]{1,30}|[A-Z]\d{11})$")
    admdvs: Admdvs = Field(description="region whose pack holds the rule")
    window_start: dt.date
    window_end: dt.date
    setl_ids: tuple[SetlId, ...] = Field(max_length=200)
    mdtrt_ids: tuple[MdtrtId, ...] = Field(max_length=200)
    fixmedins_codes: tuple[Code, ...] = Field(max_length=200)
    amount: Money = Field(description="amount at stake (yuan): fees of the evidence")
    detail: ShortText = Field(description="what was found; never personal data")

    @model_validator(mode="after")
    def _window(self) -> SupervisionAlert:
        if self.window_end < self.window_start:
            raise ValueError("window_end before window_start")
        return self


SUPERVISION_MESSAGES: tuple[type[Contract], ...] = (SupervisionAlert,)
