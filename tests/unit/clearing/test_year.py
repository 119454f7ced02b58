"""The clearing year's turn, pure: January's prepayment re-set and the year-end deadline.

Hand-computed (DOMAIN.md section 6): size = 2 x the monthly average of the flow's fund
payments in last year's October, November and December, half-up to the fen; paid by the
end of February; a year's costs cleared by 31 March of the next year.
"""

from __future__ import annotations

import datetime as dt

from services.clearing.core.calendar import clearing_deadline, year_end
from services.clearing.core.prepayment import (
    YearlyPrepayment,
    january_reset,
    q4_periods,
    reset_due,
)


def test_q4_and_due_dates() -> None:
    assert q4_periods(2027) == ("2026-10", "2026-11", "2026-12")
    assert reset_due(2027) == dt.date(2027, 2, 28)
    assert reset_due(2028) == dt.date(2028, 2, 29)  # a leap year


def test_january_reset_sizes_every_flow_from_last_q4() -> None:
    """330000 -> 310000: 100.00 + 200.00 + 300.01 = 600.01 yuan; x 2 / 3 = 400.006666...
    -> 400.01 (half-up). 430000 -> 310000: only December, 90.00: 2 x 90.00 / 3 = 60.00
    (months without traffic count as zero). 650000 -> 330000 held a 2026 prepayment but had
    no Q4 traffic: re-set to 0 (returned). A September position is not Q4."""
    q4 = {
        ("330000", "310000"): {"2026-10": 10_000, "2026-11": 20_000, "2026-12": 30_001},
        ("430000", "310000"): {"2026-12": 9_000, "2026-09": 1_000_000},
    }
    plan = january_reset(2027, q4, previous=[("650000", "330000"), ("330000", "310000")])
    assert plan == [
        YearlyPrepayment(2027, "330000", "310000", 40_001, (10_000, 20_000, 30_001)),
        YearlyPrepayment(2027, "430000", "310000", 6_000, (0, 0, 9_000)),
        YearlyPrepayment(2027, "650000", "330000", 0, (0, 0, 0)),
    ]


def test_year_end_lists_earlier_years_not_settled_with_the_deadline() -> None:
    """On 5 January 2027: December 2026 is still OPEN, November CLOSED, October SETTLED:
    2026 has two periods left, deadline 31 March 2027, 85 days away. 2027's own January is
    not an earlier year. On 1 April 2027 the same state is overdue."""
    statuses = {
        ("2026-10", "national"): "SETTLED",
        ("2026-11", "national"): "CLOSED",
        ("2026-12", "national"): "OPEN",
        ("2026-12", "province:310000"): "CONFIRMED",
        ("2027-01", "national"): "OPEN",
    }
    (y,) = year_end(dt.date(2027, 1, 5), statuses)  # type: ignore[arg-type]
    assert (y.year, y.deadline, y.days_left, y.overdue) == (2026, dt.date(2027, 3, 31), 85, False)
    assert y.unsettled == (
        ("2026-11", "national", "CLOSED"),
        ("2026-12", "national", "OPEN"),
        ("2026-12", "province:310000", "CONFIRMED"),
    )
    (late,) = year_end(dt.date(2027, 4, 1), statuses)  # type: ignore[arg-type]
    assert late.overdue and late.days_left == -1
    settled = {k: "SETTLED" for k in statuses if k[0] < "2027"}
    assert year_end(dt.date(2027, 1, 5), settled) == []  # type: ignore[arg-type]


def test_clearing_deadline_is_the_end_of_the_next_first_quarter() -> None:
    assert clearing_deadline(2026) == dt.date(2027, 3, 31)
    assert clearing_deadline(2026, months=6) == dt.date(2027, 6, 30)
