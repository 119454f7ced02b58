"""Working days in Asia/Shanghai, from the holiday calendar (reference data).

Deadlines of the clearing rules counted in working days (协查: answered or counted as
confirmed after 10 working days, confirmed within 5) need the public holidays and the
adjusted working weekends (调休); ``contracts.calendar.HolidayYear`` is one year of them. A
date in a year the calendar does not hold is refused (``CalendarGap``), never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from contracts.calendar import HolidayYear
from services.clearing.core.errors import ClearingError


class CalendarGap(ClearingError):
    """A working-day count reached a year without a holiday calendar: add its file."""

    code = "E_CALENDAR_GAP"


class WorkingDays:
    """``is_working`` and ``add`` over the years given."""

    def __init__(self, years: Iterable[HolidayYear]) -> None:
        self.years = {y.year: y for y in years}
        self._off = {d for y in self.years.values() for d in y.holidays}
        self._on = {d for y in self.years.values() for d in y.working_weekends}

    def provisional(self, year: int) -> bool:
        y = self.years.get(year)
        return y is not None and y.provisional

    def is_working(self, day: dt.date) -> bool:
        if day.year not in self.years:
            raise CalendarGap(f"no holiday calendar for {day.year}")
        if day in self._on:
            return True
        return day.weekday() < 5 and day not in self._off

    def add(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts): a query
        raised on a Friday with ``n = 1`` is due on the next working Monday."""
        if n < 0:
            raise ValueError("n must not be negative")
        day, left = start, n
        while left:
            day += dt.timedelta(days=1)
            if self.is_working(day):
                left -= 1
        return day

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        day, n = start, 0
        while day < end:
            day += dt.timedelta(days=1)
            n += self.is_working(day)
        return n
