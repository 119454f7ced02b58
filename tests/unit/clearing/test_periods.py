"""Periods, scopes, statements and warnings of the clearing core (pure, no server)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.clearing.core.errors import BadPeriod, BadScope, WrongState
from services.clearing.core.periods import (
    assign,
    next_period,
    parse_scope,
    participants,
    period_of,
    require,
    scope_from_message,
    scope_of,
)
from services.clearing.core.prepayment import Thresholds, warnings_due
from services.clearing.core.statement import (
    PairTotals,
    Prepayment,
    build,
    differences,
    statement_id,
    top_up_fen,
)


def test_scope_of_a_flow() -> None:
    assert scope_of("330900", "310118") == "national"
    assert scope_of("330421", "330900") == "province:330000"
    assert scope_of("330900", "330900") is None
    assert participants("330421", "310118", "national") == ("330000", "310000")
    assert participants("330421", "330900", "province:330000") == ("330421", "330900")
    assert scope_from_message("provincial", "330000") == "province:330000"
    with pytest.raises(BadScope):
        parse_scope("province:330100")
    with pytest.raises(BadScope):
        scope_from_message("provincial", "330100")


def test_periods_roll_over_the_year() -> None:
    assert period_of(dt.date(2026, 12, 31)) == "2026-12"
    assert next_period("2026-12") == "2027-01"
    assert next_period("2026-09") == "2026-10"
    with pytest.raises(BadPeriod):
        next_period("2026-13")


def test_a_settlement_of_a_closed_month_goes_to_the_next_open_one_flagged_late() -> None:
    assert not assign("2026-08", {}).late
    a = assign("2026-08", {"2026-08": "CLOSED", "2026-09": "CLOSING"})
    assert (a.period, a.natural_period, a.late) == ("2026-10", "2026-08", True)
    with pytest.raises(WrongState):
        assign("2026-08", {f"{2026 + i // 12}-{i % 12 + 1:02d}": "CLOSED" for i in range(7, 200)})


def test_state_machine_refuses_steps_out_of_order() -> None:
    require("close", "OPEN", "p")
    require("settle", "CONFIRMED", "p")
    with pytest.raises(WrongState):
        require("settle", "CLOSED", "p")
    with pytest.raises(WrongState):
        require("confirm", "OPEN", "p")


def _t(fund: int, cnt: int = 1, late: int = 0) -> PairTotals:
    return PairTotals(cnt, 0, late, fund * 2, fund, ())


def test_statement_nets_and_negative_pairs() -> None:
    totals = {
        ("330900", "310118", "330000", "310000"): _t(10_000, 3),
        ("330421", "310104", "330000", "310000"): _t(5_000, 2, 1),
        ("310118", "330902", "310000", "330000"): _t(2_500),
        ("430100", "330902", "430000", "330000"): _t(-700),  # reversals exceed settlements
    }
    draft = build("2026-10", "national", totals, {})
    assert draft.statement_id == statement_id("2026-10", "national") == "STMT-2026-10-N"
    gross = {(p.payer, p.payee): p.fund_fen for p in draft.pairs if p.fund_fen}
    assert gross == {
        ("330000", "310000"): 15_000,
        ("310000", "330000"): 2_500,
        ("330000", "430000"): 700,
    }
    assert draft.nets == {"310000": 12_500, "330000": -13_200, "430000": 700}
    assert sum(draft.nets.values()) == 0
    assert draft.late_cnt == 1 and draft.setl_cnt == 7
    assert (draft.gross_fen, draft.net_volume_fen) == (18_200, 13_200)


def test_top_up_only_when_red_and_brings_usage_back_to_yellow() -> None:
    pre = Prepayment(1_000_000, Thresholds())
    assert top_up_fen(800_000, pre) == 0  # yellow: no emergency top-up
    top = top_up_fen(950_000, pre)
    assert top > 0 and 7000 * (1_000_000 + top) >= 950_000 * 10_000
    assert 7000 * (1_000_000 + top - 1) < 950_000 * 10_000


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=-500_000, max_value=2_000_000), min_size=1, max_size=40))
def test_warnings_fire_once_per_upward_crossing(usages: list[int]) -> None:
    prepayment = 1_000_000
    level = None
    raised: list[str] = []
    for used in usages:
        level, crossed = warnings_due(level, used, prepayment)
        raised += crossed
    # Replaying the same sequence from the last level raises nothing new.
    again = warnings_due(level, usages[-1], prepayment)[1]
    assert again == []
    upward = 0
    prev = 0
    for used in usages:
        rank = (
            2
            if used * 10_000 >= 9000 * prepayment
            else 1
            if used * 10_000 >= 7000 * prepayment
            else 0
        )
        upward += max(0, rank - prev)
        prev = rank
    assert len(raised) == upward


def test_differences_name_the_pair_and_the_field() -> None:
    key = ("330900", "310118", "330000", "310000")
    assert differences({key: _t(100)}, {key: _t(100)}) == []
    diff = differences({key: _t(100)}, {key: _t(101)})
    assert any("fund_pay_sumamt" in d for d in diff)
    assert differences({key: _t(1)}, {}) == ["330900->310118: missing from the running positions"]


def test_a_month_closes_only_once_it_is_over() -> None:
    from services.clearing.core.periods import require_ended

    require_ended("2026-10", dt.date(2026, 11, 1))
    require_ended("2026-12", dt.date(2027, 1, 1))
    with pytest.raises(WrongState, match="can be closed from 2026-11-01"):
        require_ended("2026-10", dt.date(2026, 10, 31))
