"""Multilateral netting of a clearing period: who pays whom, gross and net.

The rule (经办规程) is full monthly clearing: each home region pays each
treatment region the gross fund-paid amount of their pair, less audit
deductions. Netting is our added view — how much transfer volume a net
settlement would save. Both are computed here from the same pair totals, in
integer fen, so they agree by construction and the nets sum to zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Scope = Literal["national", "provincial"]


@dataclass(frozen=True, slots=True)
class PairAmount:
    """One pair's period total: ``payer`` (home) owes ``payee`` (treatment), in fen."""

    payer: str
    payee: str
    fund_fen: int
    deduction_fen: int = 0

    @property
    def payable_fen(self) -> int:
        return self.fund_fen - self.deduction_fen


def participant(admdvs: str, scope: Scope) -> str:
    """National scope clears between provinces (xx0000); provincial between pooling regions."""
    return admdvs[:2] + "0000" if scope == "national" else admdvs


def roll_up(
    pairs: Iterable[PairAmount], scope: Scope, province: str | None = None
) -> dict[tuple[str, str], int]:
    """Gross payable per (payer, payee) participant pair at ``scope``.

    National: cross-province flows only (a province's internal flows are its own
    platform's business). Provincial: flows between pooling regions of ``province``.
    Reversals arrive as negative amounts and simply net into their pair.
    """
    out: dict[tuple[str, str], int] = {}
    for p in pairs:
        if scope == "national":
            payer, payee = participant(p.payer, scope), participant(p.payee, scope)
            if payer == payee:
                continue
        else:
            if (
                province is None
                or p.payer[:2] != province[:2]
                or p.payee[:2] != province[:2]
                or p.payer == p.payee
            ):
                continue
            payer, payee = p.payer, p.payee
        out[(payer, payee)] = out.get((payer, payee), 0) + p.payable_fen
    return {k: v for k, v in sorted(out.items()) if v != 0}


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
