"""The home region's benefit policy (参保地政策) as a validated, versioned file.

Why a model and not a dict: a policy pack decides how much public money a
settlement pays, so a misspelt key must fail loudly at load time (``extra=
"forbid"``), and every section must say where its numbers come from
(``_source``: a DOMAIN.md reference or ``"illustrative"``) so nobody mistakes a
default we chose for a published rule. Percentages are decimals with at most
two places (``60`` = 60 %), amounts are yuan with at most two places; the
adjudication core converts both to integers (basis points, fen) once, at load.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.common import Admdvs

Category = Literal["outpatient", "chronic_outpatient", "pharmacy", "inpatient"]
"""Medical category of a benefit rule; the core maps ``med_type`` onto one."""

FilingKind = Literal["long_term", "referral", "emergency", "other_temporary"]
"""Filing types of DOMAIN.md section 2, as the policy's cross-region cuts name them."""

Pct = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Yuan = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
Level = Literal["0", "1", "2", "3"]
"""Institution level as a JSON key: 0 = unrated (pharmacies), 1/2/3 = 一级/二级/三级."""


class PolicyModel(BaseModel):
    """Frozen, strict about unknown keys: a typo in a pack is an error, not a default."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Sourced(PolicyModel):
    """A section whose numbers carry their provenance."""

    source: str = Field(alias="_source", min_length=1)

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value != "illustrative" and not value.startswith("DOMAIN.md"):
            raise ValueError("_source must be 'illustrative' or cite DOMAIN.md")
        return value


class LevelTerms(PolicyModel):
    """What differs by institution level: the deductible and the pooled-fund ratio."""

    deductible_yuan: Yuan
    ratio_pct: Pct


class BenefitRule(Sourced):
    """Basic pooled fund for one insutype x psn_type set x category.

    ``cap_group`` names the yearly cap this rule draws on, so outpatient and
    chronic outpatient may share one cap while inpatient has its own.
    ``diseases`` is the chronic/special disease list (门慢门特): a chronic
    visit whose diagnoses are not on it is settled as ordinary outpatient.
    """

    insutype: Literal["310", "390"]
    psn_types: tuple[str, ...] = ()
    category: Category
    deductible_basis: Literal["per_year", "per_admission"]
    levels: dict[Level, LevelTerms]
    cap_group: str = Field(min_length=1)
    annual_cap_yuan: Yuan
    diseases: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> BenefitRule:
        if not self.levels:
            raise ValueError("a benefit rule needs at least one institution level")
        if self.category == "chronic_outpatient" and not self.diseases:
            raise ValueError("a chronic outpatient rule needs its disease list")
        return self


class Segment(PolicyModel):
    """A critical-illness band: from this cumulative in-scope burden upward, this ratio."""

    from_yuan: Yuan
    ratio_pct: Pct


class CriticalIllness(Sourced):
    """Resident critical-illness insurance (居民大病保险) on the yearly in-scope burden.

    Segments are bounds on the person's cumulative in-scope personal burden of
    the year (not on the amount above the deductible); the part below the
    deductible pays nothing. The poor get their own deductible and a ratio
    bonus on every segment.
    """

    insutypes: tuple[str, ...] = ("390",)
    categories: tuple[Category, ...]
    deductible_yuan: Yuan
    poor_deductible_yuan: Yuan
    segments: tuple[Segment, ...] = Field(min_length=1)
    poor_bonus_pct: Pct = Decimal(0)
    annual_cap_yuan: Yuan
    poor_annual_cap_yuan: Yuan | None = None

    @model_validator(mode="after")
    def _ascending(self) -> CriticalIllness:
        bounds = [s.from_yuan for s in self.segments]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("critical-illness segments must ascend strictly")
        return self


class LargeAmount(Sourced):
    """Employee large-amount subsidy (大额补助): pays on eligible cost above the basic cap."""

    insutypes: tuple[str, ...] = ("310",)
    ratio_pct: Pct
    annual_cap_yuan: Yuan


class MedicalAssistance(Sourced):
    """Medical assistance (医疗救助) for eligible persons on the in-scope burden left."""

    categories: tuple[Category, ...]
    ratio_pct: Pct
    annual_limit_yuan: Yuan


class PersonalAccount(Sourced):
    """When the personal account (个人账户) may pay, and for which part of the burden."""

    insutypes: tuple[str, ...] = ("310",)
    categories: tuple[Category, ...]
    scope: Literal["in_scope", "all"]


class CrossRegion(Sourced):
    """Ratio cuts for treatment outside the home pool, by filing type (percentage points).

    National caps (DOMAIN.md section 2): referral/emergency at most 10 points,
    other temporary at most 20; long-term filers keep the home standard.
    """

    long_term_cut_pct: Pct = Decimal(0)
    referral_cut_pct: Annotated[Decimal, Field(ge=0, le=10, decimal_places=2)]
    emergency_cut_pct: Annotated[Decimal, Field(ge=0, le=10, decimal_places=2)]
    other_temporary_cut_pct: Annotated[Decimal, Field(ge=0, le=20, decimal_places=2)]
    no_filing: Literal["reject", "cut"]
    no_filing_cut_pct: Pct = Decimal(0)

    @field_validator("long_term_cut_pct")
    @classmethod
    def _long_term_keeps_standard(cls, value: Decimal) -> Decimal:
        if value != 0:
            raise ValueError("long-term filers get the home region's standard (cut 0)")
        return value


class Zone(Sourced):
    """A registration-free zone (免备案): treatment between members needs no filing."""

    name: str
    members: tuple[Admdvs, ...] = Field(min_length=2)
    cut_pct: Pct = Decimal(0)


class YearRules(Sourced):
    """What the home region does at the calendar-year boundary (Asia/Shanghai).

    ``missing_year``: a settlement dated in a year for which this region has no
    pack loaded yet either carries the latest earlier pack forward (at most
    ``carry_forward_max_years`` years back; the settlement is marked
    ``policy_carried`` and records that pack's version) or is refused
    ``E_NO_POLICY``. The rule is read from the pack that would be carried.

    ``cross_year_stay``: an inpatient stay whose fee lines fall in more than one
    year. ``discharge_date`` (the common rule): the whole bill belongs to the year
    of the settlement at discharge: that year's pack, deductible, caps and
    accumulators. ``split_by_date``: each fee line goes to the year of its fee
    date (``fee_ocur_time`` in Asia/Shanghai); each year's part is computed with
    that year's pack and that year's accumulators and caps, and pays that year's
    per-admission deductible once; the personal account pays last, on the sum.
    The rule is read from the pack of the settlement's year.

    A pack without this section uses the defaults (carry forward one year, by
    discharge date), so adding the section to the model changed no pack's version.
    """

    missing_year: Literal["carry_forward", "refuse"] = "carry_forward"
    carry_forward_max_years: int = Field(default=1, ge=1, le=5)
    cross_year_stay: Literal["discharge_date", "split_by_date"] = "discharge_date"


class PolicyPack(Sourced):
    """One pooling region's policy for one calendar year."""

    admdvs: Admdvs
    year: int = Field(ge=2000, le=2100)
    name: str
    rules: tuple[BenefitRule, ...] = Field(min_length=1)
    critical_illness: CriticalIllness | None = None
    large_amount: LargeAmount | None = None
    medical_assistance: MedicalAssistance | None = None
    personal_account: PersonalAccount | None = None
    cross_region: CrossRegion
    zones: tuple[Zone, ...] = ()
    year_rules: YearRules | None = None
    """``None``: the documented defaults of ``YearRules``."""
    notes: str = ""

    @property
    def year_rules_or_default(self) -> YearRules:
        """The pack's year-boundary rules, or the defaults when it states none."""
        return self.year_rules or DEFAULT_YEAR_RULES

    @model_validator(mode="after")
    def _zones_include_home(self) -> PolicyPack:
        for zone in self.zones:
            if self.admdvs not in zone.members:
                raise ValueError(f"zone {zone.name!r} does not include the pack's region")
        return self


DEFAULT_YEAR_RULES = YearRules.model_validate({"_source": "illustrative"})
"""Carry the last year's pack forward for one year; a cross-year stay by discharge date."""
