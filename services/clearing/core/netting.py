"""Multilateral netting of a clearing period: who pays whom, gross and net.

The rule (经办规程) is full monthly clearing: each home region pays each
treatment region the gross fund-paid amount of their pair, less audit
deductions. Netting is our added view — how much transfer volume a net
settlement would save. Both are computed here from the same pair totals, in
integer fen, so they agree by construction and the nets sum to zero. Which pair a
settlement belongs to (scope, pooling regions) is decided once, in ``periods.flow_of``.
"""

from __future__ import annotations

from collections.abc import Mapping


def nets(gross: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """Net position per participant: received minus paid (positive = receives). Sums to zero."""
    out: dict[str, int] = {}
    for (payer, payee), amount in gross.items():
        out[payer] = out.get(payer, 0) - amount
        out[payee] = out.get(payee, 0) + amount
    if sum(out.values()) != 0:
        raise AssertionError("nets do not sum to zero")  # impossible by construction; a bug if seen
    return dict(sorted(out.items()))


def transfer_volume(
    gross: Mapping[tuple[str, str], int], net: Mapping[str, int]
) -> tuple[int, int]:
    """(gross volume moved under full clearing, volume moved if only nets were paid)."""
    return sum(abs(v) for v in gross.values()), sum(v for v in net.values() if v > 0)
