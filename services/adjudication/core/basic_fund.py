"""The basic pooled fund (基本医疗保险统筹基金): ratio after the filing cut, yearly cap.

Why the "cost over cap" output: the employee large-amount subsidy pays on the
eligible cost the basic fund could not cover once its cap ran out. The cost
inside the cap is ``cap_left × 10000 ÷ ratio`` floored to the fen, so the
split of a bill that reaches the cap mid-way is exact and documented.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.adjudication.core.money import BP, ratio_of


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class BasicPayment:
    """What the basic fund paid and the eligible cost its cap left uncovered (fen)."""

    paid: int
    cost_over_cap: int


def effective_ratio(ratio_bp: int, cut_bp: int) -> int:
    """The home ratio lowered by the cross-region cut, never below zero."""
    return max(0, ratio_bp - cut_bp)


def basic_fund(eligible_fen: int, ratio_bp: int, cap_left_fen: int) -> BasicPayment:
    """``eligible × ratio`` half-up, limited to what is left of the yearly cap."""
    if ratio_bp <= 0 or eligible_fen <= 0:
        return BasicPayment(0, 0)
    due = ratio_of(eligible_fen, ratio_bp)
    if due <= cap_left_fen:
        return BasicPayment(due, 0)
    paid = max(0, cap_left_fen)
    covered_cost = min(eligible_fen, paid * BP // ratio_bp)
    return BasicPayment(paid, eligible_fen - covered_cost)
