"""``price_lines`` with ``ratio_of`` written out in its loop, against the loop that calls it:
any amounts, prices over and under a limit, fractional quantities, every class, unknown
items (refused or full self-pay)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.adjudication.core.errors import UnknownItem
from services.adjudication.core.money import mul_qty, ratio_of
from services.adjudication.core.pricing import FeeLine, Scope, price_lines
from services.adjudication.core.tables import CatalogEntry, CompiledCatalog


def reference(lines: Iterable[FeeLine], catalog: CompiledCatalog) -> Scope:
    medfee = fulamt = overlmt = presel = inscp = 0
    for line in lines:
        amount = line.amount_fen
        medfee += amount
        entry = catalog.items.get(line.item_code)
        if entry is None:
            if catalog.reject_unknown:
                raise UnknownItem(line.item_code)
            fulamt += amount
            continue
        if entry.cls == "C":
            fulamt += amount
            continue
        rest = amount
        if entry.price_limit_fen is not None and line.price_fen > entry.price_limit_fen:
            excess = min(rest, mul_qty(line.price_fen - entry.price_limit_fen, line.qty))
            overlmt += excess
            rest -= excess
        if entry.preselfpay_bp:
            share = ratio_of(rest, entry.preselfpay_bp)
            presel += share
            rest -= share
        inscp += rest
    return Scope(medfee, fulamt, overlmt, presel, inscp)


entries = st.builds(
    CatalogEntry,
    st.sampled_from(["A", "B", "C"]),
    st.integers(0, 10_000),
    st.none() | st.integers(0, 10**6),
)
catalogs = st.builds(
    CompiledCatalog,
    st.just("310000"),
    st.just("v1"),
    st.booleans(),
    st.dictionaries(st.sampled_from(["i1", "i2", "i3"]), entries),
)
lines_of = st.lists(
    st.builds(
        FeeLine,
        st.just("1"),
        st.sampled_from(["i1", "i2", "i3", "i4"]),
        st.decimals(min_value=Decimal("0.01"), max_value=1000, places=2),
        st.integers(0, 10**6),
        st.integers(0, 10**9),
    ),
    max_size=8,
)


@given(lines_of, catalogs)
def test_price_lines_is_the_loop_with_ratio_of(
    lines: list[FeeLine], catalog: CompiledCatalog
) -> None:
    try:
        want = reference(lines, catalog)
    except UnknownItem:
        with pytest.raises(UnknownItem):
            price_lines(lines, catalog)
        return
    assert price_lines(lines, catalog) == want
