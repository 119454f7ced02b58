"""``AwareDatetime``'s native bounds (issue 21) decide and refuse as ``plausible`` did.

The contracts' instants used ``pydantic.AwareDatetime`` followed by ``plausible`` (a Python
call per instant); the bounds are now pydantic-core's. Here the old schema
(``PLAUSIBLE_DATETIME``) and the new one read the same JSON values, inside a contract, and
must accept the same ones with the same value and refuse the others with the same typed
refusal (code, field, message) once the codec has translated it, whichever offset, edge
year, text form or unix timestamp.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import orjson
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator

from contracts.common import AwareDatetime, Contract, plausible
from events.wire.codec import _translate


class New(Contract):
    times: tuple[AwareDatetime, ...]


class Old(Contract):
    times: tuple[Annotated[pydantic.AwareDatetime, AfterValidator(plausible)], ...]


def _read(model: type[Contract], body: bytes) -> object:
    try:
        return model.model_validate_json(body).times  # type: ignore[attr-defined]
    except pydantic.ValidationError as exc:
        err = _translate(exc)
        return (err.code, err.field, err.message)


def _same(value: object) -> None:
    body = orjson.dumps({"times": ["2026-10-12T08:06:00+08:00", value]})
    assert _read(New, body) == _read(Old, body)


YEARS = st.sampled_from([0, 1, 1899, 1900, 1901, 2026, 2198, 2199, 2200, 9999])
OFFSET = st.one_of(
    st.just(""),
    st.just("Z"),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
        lambda m: f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
    ),
)


@settings(max_examples=600, deadline=None)
@given(
    year=YEARS,
    month=st.integers(min_value=1, max_value=12),
    day=st.sampled_from([1, 31]),
    hms=st.sampled_from(["00:00:00", "07:59:59", "08:00:00", "23:59:59", "12:00:00.5"]),
    offset=OFFSET,
)
def test_texts_decide_and_refuse_as_plausible(
    year: int, month: int, day: int, hms: str, offset: str
) -> None:
    _same(f"{year:04d}-{month:02d}-{day:02d}T{hms}{offset}")


@settings(max_examples=300, deadline=None)
@given(
    ts=st.one_of(
        st.integers(min_value=-(10**13), max_value=10**13),
        st.floats(min_value=-1e13, max_value=1e13),
    )
)
def test_unix_timestamps_decide_as_plausible(ts: float) -> None:
    _same(ts)


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2200-01-01T00:00:00Z",
        "1899-12-31T23:59:59Z", "1900-01-01T07:59:59+08:00", "1800-01-01T00:00:00",
        "0000-01-01T00:00:00Z", "2026-10-12", "now", "", None, 1e20, -3_000_000_000, True,
    ],
)  # fmt: skip
def test_edges(value: object) -> None:
    _same(value)


def test_a_range_refusal_is_the_rule_refusal() -> None:
    """What a sender reads: ``E_RULE`` on the field, ``plausible``'s text (not a bound)."""
    body = orjson.dumps({"times": ["2200-01-01T00:00:00Z"]})
    assert _read(New, body) == (
        "E_RULE",
        "times.0",
        "time outside the plausible range 1900-01-01 .. 2199-12-31 (UTC)",
    )
    assert _read(New, orjson.dumps({"times": ["2199-12-31T23:59:59Z"]})) == (
        dt.datetime(2199, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
    )
