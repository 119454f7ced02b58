"""Queries on large stays (协查): the working-day calendar and the query's life, pure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.audit import QueryRules
from contracts.calendar import HolidayYear
from services.clearing.audit_reference import (
    AuditReferenceError,
    load_query_rules,
    load_working_days,
)
from services.clearing.core import queries as Q
from services.clearing.core.workdays import CalendarGap, WorkingDays

DAYS = load_working_days()
RULES = load_query_rules()
STAY = Q.Stay("S1", "21", 3_000_000, 1_800_000, dt.date(2026, 9, 3),
              frozenset({"330900", "330000"}), frozenset({"310118", "310000"}), False)  # fmt: skip


def test_the_shipped_calendar_knows_the_2026_holidays_and_working_weekends() -> None:
    assert not DAYS.is_working(dt.date(2026, 10, 5))  # National Day, a Monday
    assert DAYS.is_working(dt.date(2026, 10, 10))  # a Saturday worked in exchange
    assert not DAYS.is_working(dt.date(2026, 10, 11))  # an ordinary Sunday
    assert DAYS.is_working(dt.date(2026, 10, 9))
    # 30 Sep (Wed) + 1 working day: 1-7 Oct off, 8 Oct (Thu) is the next working day
    assert DAYS.add(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)
    # a Friday + 1: the next Monday
    assert DAYS.add(dt.date(2026, 11, 6), 1) == dt.date(2026, 11, 9)
    assert DAYS.provisional(2027) and not DAYS.provisional(2026)
    with pytest.raises(CalendarGap):
        DAYS.is_working(dt.date(2031, 1, 2))


def test_a_bad_calendar_file_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "2026.json").write_text(
        '{"year": 2026, "_source": "x", "holidays": ["2026-01-01"],'
        ' "working_weekends": ["2026-01-05"]}'
    )
    with pytest.raises(AuditReferenceError, match=r"2026\.json.*a weekday"):
        load_working_days(tmp_path)
    (tmp_path / "calendar" / "2026.json").write_text(
        '{"year": 2027, "_source": "x", "holidays": []}'
    )
    with pytest.raises(AuditReferenceError, match="holds the calendar of 2027"):
        load_working_days(tmp_path)
    (tmp_path / "queries.json").write_text('{"grace_working_days": 0}')
    with pytest.raises(AuditReferenceError, match="grace_working_days"):
        load_query_rules(tmp_path)


@settings(max_examples=200, deadline=None)
@given(
    st.dates(dt.date(2026, 1, 1), dt.date(2027, 10, 31)),
    st.integers(0, 40),
    st.sets(st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31)), max_size=30),
)
def test_adding_working_days_counts_exactly_the_working_days(
    start: dt.date, n: int, extra_off: set[dt.date]
) -> None:
    """Against a day-by-day oracle over any holiday set: ``add(start, n)`` is a working day (for
    n > 0) and exactly n working days lie after start up to it."""
    off = tuple(sorted(d for d in extra_off if d.year == 2026))
    off27 = tuple(sorted(d for d in extra_off if d.year == 2027))
    days = WorkingDays([HolidayYear(year=2026, source="t", holidays=off),
                        HolidayYear(year=2027, source="t", holidays=off27)])  # fmt: skip
    end = days.add(start, n)
    assert days.between(start, end) == n
    if n:
        assert days.is_working(end)
        day = start + dt.timedelta(days=1)
        count = 0
        while day <= end:
            count += day.weekday() < 5 and day not in extra_off
            day += dt.timedelta(days=1)
        assert count == n


def test_batches_run_from_the_26th_to_the_25th() -> None:
    assert Q.batch_of(dt.date(2026, 10, 26), 25) == "2026-11"
    assert Q.batch_of(dt.date(2026, 11, 25), 25) == "2026-11"
    assert Q.batch_of(dt.date(2026, 12, 26), 25) == "2027-01"
    assert Q.reply_by("2026-11", 25) == dt.date(2026, 12, 25)
    assert Q.reply_by("2026-12", 25) == dt.date(2027, 1, 25)


def _raise(today: dt.date, **kw: object) -> Q.Query:
    args: dict[str, object] = dict(setl_id="S1", agency="330900", query_id="Q1", today=today,
                                   open_query=False, rules=RULES, days=DAYS)  # fmt: skip
    args.update(kw)
    stay = args.pop("stay", STAY)
    return Q.raise_query(stay, **args)  # type: ignore[arg-type]


def test_who_may_query_what() -> None:
    q = _raise(dt.date(2026, 9, 10))
    assert (q.batch, q.reply_by, q.state) == ("2026-09", dt.date(2026, 10, 25), Q.QueryState.RAISED)
    # reply by Sun 25 Oct; 10 working days after it: 26-30 Oct, 2-6 Nov -> Fri 6 Nov
    assert q.lapses_on == dt.date(2026, 11, 6)
    refusals = [
        (dict(stay=None), Q.NotQueryable),
        (dict(stay=_stay(medfee_fen=2_999_999)), Q.NotQueryable),
        (dict(stay=_stay(clr_type="11")), Q.NotQueryable),
        (dict(stay=_stay(reversed=True)), Q.NotQueryable),
        (dict(agency="310000"), Q.QueryAgency),  # the treatment side does not query
        (dict(open_query=True), Q.QueryStepRefused),
    ]
    for kw, error in refusals:
        with pytest.raises(error) as caught:
            _raise(dt.date(2026, 9, 10), **kw)
        assert caught.value.code.startswith("E_QUERY")
    assert _raise(dt.date(2026, 9, 10), stay=_stay(medfee_fen=3_000_000)).state == "RAISED"
    custom = QueryRules(threshold_yuan=Decimal("50000.00"))  # configurable
    with pytest.raises(Q.NotQueryable):
        _raise(dt.date(2026, 9, 10), rules=custom)


def _stay(**kw: object) -> Q.Stay:
    fields = {f: getattr(STAY, f) for f in Q.Stay.__dataclass_fields__}
    return Q.Stay(**{**fields, **kw})  # type: ignore[arg-type]


def test_an_unanswered_query_counts_as_confirmed_after_the_grace_days() -> None:
    q = _raise(dt.date(2026, 9, 10))
    assert Q.advance(q, dt.date(2026, 11, 5)).state == Q.QueryState.RAISED
    lapsed = Q.advance(q, dt.date(2026, 11, 6))
    assert (lapsed.state, lapsed.resolved_on) == (Q.QueryState.DEEMED_CONFIRMED, q.lapses_on)
    with pytest.raises(Q.QueryStepRefused, match="DEEMED_CONFIRMED"):
        Q.answer(q, STAY, agency="310000", today=dt.date(2026, 11, 9), text="late",
                 rules=RULES, days=DAYS)  # fmt: skip


def test_answered_then_confirmed_disputed_or_negotiated_then_deducted() -> None:
    q = _raise(dt.date(2026, 9, 10))
    with pytest.raises(Q.QueryAgency):
        Q.answer(q, STAY, agency="330900", today=dt.date(2026, 9, 20), text="x", rules=RULES,
                 days=DAYS)  # fmt: skip
    a = Q.answer(q, STAY, agency="310118", today=dt.date(2026, 9, 30), text="records attached",
                 rules=RULES, days=DAYS)  # fmt: skip
    assert (a.state, a.answered_late) == (Q.QueryState.ANSWERED, False)
    # 5 working days after 30 Sep: 8 (Thu), 9, 10 (a Saturday worked), 12, 13 Oct
    assert a.confirm_by == dt.date(2026, 10, 13)
    assert Q.confirm(a, agency="330900", today=dt.date(2026, 10, 13)).state == "CONFIRMED"
    negotiated = Q.advance(a, dt.date(2026, 10, 14))
    assert negotiated.state == Q.QueryState.DISPUTED, "silence past the confirmation days"
    with pytest.raises(Q.QueryStepRefused):
        Q.dispute(a, agency="330900", today=dt.date(2026, 10, 14))
    disputed = Q.dispute(a, agency="330900", today=dt.date(2026, 10, 12))
    with pytest.raises(Q.QueryStepRefused, match="not from S1"):
        Q.resolve_by_deduction(disputed, STAY, agency="310000", today=dt.date(2026, 10, 20),
                               deduction_id="D1", deduction_setl_id="S2")  # fmt: skip
    with pytest.raises(Q.QueryAgency):
        Q.resolve_by_deduction(disputed, STAY, agency="330000", today=dt.date(2026, 10, 20),
                               deduction_id="D1", deduction_setl_id="S1")  # fmt: skip
    done = Q.resolve_by_deduction(disputed, STAY, agency="310000", today=dt.date(2026, 10, 20),
                                  deduction_id="D1", deduction_setl_id="S1")  # fmt: skip
    assert (done.state, done.deduction_id) == (Q.QueryState.DEDUCTED, "D1")
    assert Q.confirm(disputed, agency="330900", today=dt.date(2026, 10, 20)).state == "CONFIRMED"
    late = Q.answer(q, STAY, agency="310000", today=dt.date(2026, 10, 27), text="x",
                    rules=RULES, days=DAYS)  # fmt: skip
    assert late.answered_late, "after the reply date, before the lapse"


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["answer", "confirm", "dispute", "deduct", "advance"]),
        st.integers(0, 6),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), STEPS)
def test_any_sequence_of_steps_keeps_the_query_consistent(start: dt.date, steps: list) -> None:  # type: ignore[type-arg]
    """Whatever the order and timing: a final state never changes again, DEDUCTED only follows
    a dispute, a resolution day is never before the query, and a refused step changes nothing."""
    q = _raise(start)
    today = start
    for step, gap in steps:
        today = today + dt.timedelta(days=gap * 3)
        before = Q.advance(q, today)
        try:
            if step == "answer":
                q = Q.answer(q, STAY, agency="310000", today=today, text="", rules=RULES, days=DAYS)
            elif step == "confirm":
                q = Q.confirm(q, agency="330900", today=today)
            elif step == "dispute":
                q = Q.dispute(q, agency="330900", today=today)
            elif step == "deduct":
                q = Q.resolve_by_deduction(q, STAY, agency="310000", today=today,
                                           deduction_id="D", deduction_setl_id="S1")  # fmt: skip
                assert before.state == Q.QueryState.DISPUTED
            else:
                q = Q.advance(q, today)
        except Q.QueryError:
            assert before.state in Q.FINAL or step != "advance"
            continue
        if before.state in Q.FINAL:
            assert q.state == before.state, (step, before.state, q.state)
        if q.state in Q.FINAL:
            assert q.resolved_on is not None and q.resolved_on >= q.raised_on
        if q.state == Q.QueryState.ANSWERED:
            assert q.answered_on is not None and q.answered_on < q.lapses_on
