"""Netting and prepayment rules, exhaustively over random settlement sets (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.pools import PoolingRegions
from services.clearing.core.netting import nets, transfer_volume
from services.clearing.core.periods import flow_of
from services.clearing.core.prepayment import Thresholds, crossings, level_of, prepayment_size
from services.clearing.core.statement import PairKey, PairTotals, build

POOLS = PoolingRegions.of_packs(
    ["330900", "330421", "310000", "310118", "320500", "320509", "430100", "650000", "230100"]
)
DIVISIONS = [
    "330900", "330902", "330903", "330421", "330102", "310000", "310104", "310115", "310118",
    "320500", "320508", "320509", "430100", "430102", "650000", "650102", "650104", "230100",
]  # fmt: skip

settlements_st = st.lists(
    st.tuples(
        st.sampled_from(sorted(POOLS.pools)),
        st.sampled_from(DIVISIONS),
        st.integers(min_value=-(10**9), max_value=10**11),
    ),
    max_size=60,
)


def _totals(settlements: list[tuple[str, str, int]], scope: str) -> dict[PairKey, PairTotals]:
    """Per (home, treatment, payer, payee) of ``scope``, as the running positions keep them."""
    out: dict[PairKey, PairTotals] = {}
    for home, treatment, fen in settlements:
        flow = flow_of(home, treatment, POOLS)
        if flow is None or flow.scope != scope:
            continue
        key = (home, treatment, flow.payer, flow.payee)
        t = out.get(key, PairTotals(0, 0, 0, 0, 0))
        out[key] = PairTotals(t.setl_cnt + 1, 0, 0, t.medfee_fen + fen, t.fund_fen + fen)
    return out


@settings(max_examples=150)
@given(settlements_st)
def test_nets_sum_to_zero_and_equal_receivables_minus_payables(
    settlements: list[tuple[str, str, int]],
) -> None:
    for scope in ("national", "province:330000", "province:310000", "province:650000"):
        draft = build("2026-10", scope, _totals(settlements, scope), {})
        gross = {(p.payer, p.payee): p.fund_fen for p in draft.pairs if p.fund_fen}
        assert all(v > 0 for v in gross.values())
        net = nets(gross)
        assert net == draft.nets and sum(net.values()) == 0
        for who, amount in net.items():
            receivable = sum(v for (_, payee), v in gross.items() if payee == who)
            payable = sum(v for (payer, _), v in gross.items() if payer == who)
            assert amount == receivable - payable
        moved_gross, moved_net = transfer_volume(gross, net)
        assert (moved_gross, moved_net) == (draft.gross_fen, draft.net_volume_fen)
        assert moved_net <= moved_gross


@settings(max_examples=150)
@given(settlements_st)
def test_scopes_split_the_cross_pool_flows_and_name_only_pools_or_provinces(
    settlements: list[tuple[str, str, int]],
) -> None:
    national = _totals(settlements, "national")
    cross = sum(fen for h, t, fen in settlements if h[:2] != t[:2])
    assert sum(t.fund_fen for t in national.values()) == cross
    assert all(p[-4:] == "0000" and y[-4:] == "0000" for _h, _t, p, y in national)
    inside = 0
    for province in ("330000", "310000", "320000", "650000", "430000", "230000"):
        provincial = _totals(settlements, f"province:{province}")
        inside += sum(t.fund_fen for t in provincial.values())
        for _h, _t, payer, payee in provincial:
            assert payer != payee and payer[:2] == payee[:2] == province[:2]
            assert POOLS.pool_of(payer) == payer and POOLS.pool_of(payee) == payee
    same_province = sum(
        fen for h, t, fen in settlements if h[:2] == t[:2] and POOLS.pool_of(t) != h
    )
    assert inside == same_province


def test_hand_computed_three_province_month() -> None:
    # Zhejiang owes Shanghai 1,000.00; Shanghai owes Zhejiang 300.00; Jiangsu owes Shanghai 500.00
    # nets: 310000 +1,000 - 300 + 500 = +1,200.00; 330000 -1,000 + 300 = -700.00; 320000 -500.00
    # (330900 -> 330421 is provincial, 310000 -> 310104 local: neither is national)
    draft = build(
        "2026-10",
        "national",
        _totals(
            [("330900", "310104", 100_000), ("310118", "330421", 30_000),
             ("320500", "310000", 50_000), ("330900", "330421", 99_999),
             ("310000", "310104", 12_345)],
            "national",
        ),
        {},
    )  # fmt: skip
    assert draft.nets == {"310000": 120_000, "320000": -50_000, "330000": -70_000}
    assert (draft.gross_fen, draft.net_volume_fen) == (180_000, 120_000)


def test_prepayment_size_and_warnings_once_per_crossing() -> None:
    # Q4 monthly fund 1,000,000.00 / 1,200,000.00 / 1,400,000.00 -> average 1,200,000.00 x 2
    size = prepayment_size([100_000_000, 120_000_000, 140_000_000])
    assert size == 240_000_000
    t = Thresholds()
    assert level_of(167_999_999, size, t) is None and level_of(168_000_000, size, t) == "yellow"
    assert crossings(160_000_000, 170_000_000, size) == ["yellow"]
    assert crossings(170_000_000, 180_000_000, size) == [], "no second warning inside the band"
    assert crossings(100_000_000, 230_000_000, size) == ["yellow", "red"]
    assert crossings(230_000_000, 100_000_000, size) == []
