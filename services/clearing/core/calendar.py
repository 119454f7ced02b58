"""The clearing calendar's year-end rule (DOMAIN.md section 6, Arts. 40, 46-50): a year's
costs are cleared by the end of the next year's first quarter.

Pure: given today's China date and every (period, scope) the clearing tables know with
its status, say which earlier years still have periods that are not SETTLED and when
their deadline is. A period with positions but no status row is OPEN.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from services.clearing.core.periods import Status, period_year

YEAR_END_MONTHS = 3
"""Months of the next year within which a year's costs must be cleared (a parameter)."""


def clearing_deadline(year: int, months: int = YEAR_END_MONTHS) -> dt.date:
    """The last day on which ``year``'s costs may still be cleared (31 March of year + 1)."""
    first_after = dt.date(year + 1 + months // 12, months % 12 + 1, 1)
    return first_after - dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class YearEnd:
    """An earlier year that still has periods not SETTLED."""

    year: int
    deadline: dt.date
    unsettled: tuple[tuple[str, str, Status], ...]
    """(period, scope, status), sorted."""
    days_left: int
    """Days from today to the deadline (negative: overdue)."""

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def year_end(
    today: dt.date, statuses: Mapping[tuple[str, str], Status], months: int = YEAR_END_MONTHS
) -> list[YearEnd]:
    """Every year before ``today``'s with a period (of any scope) not yet SETTLED."""
    by_year: dict[int, list[tuple[str, str, Status]]] = {}
    for (period, scope), status in statuses.items():
        year = period_year(period)
        if year < today.year and status != "SETTLED":
            by_year.setdefault(year, []).append((period, scope, status))
    out = []
    for year in sorted(by_year):
        deadline = clearing_deadline(year, months)
        out.append(YearEnd(year, deadline, tuple(sorted(by_year[year])), (deadline - today).days))
    return out
