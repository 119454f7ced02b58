"""Employee large-amount subsidy (职工大额医疗费用补助, fund 330100).

Why it takes "cost over cap": the layer exists for bills beyond the basic
fund's yearly cap, so it pays its ratio on exactly the eligible cost the basic
fund left uncovered (see ``basic_fund``), half-up, within its own yearly cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.policy import LargeAmount
from services.adjudication.core.money import pct_to_bp, ratio_of, yuan_to_fen


@dataclass(frozen=True, slots=True)
class CompiledLargeAmount:
    """The layer in fen and basis points."""

    insutypes: frozenset[str]
    ratio_bp: int
    cap_fen: int


def compile_large_amount(section: LargeAmount) -> CompiledLargeAmount:
    """Convert once at load."""
    return CompiledLargeAmount(
        frozenset(section.insutypes),
        pct_to_bp(section.ratio_pct),
        yuan_to_fen(section.annual_cap_yuan),
    )


def large_amount_pay(
    layer: CompiledLargeAmount, cost_over_cap_fen: int, paid_before_fen: int
) -> int:
    """The subsidy for this bill's cost above the basic cap."""
    if cost_over_cap_fen <= 0:
        return 0
    return max(0, min(ratio_of(cost_over_cap_fen, layer.ratio_bp), layer.cap_fen - paid_before_fen))
