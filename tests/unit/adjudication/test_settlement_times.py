"""A settlement's time and date on the wire (``settlement_json.time_json``, and dates handed
to ``orjson`` as they are) give the text pydantic and ``isoformat`` gave: every date, and
every aware time whatever its offset (UTC, whole minutes, seconds, a zone) or fraction."""

from __future__ import annotations

import datetime as dt

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python

from services.adjudication.core.settlement_json import time_json
from tests.unit.adjudication.offsets import OFFSETS


@settings(max_examples=3000, deadline=None)
@given(when=st.datetimes(timezones=OFFSETS))
def test_a_time_is_written_as_pydantic_writes_it(when: dt.datetime) -> None:
    assert orjson.dumps(time_json(when)) == orjson.dumps(to_jsonable_python(when))


@settings(max_examples=3000, deadline=None)
@given(day=st.dates())
def test_a_date_is_written_as_its_isoformat(day: dt.date) -> None:
    assert orjson.dumps(day) == orjson.dumps(day.isoformat())


def test_a_utc_time_keeps_pydantic_s_z() -> None:
    when = dt.datetime(2026, 12, 4, 13, 0, 5, 120000, tzinfo=dt.UTC)
    assert orjson.dumps(time_json(when)) == b'"2026-12-04T13:00:05.120000Z"'
