"""Aware-datetime offsets for the time-text properties: +08:00 (the fast path), UTC, real
zones, every whole-minute offset and offsets with seconds (the slow paths' cases)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

OFFSETS = st.one_of(
    st.just(dt.timezone(dt.timedelta(hours=8))),
    st.just(dt.UTC),
    st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/London"), ZoneInfo("UTC")]),
    st.integers(min_value=-1439, max_value=1439).map(
        lambda m: dt.timezone(dt.timedelta(minutes=m))
    ),
    st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23)).map(
        dt.timezone
    ),
)
