"""Medical assistance (医疗救助, fund 610100) for eligible persons.

Why last among the funds: assistance pays on the in-scope burden that every
insurance layer left to the person, at its ratio, within a yearly limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.policy import Category, MedicalAssistance
from services.adjudication.core.money import pct_to_bp, ratio_of, yuan_to_fen


@dataclass(frozen=True, slots=True)
class CompiledAssistance:
    """The layer in fen and basis points."""

    categories: frozenset[Category]
    ratio_bp: int
    limit_fen: int


def compile_assistance(section: MedicalAssistance) -> CompiledAssistance:
    """Convert once at load."""
    return CompiledAssistance(
        frozenset(section.categories),
        pct_to_bp(section.ratio_pct),
        yuan_to_fen(section.annual_limit_yuan),
    )


def assistance_pay(layer: CompiledAssistance, burden_left_fen: int, paid_before_fen: int) -> int:
    """Assistance on what is left of the in-scope burden."""
    if burden_left_fen <= 0:
        return 0
    return max(0, min(ratio_of(burden_left_fen, layer.ratio_bp), layer.limit_fen - paid_before_fen))
