"""Integer-fen arithmetic: the only place the core rounds.

Why integers: a settlement's identities must hold to the fen on every result,
and Python ints make that exact and fast. Amounts are fen (1 yuan = 100 fen),
ratios are basis points (1 % = 100 bp). The documented rounding points are
``ratio_of`` (a fund's share of an amount), ``mul_qty`` (a quantity times a
unit-price excess), both half-up to one fen; everything else adds and subtracts.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

BP = 10_000
_CENT = Decimal("0.01")


def yuan_to_fen(amount: Decimal) -> int:
    """Yuan (at most two places, validated upstream) to fen, exactly."""
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError("amount has more than two decimal places")
    return int(fen)


def fen_to_yuan(fen: int) -> Decimal:
    """Fen to a two-place Decimal, the ``16,2`` shape every message carries."""
    return Decimal(fen).scaleb(-2).quantize(_CENT)


def fen_text(fen: int) -> str:
    """``12345`` -> ``"123.45"``: for human-readable process notes, without Decimal."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def pct_to_bp(pct: Decimal) -> int:
    """A percentage with at most two places (``60`` = 60 %) to basis points."""
    bp = pct * 100
    if bp != bp.to_integral_value():
        raise ValueError("percentage has more than two decimal places")
    return int(bp)


def ratio_of(amount_fen: int, bp: int) -> int:
    """``amount × bp / 10000`` rounded half-up to the fen (amounts are never negative)."""
    return (amount_fen * bp * 2 + BP) // (2 * BP)


def mul_qty(unit_fen: int, qty: Decimal) -> int:
    """A unit amount times a (possibly fractional) quantity, half-up to the fen."""
    whole = int(qty)
    if whole == qty:
        return unit_fen * whole
    return int((Decimal(unit_fen) * qty).quantize(Decimal(1), rounding=ROUND_HALF_UP))
