"""Netting and prepayment rules, exhaustively over random pair matrices (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.clearing.core.netting import PairAmount, nets, roll_up, transfer_volume
from services.clearing.core.prepayment import Thresholds, crossings, level_of, prepayment_size

REGIONS = ["330900", "330421", "310000", "310118", "320500", "320509", "430100", "650000", "230100"]

pairs_st = st.lists(
    st.builds(
        PairAmount,
        payer=st.sampled_from(REGIONS),
        payee=st.sampled_from(REGIONS),
        fund_fen=st.integers(min_value=-(10**9), max_value=10**11),
        deduction_fen=st.integers(min_value=0, max_value=10**6),
    ),
    max_size=60,
)


@settings(max_examples=150)
@given(pairs_st)
def test_nets_sum_to_zero_and_equal_receivables_minus_payables(pairs: list[PairAmount]) -> None:
    for gross in (roll_up(pairs, "national"), roll_up(pairs, "provincial", "330000")):
        net = nets(gross)
        assert sum(net.values()) == 0
        for who, amount in net.items():
            receivable = sum(v for (_, payee), v in gross.items() if payee == who)
            payable = sum(v for (payer, _), v in gross.items() if payer == who)
            assert amount == receivable - payable
        moved_gross, moved_net = transfer_volume(gross, net)
        assert moved_net <= moved_gross


@settings(max_examples=150)
@given(pairs_st)
def test_national_scope_is_the_cross_province_part_of_the_pairs(pairs: list[PairAmount]) -> None:
    national = roll_up(pairs, "national")
    cross = sum(p.payable_fen for p in pairs if p.payer[:2] != p.payee[:2])
    assert sum(national.values()) == cross
    for province in ("330000", "310000", "320000"):
        provincial = roll_up(pairs, "provincial", province)
        assert all(a[:2] == b[:2] == province[:2] for a, b in provincial)


def test_hand_computed_three_province_month() -> None:
    # Zhejiang owes Shanghai 1,000.00; Shanghai owes Zhejiang 300.00; Jiangsu owes Shanghai 500.00
    # nets: 310000 +1,000 - 300 + 500 = +1,200.00; 330000 -1,000 + 300 = -700.00; 320000 -500.00
    gross = roll_up(
        [PairAmount("330900", "310000", 100_000), PairAmount("310118", "330421", 30_000),
         PairAmount("320500", "310000", 50_000), PairAmount("330900", "330421", 99_999)],
        "national",
    )  # fmt: skip
    assert nets(gross) == {"310000": 120_000, "320000": -50_000, "330000": -70_000}
    assert transfer_volume(gross, nets(gross)) == (180_000, 120_000)


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
