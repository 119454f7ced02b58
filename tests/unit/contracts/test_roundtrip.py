"""Every contract: decode(encode(m)) == m, encoding is canonical, samples validate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.common import Contract
from contracts.money import from_fen, round_half_up, to_fen
from contracts.registry import MESSAGE_TYPES, SENDER_SIGNED
from contracts.samples import CST, SHANGHAI_HOSPITAL, fee_lines, samples, sender_of
from contracts.visit import FeeLine, FeesUploaded, SettlementRequested
from events.wire.codec import canonical_bytes
from events.wire.demo_keys import demo_codec

SAMPLES = samples()
CODEC = demo_codec({sender_of(m) for m in SAMPLES.values()})


def _roundtrip(message: Contract) -> Contract:
    signed = type(message).ce_type in SENDER_SIGNED
    key, value, headers = CODEC.encode(
        message, ce_id="rt-1", sender=sender_of(message) if signed else "yidi-adjudication",
        ce_time=dt.datetime(2026, 10, 12, tzinfo=CST), sign=signed,
    )  # fmt: skip
    return CODEC.decode(key, value, headers).message


def test_every_registered_type_has_a_sample() -> None:
    assert set(MESSAGE_TYPES) <= {k.split("#")[0] for k in SAMPLES}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_roundtrips_and_is_canonical(name: str) -> None:
    message = SAMPLES[name]
    back = _roundtrip(message)
    assert back == message
    assert canonical_bytes(back) == canonical_bytes(message)
    assert canonical_bytes(
        type(message).model_validate_json(canonical_bytes(message))
    ) == canonical_bytes(message)


money = st.integers(min_value=0, max_value=10**12).map(from_fen)
qty = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("9999"), places=4)


@st.composite
def fee_line(draw: st.DrawFn, i: int = 0) -> FeeLine:
    cnt, pric = draw(qty), draw(st.integers(min_value=0, max_value=10**8).map(from_fen))
    return FeeLine(
        feedetl_sn=f"L{i}-{draw(st.integers(0, 10**6))}", med_list_codg=draw(st.from_regex(r"\A[0-9A-Z]{4,20}\Z")),
        cnt=cnt, pric=pric, det_item_fee_sumamt=round_half_up(cnt * pric),
        fee_ocur_time=dt.datetime(2026, 10, 12, tzinfo=CST) + dt.timedelta(seconds=draw(st.integers(0, 10**7))),
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(fee_line(), min_size=1, max_size=30, unique_by=lambda line: line.feedetl_sn))
def test_fees_roundtrip_any_lines(lines: list[FeeLine]) -> None:
    base = SAMPLES[FeesUploaded.ce_type]
    message = FeesUploaded.model_validate({**base.model_dump(), "feedetail": tuple(lines)})
    back = _roundtrip(message)
    assert back == message
    assert canonical_bytes(back) == canonical_bytes(message)


@settings(max_examples=80, deadline=None)
@given(total=money, psn=st.from_regex(r"\A[0-9]{10,30}\Z"), flag=st.sampled_from(["0", "1"]))
def test_settlement_request_roundtrip(total: Decimal, psn: str, flag: str) -> None:
    base = SAMPLES[SettlementRequested.ce_type]
    message = SettlementRequested.model_validate(
        {**base.model_dump(), "medfee_sumamt": total, "psn_no": psn, "acct_used_flag": flag}
    )
    assert _roundtrip(message) == message


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_conversion_is_exact(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen


def test_sub_fen_refused() -> None:
    with pytest.raises(ValueError, match="more than two decimal places"):
        to_fen(Decimal("1.001"))


def test_half_up_rounding() -> None:
    assert round_half_up(Decimal("0.005")) == Decimal("0.01")
    assert round_half_up(Decimal("2.345")) == Decimal("2.35")
    assert round_half_up(Decimal("-2.345")) == Decimal("-2.35")


def test_personal_data_not_in_repr() -> None:
    message = SAMPLES[SettlementRequested.ce_type]
    assert "330902195803120013" not in repr(message)
    assert "330902195803120013" not in repr(SAMPLES["cn.yidi.person.status.v1"])


def test_fee_lines_fixture_amounts() -> None:
    assert all(
        line.det_item_fee_sumamt == round_half_up(line.cnt * line.pric) for line in fee_lines(12)
    )
    assert SHANGHAI_HOSPITAL.startswith("H")
