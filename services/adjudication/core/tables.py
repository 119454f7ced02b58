"""Reference data compiled once into integer lookup tables, with content versions.

Why compile: the hot path must not convert Decimals or scan lists per fee line.
Why content hashes: every settlement records the policy and catalog versions
it used, so a replay re-adjudicates old traffic with the same numbers and a
what-if run can name the versions it compares. The version is a hash of the
canonical JSON of the validated model, so reformatting a file keeps it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import orjson
from pydantic import BaseModel

from contracts.policy import Category, PolicyPack
from contracts.pools import PoolingRegions, pool_of
from contracts.reference import Catalog, Institution
from services.adjudication.core.assistance import CompiledAssistance, compile_assistance
from services.adjudication.core.critical_illness import (
    CompiledCriticalIllness,
    compile_critical_illness,
)
from services.adjudication.core.errors import NoCatalog, NoPolicy, UnknownInstitution
from services.adjudication.core.large_amount import CompiledLargeAmount, compile_large_amount
from services.adjudication.core.money import pct_to_bp, yuan_to_fen
from services.adjudication.core.personal_account import CompiledAccount, compile_account

ANY_PSN_TYPE = "*"


def content_version(model: BaseModel, prefix: str) -> str:
    """``prefix-<16 hex>``: a hash of the model's canonical JSON (sorted keys)."""
    dumped = model.model_dump(mode="json", by_alias=True)
    if isinstance(model, PolicyPack) and model.year_rules is None:
        # A pack that states no year rules hashes as it did before the section existed:
        # adding the section to the model must not change any recorded version.
        dumped.pop("year_rules", None)
    canonical = orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)
    return f"{prefix}-{hashlib.sha256(canonical).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class RuleTerms:
    """One benefit rule at one institution level, in fen and basis points."""

    category: Category
    per_admission: bool
    deductible_fen: int
    ratio_bp: int
    cap_group: str
    cap_fen: int
    diseases: frozenset[str]


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A catalog item compiled for pricing: class, self-pay-first bp, price limit fen."""

    cls: str
    preselfpay_bp: int
    price_limit_fen: int | None


@dataclass(frozen=True, slots=True)
class CompiledCatalog:
    """A treatment region's catalog, ready for ``pricing.price_lines``."""

    admdvs: str
    version: str
    reject_unknown: bool
    items: Mapping[str, CatalogEntry]


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A home region's pack for one year; ``pack`` keeps the layered sections."""

    pack: PolicyPack
    version: str
    rules: Mapping[tuple[str, str, Category, int], RuleTerms]
    cut_bp: Mapping[str, int]
    no_filing_reject: bool
    zone_cut_bp: Mapping[str, int]
    critical_illness: CompiledCriticalIllness | None
    large_amount: CompiledLargeAmount | None
    assistance: CompiledAssistance | None
    account: CompiledAccount | None

    def rule(self, insutype: str, psn_type: str, category: Category, level: int) -> RuleTerms:
        """The rule for the person and institution; a psn_type-specific rule wins."""
        rules = self.rules
        found = rules.get((insutype, psn_type, category, level)) or rules.get(
            (insutype, ANY_PSN_TYPE, category, level)
        )
        if found is None:
            raise NoPolicy(
                f"{self.pack.admdvs}/{self.pack.year} has no rule for "
                f"insutype {insutype} psn_type {psn_type} {category} level {level}"
            )
        return found


def _pct(value: Decimal) -> int:
    return pct_to_bp(value)


def compile_policy(pack: PolicyPack) -> CompiledPolicy:
    """Flatten a pack's rules to one key per (insutype, psn_type, category, level)."""
    rules: dict[tuple[str, str, Category, int], RuleTerms] = {}
    for rule in pack.rules:
        for level, terms in rule.levels.items():
            compiled = RuleTerms(
                category=rule.category,
                per_admission=rule.deductible_basis == "per_admission",
                deductible_fen=yuan_to_fen(terms.deductible_yuan),
                ratio_bp=_pct(terms.ratio_pct),
                cap_group=rule.cap_group,
                cap_fen=yuan_to_fen(rule.annual_cap_yuan),
                diseases=frozenset(rule.diseases),
            )
            for psn_type in rule.psn_types or (ANY_PSN_TYPE,):
                key = (rule.insutype, psn_type, rule.category, int(level))
                if key in rules:
                    raise ValueError(f"{pack.admdvs}/{pack.year}: two rules for {key}")
                rules[key] = compiled
    cross = pack.cross_region
    cut_bp = {
        "long_term": _pct(cross.long_term_cut_pct),
        "referral": _pct(cross.referral_cut_pct),
        "emergency": _pct(cross.emergency_cut_pct),
        "other_temporary": _pct(cross.other_temporary_cut_pct),
        "none": _pct(cross.no_filing_cut_pct),
    }
    zone_cut: dict[str, int] = {}
    for zone in pack.zones:
        for member in zone.members:
            if member != pack.admdvs:
                zone_cut[member] = _pct(zone.cut_pct)
    return CompiledPolicy(
        pack=pack,
        version=content_version(pack, f"policy-{pack.admdvs}-{pack.year}"),
        rules=rules,
        cut_bp=cut_bp,
        no_filing_reject=cross.no_filing == "reject",
        zone_cut_bp=zone_cut,
        critical_illness=None
        if pack.critical_illness is None
        else compile_critical_illness(pack.critical_illness),
        large_amount=None if pack.large_amount is None else compile_large_amount(pack.large_amount),
        assistance=None
        if pack.medical_assistance is None
        else compile_assistance(pack.medical_assistance),
        account=None if pack.personal_account is None else compile_account(pack.personal_account),
    )


def compile_catalog(catalog: Catalog) -> CompiledCatalog:
    """Convert prices and shares once; pricing then does integer work only."""
    items = {
        code: CatalogEntry(
            cls=item.cls,
            preselfpay_bp=_pct(item.preselfpay_pct),
            price_limit_fen=None
            if item.price_limit_yuan is None
            else yuan_to_fen(item.price_limit_yuan),
        )
        for code, item in catalog.items.items()
    }
    return CompiledCatalog(
        admdvs=catalog.admdvs,
        version=content_version(catalog, f"catalog-{catalog.admdvs}"),
        reject_unknown=catalog.unknown_item == "reject",
        items=items,
    )


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    """The pack a settlement year uses: its own, or an earlier one carried forward."""

    policy: CompiledPolicy
    carried: bool


@dataclass(frozen=True, slots=True)
class Site:
    """An institution with its pooling region and catalog resolved once at load."""

    institution: Institution
    pool: str
    catalog: CompiledCatalog | None


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """Everything the adjudicator reads, indexed. Immutable: swap the whole object
    to roll out new packs, so a settlement never sees half a change."""

    policies: Mapping[tuple[str, int], CompiledPolicy]
    catalogs: Mapping[str, CompiledCatalog]
    institutions: Mapping[str, Institution]
    pools: frozenset[str] = frozenset()
    sites: Mapping[str, Site] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        packs: Iterable[PolicyPack],
        catalogs: Iterable[Catalog],
        institutions: Iterable[Institution],
    ) -> ReferenceData:
        """Compile validated models; duplicates are an error, not a silent override."""
        policies: dict[tuple[str, int], CompiledPolicy] = {}
        for pack in packs:
            if (pack.admdvs, pack.year) in policies:
                raise ValueError(f"two policy packs for {pack.admdvs}/{pack.year}")
            policies[(pack.admdvs, pack.year)] = compile_policy(pack)
        compiled_catalogs: dict[str, CompiledCatalog] = {}
        for catalog in catalogs:
            if catalog.admdvs in compiled_catalogs:
                raise ValueError(f"two catalogs for {catalog.admdvs}")
            compiled_catalogs[catalog.admdvs] = compile_catalog(catalog)
        by_code: dict[str, Institution] = {}
        for inst in institutions:
            if inst.fixmedins_code in by_code:
                raise ValueError(f"institution {inst.fixmedins_code} listed twice")
            by_code[inst.fixmedins_code] = inst
        partial = cls(
            policies=policies,
            catalogs=compiled_catalogs,
            institutions=by_code,
            pools=frozenset(key[0] for key in policies),
        )
        sites = {code: partial._site(inst) for code, inst in by_code.items()}
        return cls(partial.policies, partial.catalogs, partial.institutions, partial.pools, sites)

    def _site(self, inst: Institution) -> Site:
        try:
            catalog: CompiledCatalog | None = self.catalog(inst.admdvs)
        except NoCatalog:
            catalog = None
        return Site(inst, self.pool_of(inst.admdvs), catalog)

    def site(self, fixmedins_code: str) -> Site:
        """The institution, its pool and its catalog in one lookup (the hot path)."""
        found = self.sites.get(fixmedins_code)
        if found is None:
            raise UnknownInstitution(fixmedins_code)
        return found

    @property
    def pooling(self) -> PoolingRegions:
        """The pools of this reference data, for processors that need the same rule
        (clearing's participants): ``contracts.pools``."""
        return PoolingRegions(self.pools)

    def pool_of(self, admdvs: str) -> str:
        """The pooling region a treatment division belongs to (``contracts.pools.pool_of``:
        itself, its city, its province — the first with a pack — else itself)."""
        return pool_of(admdvs, self.pools)

    def policy(self, admdvs: str, year: int) -> CompiledPolicy:
        """The home region's own pack for ``year`` (no carrying forward)."""
        found = self.policies.get((admdvs, year))
        if found is None:
            raise NoPolicy(f"no policy pack for {admdvs}/{year}")
        return found

    def policy_for(self, admdvs: str, year: int) -> PolicyChoice:
        """The pack a settlement dated in ``year`` uses: the year's own; else, when the
        region's latest earlier pack says ``missing_year: carry_forward`` and is at most
        ``carry_forward_max_years`` old, that pack, marked carried; else ``NoPolicy``."""
        found = self.policies.get((admdvs, year))
        if found is not None:
            return PolicyChoice(found, carried=False)
        earlier = [y for (region, y) in self.policies if region == admdvs and y < year]
        if not earlier:
            raise NoPolicy(f"no policy pack for {admdvs}/{year}")
        last = self.policies[(admdvs, max(earlier))]
        rules = last.pack.year_rules_or_default
        if rules.missing_year == "refuse":
            raise NoPolicy(f"no policy pack for {admdvs}/{year}; the region refuses a missing year")
        if year - last.pack.year > rules.carry_forward_max_years:
            raise NoPolicy(
                f"no policy pack for {admdvs}/{year}; {admdvs}/{last.pack.year} carries forward "
                f"at most {rules.carry_forward_max_years} year(s)"
            )
        return PolicyChoice(last, carried=True)

    def catalog(self, admdvs: str) -> CompiledCatalog:
        """The treatment region's catalog: the district's own, else its city's
        (``xxxx00``), else its province's (``xx0000``: Shanghai's districts)."""
        catalogs = self.catalogs
        found = (
            catalogs.get(admdvs)
            or catalogs.get(admdvs[:4] + "00")
            or catalogs.get(admdvs[:2] + "0000")
        )
        if found is None:
            raise NoCatalog(f"no catalog for {admdvs}")
        return found

    def institution(self, fixmedins_code: str) -> Institution:
        """The institution's reference row."""
        found = self.institutions.get(fixmedins_code)
        if found is None:
            raise UnknownInstitution(fixmedins_code)
        return found
