"""Corrections of closed statements and the open-period figures (pure core)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.clearing.core.corrections import correction_lines, correction_nets
from services.clearing.core.statement import PairTotals, build, pair_amounts

SH, PUDONG, JINSHAN, QINGPU = "310000", "310104", "310115", "310118"


def test_a_statement_cleared_by_district_is_corrected_back_to_pools() -> None:
    # Issued under the raw-division rule: Shanghai "paid" two of its own districts.
    issued = {(SH, PUDONG): 2_464_912, (SH, JINSHAN): 267_689, (SH, QINGPU): 371_808}
    # Today's rule: 310104 and 310115 are Shanghai's pool; only Qingpu is cleared.
    recomputed = {(SH, QINGPU): 371_808}
    lines = correction_lines("2026-08", issued, recomputed)
    assert [(c.payer, c.payee, c.due_fen) for c in lines] == [
        (SH, PUDONG, -2_464_912),
        (SH, JINSHAN, -267_689),
    ]
    # the districts return what they received; Shanghai's net goes up by the same
    assert correction_nets(lines) == {SH: 2_732_601, PUDONG: -2_464_912, JINSHAN: -267_689}
    # carried once: what an earlier statement carried is not due again
    carried = {(c.payer, c.payee): c.due_fen for c in lines}
    assert correction_lines("2026-08", issued, recomputed, carried) == ()


def test_a_payee_that_was_a_district_becomes_its_pool() -> None:
    # 330421 (Jiashan) paid district 330902 instead of pool 330900: same money, other payee.
    lines = correction_lines(
        "2026-08", {("330421", "330902"): 50_000}, {("330421", "330900"): 50_000}
    )
    assert {(c.payer, c.payee): c.due_fen for c in lines} == {
        ("330421", "330900"): 50_000,
        ("330421", "330902"): -50_000,
    }
    assert correction_nets(lines) == {"330900": 50_000, "330902": -50_000}


pairs_st = st.dictionaries(
    st.tuples(
        st.sampled_from(["310000", "310104", "310118"]), st.sampled_from(["310000", "310118"])
    ),
    st.integers(min_value=1, max_value=10**10),
    max_size=5,
)


@settings(max_examples=200)
@given(pairs_st, pairs_st, pairs_st)
def test_issued_plus_carried_plus_due_is_what_the_month_gives_now(
    issued: dict[tuple[str, str], int],
    recomputed: dict[tuple[str, str], int],
    carried: dict[tuple[str, str], int],
) -> None:
    lines = correction_lines("2026-08", issued, recomputed, carried)
    due = {(c.payer, c.payee): c.due_fen for c in lines}
    for pair in set(issued) | set(recomputed) | set(carried):
        total = issued.get(pair, 0) + carried.get(pair, 0) + due.get(pair, 0)
        assert total == recomputed.get(pair, 0)
    assert all(c.due_fen for c in lines)
    assert sum(correction_nets(lines).values()) == 0


def test_open_period_gross_is_the_sum_of_netted_pairs_not_a_signed_sum() -> None:
    """The open-period figures are ``build``'s: a pair more reversed than settled turns round
    and counts its absolute amount in the gross, as the closed statement counts it."""
    totals = {
        # 330421 -> 330900: 1,000.00 settled, 1,500.00 reversed in the month: 330900 owes 500.00
        ("330421", "330902", "330421", "330900"): PairTotals(1, 0, 0, 100_000, 100_000),
        ("330421", "330903", "330421", "330900"): PairTotals(0, 1, 0, -150_000, -150_000),
        ("330900", "330421", "330900", "330421"): PairTotals(2, 0, 0, 30_000, 30_000),
        ("330102", "330900", "330102", "330900"): PairTotals(1, 0, 0, 20_000, 20_000),
    }
    draft = build("2026-09", "province:330000", totals, {})
    assert pair_amounts(draft) == {("330900", "330421"): 80_000, ("330102", "330900"): 20_000}
    signed_sum = sum(t.fund_fen for t in totals.values())
    assert signed_sum == 0  # what the open report used to call gross
    assert draft.gross_fen == 100_000
    assert draft.nets == {"330102": -20_000, "330421": 80_000, "330900": -60_000}
    assert draft.net_volume_fen == 80_000
