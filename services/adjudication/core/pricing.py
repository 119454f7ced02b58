"""Pricing fee lines against the treatment region's catalog (就医地目录).

Why first: the catalog splits the bill into the four parts of
``medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt +
inscp_scp_amt`` before any home-region policy applies. Rounding happens per
line (the price-limit excess and the class-B share), half-up to the fen, so
a line's four parts always add back to its amount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from services.adjudication.core.errors import UnknownItem
from services.adjudication.core.money import BP, mul_qty
from services.adjudication.core.tables import CompiledCatalog


@dataclass(slots=True)  # a value: never mutated (see core/__init__); built per uploaded line
class FeeLine:
    """One uploaded fee detail (2204/2301): the hospital's line number, the national
    item code, quantity, unit price and line amount (both fen), and the Asia/Shanghai date
    the fee was incurred (``fee_ocur_time``: a cross-year stay split by date sends each
    line to its year; ``None`` in state written before the date was kept)."""

    feedetl_sn: str
    item_code: str
    qty: Decimal
    price_fen: int
    amount_fen: int
    fee_date: dt.date | None = None


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Scope:
    """The catalog's split of a bill, in fen."""

    medfee: int
    fulamt_ownpay: int
    overlmt_selfpay: int
    preselfpay: int
    inscp: int


def price_lines(lines: Iterable[FeeLine], catalog: CompiledCatalog) -> Scope:
    """Split every line by class and price limit; unknown codes follow the catalog's rule."""
    medfee = fulamt = overlmt = presel = inscp = 0
    items = catalog.items
    for line in lines:
        amount = line.amount_fen
        medfee += amount
        entry = items.get(line.item_code)
        if entry is None:
            if catalog.reject_unknown:
                raise UnknownItem(f"item {line.item_code} not in catalog {catalog.admdvs}")
            fulamt += amount
            continue
        if entry.cls == "C":
            fulamt += amount
            continue
        rest = amount
        limit = entry.price_limit_fen
        if limit is not None and line.price_fen > limit:
            excess = min(rest, mul_qty(line.price_fen - limit, line.qty))
            overlmt += excess
            rest -= excess
        if bp := entry.preselfpay_bp:
            share = (rest * bp * 2 + BP) // (2 * BP)  # ``ratio_of(rest, bp)``, no call per line
            presel += share
            rest -= share
        inscp += rest
    return Scope(medfee, fulamt, overlmt, presel, inscp)
