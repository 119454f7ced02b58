"""Resident critical-illness insurance (城乡居民大病保险, fund 390200).

Why cumulative bands: the layer pays on the person's in-scope personal burden
of the whole year, so a bill pays at the ratio of the band the year's running
total is in. Bands are bounds on that running total (Zhoushan: 60 % from the
25,000 deductible up to 120,000, 65 % above; DOMAIN.md section 5); the poor
have a lower deductible and a bonus on every band. One rounding: the sum of
``overlap × ratio`` over all bands, half-up to the fen, then the yearly cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.policy import Category, CriticalIllness
from services.adjudication.core.money import BP, pct_to_bp, yuan_to_fen


@dataclass(frozen=True, slots=True)
class CompiledCriticalIllness:
    """The layer in fen and basis points; ``bands`` are (from_fen, ratio_bp) ascending."""

    insutypes: frozenset[str]
    categories: frozenset[Category]
    deductible_fen: int
    poor_deductible_fen: int
    bands: tuple[tuple[int, int], ...]
    poor_bonus_bp: int
    cap_fen: int
    poor_cap_fen: int

    def applies(self, insutype: str, category: Category) -> bool:
        """Whether this insutype and category count towards and draw on the layer."""
        return insutype in self.insutypes and category in self.categories

    def cap(self, poor: bool) -> int:
        """The yearly cap for the person."""
        return self.poor_cap_fen if poor else self.cap_fen


def compile_critical_illness(section: CriticalIllness) -> CompiledCriticalIllness:
    """Convert once at load."""
    cap = yuan_to_fen(section.annual_cap_yuan)
    poor_cap = section.poor_annual_cap_yuan
    return CompiledCriticalIllness(
        insutypes=frozenset(section.insutypes),
        categories=frozenset(section.categories),
        deductible_fen=yuan_to_fen(section.deductible_yuan),
        poor_deductible_fen=yuan_to_fen(section.poor_deductible_yuan),
        bands=tuple((yuan_to_fen(s.from_yuan), pct_to_bp(s.ratio_pct)) for s in section.segments),
        poor_bonus_bp=pct_to_bp(section.poor_bonus_pct),
        cap_fen=cap,
        poor_cap_fen=cap if poor_cap is None else yuan_to_fen(poor_cap),
    )


def critical_illness_pay(
    layer: CompiledCriticalIllness,
    burden_before_fen: int,
    burden_fen: int,
    paid_before_fen: int,
    poor: bool,
) -> int:
    """What the layer pays for ``burden_fen`` added on top of the year's running total."""
    if burden_fen <= 0:
        return 0
    deductible = layer.poor_deductible_fen if poor else layer.deductible_fen
    bonus = layer.poor_bonus_bp if poor else 0
    start, end = burden_before_fen, burden_before_fen + burden_fen
    bands = layer.bands
    weighted = 0
    for i, (lower, ratio_bp) in enumerate(bands):
        lo = max(lower, deductible, start)
        hi = bands[i + 1][0] if i + 1 < len(bands) else end
        hi = min(hi, end)
        if hi > lo:
            weighted += (hi - lo) * min(BP, ratio_bp + bonus)
    due = (weighted * 2 + BP) // (2 * BP)
    return max(0, min(due, layer.cap(poor) - paid_before_fen))
