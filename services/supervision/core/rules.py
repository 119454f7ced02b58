"""A compiled rule pack: its version (content hash) and its rules by kind.

Person rules come from the pack of the person's home region, institution
rules from the treatment region's; a region without a pack falls back to its
province's, then to the national base ``000000``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

from contracts.supervision import (
    DaysSupply,
    DecomposedHospitalization,
    DuplicateBilling,
    Frequency,
    InstitutionOutlier,
    OverlappingStays,
    RulePack,
)
from services.supervision.core.errors import RulePackError

NATIONAL = "000000"


def pack_version(pack: RulePack) -> str:
    """``supervision-<admdvs>-<16 hex>``: like the policy packs' versions, a hash of the
    pack's canonical JSON (sorted keys), so any change of a parameter is a new version."""
    canonical = orjson.dumps(pack.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return f"supervision-{pack.admdvs}-{hashlib.sha256(canonical).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class RuleSet:
    admdvs: str
    version: str
    overlap: tuple[OverlappingStays, ...]
    readmission: tuple[DecomposedHospitalization, ...]
    duplicate: tuple[DuplicateBilling, ...]
    frequency: tuple[Frequency, ...]
    supply: tuple[DaysSupply, ...]
    outlier: tuple[InstitutionOutlier, ...]
    horizon_days: int = field(init=False, default=1, compare=False)
    """The longest look-back of any person rule, plus a day: what person state must keep.
    Computed once here (read for every event the person rules apply)."""

    def __post_init__(self) -> None:
        spans = [r.horizon_days for r in self.overlap]
        spans += [r.window_days for r in self.readmission]
        spans += [r.window_days for r in self.frequency]
        spans += [r.window_days for r in self.supply]
        object.__setattr__(self, "horizon_days", max(spans, default=1) + 1)

    @classmethod
    def build(cls, pack: RulePack) -> RuleSet:
        r = pack.rules
        return cls(
            admdvs=pack.admdvs,
            version=pack_version(pack),
            overlap=tuple(x for x in r if isinstance(x, OverlappingStays)),
            readmission=tuple(x for x in r if isinstance(x, DecomposedHospitalization)),
            duplicate=tuple(x for x in r if isinstance(x, DuplicateBilling)),
            frequency=tuple(x for x in r if isinstance(x, Frequency)),
            supply=tuple(x for x in r if isinstance(x, DaysSupply)),
            outlier=tuple(x for x in r if isinstance(x, InstitutionOutlier)),
        )


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Every region's compiled pack."""

    sets: dict[str, RuleSet]

    @classmethod
    def build(cls, packs: list[RulePack]) -> RuleBook:
        sets: dict[str, RuleSet] = {}
        for pack in packs:
            if pack.admdvs in sets:
                raise RulePackError(f"two rule packs for {pack.admdvs}", field="admdvs")
            sets[pack.admdvs] = RuleSet.build(pack)
        if NATIONAL not in sets:
            raise RulePackError("no national base pack (admdvs 000000)", field="admdvs")
        return cls(sets)

    def for_region(self, admdvs: str) -> RuleSet:
        for key in (admdvs, admdvs[:4] + "00", admdvs[:2] + "0000", NATIONAL):
            if key in self.sets:
                return self.sets[key]
        return self.sets[NATIONAL]
