"""Corrections of closed statements, carried into the next open period.

Why: a closed statement is never rewritten (DOMAIN.md section 6: returned money appears on
the next payment notice). When the clearing projection is rebuilt under a corrected rule —
issue 14: participants are pooling regions, not districts — a closed month's settlements
resolve to other pairs than the statement says. The difference is computed per pair,
in integer fen, as ``recomputed - issued - already carried``, and carried, once, into
the first period that is still open: that period's report lists it and its close records
it against its own statement.

A line's ``due_fen`` is signed: what ``payer`` owes ``payee`` on top of the closed
statement; negative when ``payee`` returns money (a pair that should not have been cleared
at all comes back whole). The correction nets sum to zero like a statement's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.clearing.core.netting import nets

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class CorrectionLine:
    origin_period: str
    payer: str
    payee: str
    issued_fen: int
    """The closed statement's amount for the pair (0 when it had none)."""
    recomputed_fen: int
    """What the same month's settlements give now (0 when the pair is gone)."""
    carried_fen: int = 0
    """Already carried into earlier statements."""

    @property
    def due_fen(self) -> int:
        return self.recomputed_fen - self.issued_fen - self.carried_fen


def correction_lines(
    origin_period: str,
    issued: Mapping[Pair, int],
    recomputed: Mapping[Pair, int],
    carried: Mapping[Pair, int] | None = None,
) -> tuple[CorrectionLine, ...]:
    """Every pair whose closed amount differs from today's computation, less what was carried.

    ``issued`` and ``recomputed`` are directed pair amounts as ``statement.build`` makes
    them (payer -> payee, each pair netted); a pair on one side only counts 0 on the other.
    """
    carried = carried or {}
    out = []
    for pair in sorted(set(issued) | set(recomputed) | set(carried)):
        line = CorrectionLine(
            origin_period,
            pair[0],
            pair[1],
            issued.get(pair, 0),
            recomputed.get(pair, 0),
            carried.get(pair, 0),
        )
        if line.due_fen:
            out.append(line)
    return tuple(out)


def correction_nets(lines: Iterable[CorrectionLine]) -> dict[str, int]:
    """Per participant: what the corrections make it receive (positive) or pay; sums to zero."""
    signed: dict[Pair, int] = {}
    for line in lines:
        key = (line.payer, line.payee)
        signed[key] = signed.get(key, 0) + line.due_fen
    return {k: v for k, v in nets(signed).items() if v}
