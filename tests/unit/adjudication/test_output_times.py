"""The outputs' two texts of an input's time (``handler.times``): the ack body's is
pydantic's JSON text, the ``ce_time`` header's is ``isoformat``, whatever the instant, its
offset (whole minutes or not, UTC, a zone) or its fraction, though the +08:00 inputs take
one text for both."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python

from services.adjudication.handler import times
from tests.unit.adjudication.offsets import OFFSETS


@settings(max_examples=3000, deadline=None)
@given(when=st.datetimes(timezones=OFFSETS))
def test_both_texts_are_the_ones_each_writer_gives(when: dt.datetime) -> None:
    instant, body_text, header_text = times(when)
    assert instant is when
    assert body_text == to_jsonable_python(when)
    assert header_text == when.isoformat()


def test_the_common_inputs_take_the_shortcut_and_utc_does_not() -> None:
    cst = dt.datetime(2026, 12, 4, 21, 0, 5, 120000, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert times(cst)[1:] == ("2026-12-04T21:00:05.120000+08:00",) * 2
    utc = dt.datetime(2026, 12, 4, 13, 0, 5, tzinfo=dt.UTC)
    assert times(utc)[1:] == ("2026-12-04T13:00:05Z", "2026-12-04T13:00:05+00:00")
