"""The working-day calendar (Asia/Shanghai): reference data for deadlines counted in working
days (协查 answers and confirmations, DOMAIN.md section 6).

One file per year, ``deploy/reference/calendar/<year>.json``: the public holidays (days
off that fall on a weekday or weekend) and the adjusted working days (调休: a Saturday or
Sunday worked in exchange). A weekday is a working day unless listed as a holiday; a
weekend day is not, unless listed as a working day. ``provisional`` marks a year whose
arrangement has not been published yet: its file holds only the statutory days and must be
replaced when the State Council publishes the year's notice.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator


class HolidayYear(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    year: int = Field(ge=2000, le=2199)
    source: str = Field(min_length=1, max_length=400, alias="_source")
    provisional: bool = False
    holidays: tuple[dt.date, ...]
    working_weekends: tuple[dt.date, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> HolidayYear:
        for d in (*self.holidays, *self.working_weekends):
            if d.year != self.year:
                raise ValueError(f"{d} is not in {self.year}")
        if len(set(self.holidays)) != len(self.holidays):
            raise ValueError("a holiday is listed twice")
        if set(self.holidays) & set(self.working_weekends):
            raise ValueError("a day is both a holiday and a working day")
        for d in self.working_weekends:
            if d.weekday() < 5:
                raise ValueError(f"working_weekends lists {d}, a weekday")
        return self
