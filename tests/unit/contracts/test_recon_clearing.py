"""Reconciliation and clearing contracts: conservation on statements, keys, identity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.clearing import ClearingConfirmed, ClearingStatement, NetPosition, StatementPair
from contracts.common import Contract
from contracts.money import from_fen
from contracts.recon import DetailReconRequested, ReconResult, TotalsReconRequested
from contracts.registry import MESSAGE_TYPES, SENDER_SIGNED
from contracts.samples import CST, samples, sender_of
from events.wire.codec import canonical_bytes
from events.wire.demo_keys import demo_codec
from events.wire.errors import DecodeError

SAMPLES = samples()
CODEC = demo_codec({*(sender_of(m) for m in SAMPLES.values()), "AG320000"})
STATEMENT = SAMPLES[ClearingStatement.ce_type]
assert isinstance(STATEMENT, ClearingStatement)


def _encode(message: Contract, sender: str) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    signed = type(message).ce_type in SENDER_SIGNED
    return CODEC.encode(
        message, ce_id="rc-1", sender=sender if signed else "yidi-clearing",
        ce_time=dt.datetime(2026, 11, 2, tzinfo=CST), sign=signed,
    )  # fmt: skip


def _decode_error(rec: tuple[bytes | None, bytes, list[tuple[str, bytes]]]) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        CODEC.decode(*rec)
    return info.value


regions = st.sampled_from(["310000", "320000", "330000", "340000", "650000"])
pair = st.builds(
    lambda payer, payee, fen, cut, n: (payer, payee, from_fen(fen), from_fen(min(cut, fen)), n),
    regions, regions, st.integers(0, 10**13), st.integers(0, 10**11), st.integers(0, 10**6),
)  # fmt: skip


def _nets(pairs: list[StatementPair]) -> tuple[NetPosition, ...]:
    net: dict[str, Decimal] = {}
    for p in pairs:
        net[p.payee] = net.get(p.payee, Decimal(0)) + p.fund_pay_sumamt - p.deduction
        net[p.payer] = net.get(p.payer, Decimal(0)) - p.fund_pay_sumamt + p.deduction
    return tuple(
        NetPosition(participant=r, net=v.quantize(Decimal("0.01"))) for r, v in sorted(net.items())
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(pair, max_size=25).map(lambda ps: [p for p in ps if p[0] != p[1]]))
def test_any_consistent_statement_roundtrips_and_conserves(raw: list[tuple]) -> None:  # type: ignore[type-arg]
    pairs = [
        StatementPair(payer=a, payee=b, fund_pay_sumamt=amt, deduction=cut, setl_cnt=n)
        for a, b, amt, cut, n in raw
    ]
    message = STATEMENT.model_copy(update={"pairs": tuple(pairs), "nets": _nets(pairs)})
    message = ClearingStatement.model_validate(message.model_dump())
    assert sum((n.net for n in message.nets), start=Decimal(0)) == 0
    back = CODEC.decode(*_encode(message, "yidi-clearing")).message
    assert back == message
    assert canonical_bytes(back) == canonical_bytes(message)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 10**6), st.sampled_from([0, 1, 2]))
def test_a_net_that_does_not_follow_from_the_pairs_is_refused(fen: int, which: int) -> None:
    nets = list(STATEMENT.nets)
    nets[which] = NetPosition(
        participant=nets[which].participant, net=nets[which].net + from_fen(fen)
    )
    with pytest.raises(ValidationError, match="net"):
        ClearingStatement.model_validate({**STATEMENT.model_dump(), "nets": tuple(nets)})


@pytest.mark.parametrize(
    ("ce_type", "key"),
    [
        (TotalsReconRequested.ce_type, b"H31011800001"),
        (DetailReconRequested.ce_type, b"H31011800001"),
        (ReconResult.ce_type, b"H31011800001"),
        (ClearingStatement.ce_type, b"000000"),
        (ClearingConfirmed.ce_type, b"330000"),
    ],
)
def test_record_key_is_institution_or_participant(ce_type: str, key: bytes) -> None:
    message = SAMPLES[ce_type]
    rec = _encode(message, sender_of(message))
    assert rec[0] == key
    assert CODEC.decode(*rec).message == message
    err = _decode_error((b"other", rec[1], rec[2]))
    assert err.code == "E_KEY"


def test_an_agency_cannot_confirm_for_another_region() -> None:
    message = SAMPLES[ClearingConfirmed.ce_type]
    err = _decode_error(_encode(message, "AG320000"))
    assert (err.code, err.field) == ("E_IDENTITY", "participant")


def test_a_hospital_cannot_reconcile_for_another() -> None:
    message = SAMPLES[TotalsReconRequested.ce_type]
    err = _decode_error(_encode(message, "H31010400001"))
    assert (err.code, err.field) == ("E_IDENTITY", "fixmedins_code")


def test_recon_rows_must_be_unique() -> None:
    message = SAMPLES[DetailReconRequested.ce_type]
    assert isinstance(message, DetailReconRequested)
    doubled = {**message.model_dump(), "rows": (message.rows[0], message.rows[0])}
    with pytest.raises(ValidationError, match="setl_id appears twice"):
        DetailReconRequested.model_validate(doubled)


def test_balanced_verdict_cannot_hide_unbalanced_rows() -> None:
    message = SAMPLES[ReconResult.ce_type]
    with pytest.raises(ValidationError, match="balanced although"):
        ReconResult.model_validate({**message.model_dump(), "stmt_rslt": "0"})


@settings(max_examples=50, deadline=None)
@given(
    ce_type=st.sampled_from(sorted(MESSAGE_TYPES)),
    ce_id=st.from_regex(r"\A[0-9A-Za-z\-]{1,64}\Z"),
    seconds=st.integers(0, 10**8),
)
def test_every_type_roundtrips_under_any_envelope(ce_type: str, ce_id: str, seconds: int) -> None:
    message = SAMPLES[ce_type]
    signed = ce_type in SENDER_SIGNED
    when = dt.datetime(2026, 1, 1, tzinfo=CST) + dt.timedelta(seconds=seconds)
    rec = CODEC.encode(
        message, ce_id=ce_id, sender=sender_of(message) if signed else "yidi-adjudication",
        ce_time=when, sign=signed,
    )  # fmt: skip
    decoded = CODEC.decode(*rec)
    assert decoded.message == message
    assert decoded.envelope.ce_id == ce_id
    assert rec[1] == canonical_bytes(message)
