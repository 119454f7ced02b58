"""Formatting for descriptions and memos: two-place yuan, bounded to the contract's 200 chars."""

from __future__ import annotations

from decimal import Decimal

MAX_TEXT = 200


def yuan(amount: Decimal) -> str:
    return format(amount, ".2f")


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Cut to the field's bound; the start (what differs) matters more than the tail (values)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
