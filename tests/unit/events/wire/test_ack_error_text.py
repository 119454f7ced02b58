"""An ack's error given as ``(code, message)`` (``ack_value``, issue 21) writes the bytes
of the ``AckError`` built from the same two strings, and refuses what building it refuses
(the same ``ValidationError``): any code and message, at and past each bound."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus
from events.wire.ack_json import ack_value
from events.wire.codec import canonical_bytes

WHEN = dt.datetime(2026, 10, 12, 8, 0, 23, tzinfo=dt.timezone(dt.timedelta(hours=8)))
CODE_CHARS = st.sampled_from("AZaz09._-") | st.characters(codec="utf-8")
CODES = st.one_of(
    st.text(CODE_CHARS, min_size=0, max_size=52),
    st.sampled_from(["", "E_X", "E" * 50, "E" * 51, "E_X\n", " E_X", "E_X ", "É_X"]),
)
MESSAGES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["", 'é\n"', "m" * 2000, "m" * 2001, "é" * 2000]),
)


def _fields(error: object) -> dict[str, object]:
    return {
        "ack_for": "c-1",
        "ack_for_type": "cn.yidi.visit.fee_uploaded.v1",
        "msgid": "H33010200001202610120800232156",
        "sender": "H33010200001",
        "status": AckStatus.REJECTED,
        "acked_at": WHEN,
        "error": error,
    }


@settings(max_examples=1500, deadline=None)
@given(code=CODES, message=MESSAGES)
def test_an_error_pair_writes_or_refuses_as_its_model(code: str, message: str) -> None:
    try:
        model = AckError(code=code, message=message)
    except ValidationError as refused:
        with pytest.raises(ValidationError) as fast:
            ack_value(**_fields((code, message)))  # type: ignore[arg-type]
        assert fast.value.errors() == refused.errors()
        return
    expected = canonical_bytes(Ack(**_fields(model)))  # type: ignore[arg-type]
    assert ack_value(**_fields((code, message))) == expected  # type: ignore[arg-type]
    assert ack_value(**_fields(model)) == expected  # type: ignore[arg-type]
