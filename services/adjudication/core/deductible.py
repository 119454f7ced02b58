"""The deductible (起付线): the in-scope amount the person pays before the basic fund.

Why its own module: the basis differs by category. Inpatient rules charge it
per admission (tracked on the visit, so a mid-stay settlement does not charge
it twice); outpatient, chronic and pharmacy rules charge it once per year
(tracked in the person-year accumulators, across every region).
"""

from __future__ import annotations


def deductible_due(deductible_fen: int, already_paid_fen: int, inscp_fen: int) -> int:
    """What this settlement pays towards the deductible: what is left of it, at most
    the in-scope amount (a bill smaller than the deductible is all deductible)."""
    left = deductible_fen - already_paid_fen
    if left <= 0:
        return 0
    return min(left, inscp_fen)
