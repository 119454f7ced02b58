"""Audit deductions (审核扣款) through clearing, over the in-memory unit of work: signed
deductions in, acks (or dead letters) out, the statement's deduction column, the pair's
payable and the nets. No broker, no database (the same on PostgreSQL:
``tests/integration/test_clearing_deductions.py``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.ack import Ack
from contracts.clearing import AuditDeduction, DeductionReason
from contracts.codes import AckStatus, ClearingStatus
from contracts.dlq import DlqRecord
from events.stream.types import InputRecord, Output
from events.wire import agency_signing
from events.wire.demo_keys import demo_codec
from events.wire.envelope import build_headers, parse_headers
from services.clearing.adapters.memory import MemoryClearingUnitOfWork
from services.clearing.commands import CommandHandler
from services.clearing.core import deductions as D
from services.clearing.core.statement import PairTotals, build
from services.clearing.report import load_report
from services.clearing.service_layer.messages import statement_message
from services.clearing.service_layer.periods import close_period
from tests.unit.clearing.fakes import fact, land, statement

SENDERS = ["AG310000", "AG310100", "AG330000", "AG440000"]
CODEC = demo_codec(SENDERS)
TOPIC = "yidi.clearing.v1"
OCT, NOV = "2026-10", "2026-11"
AFTER = dt.date(2027, 1, 10)
WHEN = dt.datetime(2026, 11, 18, 2, 0, tzinfo=dt.UTC)
NATIONAL = "national"


def deduction(
    setl_id: str,
    amount: str,
    *,
    agency: str = "310000",
    did: str | None = None,
    reason: DeductionReason = DeductionReason.DUPLICATE_BILLING,
) -> AuditDeduction:
    return AuditDeduction(
        participant=agency, deduction_id=did or f"DED-{setl_id}-{amount}", setl_id=setl_id,
        amount=Decimal(amount), reason=reason, issued_at=WHEN,
    )  # fmt: skip


_offset = iter(range(1, 10_000))


def record(message: AuditDeduction, *, sign: bool = True) -> InputRecord:
    sender = f"AG{message.participant}"
    ce_id = f"deduct-{message.deduction_id}-{next(_offset)}"
    key, value, headers = CODEC.encode(message, ce_id=ce_id, sender=sender, ce_time=WHEN, sign=sign)
    return InputRecord(TOPIC, 0, next(_offset), key, value, headers, 0)


def ack_of(outputs: list[Output]) -> tuple[AckStatus, str | None]:
    (out,) = outputs
    ack = CODEC.decode(out.key, out.value, out.headers, authenticate=False).message
    assert isinstance(ack, Ack) and out.topic.startswith("yidi.ack.v1.AG")
    return ack.status, None if ack.error is None else ack.error.code


@pytest.fixture
async def uow() -> MemoryClearingUnitOfWork:
    """October: S1 330000 -> 310000 fund 300.00, S2 440000 -> 310000 fund 100.00, S3 reversed
    by R3, all cleared nationally (treatment 310100, Shanghai)."""
    u = MemoryClearingUnitOfWork()
    await land(
        u, fact("S1", "300.00", offset=1), fact("S2", "100.00", payer="440000", offset=2),
        fact("S3", "50.00", offset=3), fact("R3", "-50.00", kind="reversal", offset=4, orig="S3"),
    )  # fmt: skip
    return u


async def _close(uow: MemoryClearingUnitOfWork, period: str) -> None:
    await close_period(uow, CODEC, period, NATIONAL, today=AFTER)


async def test_deductions_in_an_open_month_reduce_the_payable_on_its_statement(
    uow: MemoryClearingUnitOfWork,
) -> None:
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    assert ack_of(await handler.handle(record(deduction("S1", "80.00")))) == (
        AckStatus.ACCEPTED, None)  # fmt: skip
    assert ack_of(await handler.handle(record(deduction("S1", "20.00", agency="310100")))) == (
        AckStatus.ACCEPTED, None)  # the district's own agency is the treatment side too  # fmt: skip
    report = await load_report(uow, OCT, NATIONAL)
    assert report.deduction_total == Decimal("100.00") and not any(
        d.late for d in report.deductions
    )
    assert {(p.payer, p.deduction) for p in report.pairs} == {
        ("330000", Decimal("100.00")), ("440000", Decimal("0.00"))}  # fmt: skip
    await _close(uow, OCT)
    message = statement(uow, "STMT-2026-10-N-closed")
    pairs = {(p.payer, p.payee): (p.fund_pay_sumamt, p.deduction) for p in message.pairs}
    assert pairs == {
        ("330000", "310000"): (Decimal("300.00"), Decimal("100.00")),
        ("440000", "310000"): (Decimal("100.00"), Decimal("0.00")),
    }
    nets = {n.participant: n.net for n in message.nets}
    assert nets == {"310000": Decimal("300.00"), "330000": Decimal("-200.00"),
                    "440000": Decimal("-100.00")}  # fmt: skip
    assert sum(nets.values()) == 0
    closed = await load_report(uow, OCT, NATIONAL)
    assert closed.deduction_total == Decimal("100.00")
    assert closed.gross == Decimal("300.00"), "gross moves the payables"


async def test_a_deduction_after_close_lands_in_the_next_open_month_marked_late(
    uow: MemoryClearingUnitOfWork,
) -> None:
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    await handler.handle(record(deduction("S1", "30.00")))
    await _close(uow, OCT)
    issued = statement(uow, "STMT-2026-10-N-closed")
    await land(uow, fact("N1", "500.00", period=NOV, offset=10))
    assert ack_of(await handler.handle(record(deduction("S1", "70.00")))) == (
        AckStatus.ACCEPTED, None)  # fmt: skip
    assert statement(uow, "STMT-2026-10-N-closed") == issued, "a closed statement never changes"
    (late,) = (await load_report(uow, NOV, NATIONAL)).deductions
    assert (late.setl_id, late.amount, late.origin_period, late.late) == (
        "S1", Decimal("70.00"), OCT, True)  # fmt: skip
    await _close(uow, NOV)
    nov = statement(uow, "STMT-2026-11-N-closed")
    assert [(p.payer, p.fund_pay_sumamt, p.deduction) for p in nov.pairs] == [
        ("330000", Decimal("500.00"), Decimal("70.00"))]  # fmt: skip
    assert {n.participant: n.net for n in nov.nets} == {
        "310000": Decimal("430.00"), "330000": Decimal("-430.00")}  # fmt: skip
    assert (await load_report(uow, OCT, NATIONAL)).correction_due == [], "no spurious correction"


async def test_a_late_deduction_larger_than_the_month_turns_the_pair_round(
    uow: MemoryClearingUnitOfWork,
) -> None:
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    await _close(uow, OCT)
    await land(uow, fact("N1", "40.00", period=NOV, offset=10))
    assert ack_of(await handler.handle(record(deduction("S1", "100.00"))))[0] == AckStatus.ACCEPTED
    await _close(uow, NOV)
    nov = statement(uow, "STMT-2026-11-N-closed")
    assert {(p.payer, p.payee): (p.fund_pay_sumamt, p.deduction) for p in nov.pairs} == {
        ("310000", "330000"): (Decimal("60.00"), Decimal("0.00")),  # owed back
        ("330000", "310000"): (Decimal("40.00"), Decimal("40.00")),  # all of the month deducted
    }  # fmt: skip
    assert {n.participant: n.net for n in nov.nets} == {
        "310000": Decimal("-60.00"), "330000": Decimal("60.00")}  # fmt: skip


async def test_a_reversal_after_a_deduction_returns_the_payable_only(
    uow: MemoryClearingUnitOfWork,
) -> None:
    """S1 (300.00) was deducted 100.00 in October, so the home side paid 200.00; reversed in
    November, the treatment side returns 200.00: the deduction is given back with it."""
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    await handler.handle(record(deduction("S1", "100.00", did="D1")))
    await _close(uow, OCT)
    reversal = fact("R1", "-300.00", kind="reversal", period=NOV, offset=20, orig="S1")
    await land(uow, reversal)
    await land(uow, reversal)  # read again: given back once
    assert sorted(uow.state.deductions) == [("310000", "D1"), ("310000", "D1~R")]
    back, _meta = uow.state.deductions[("310000", "D1~R")]
    assert (back.kind, back.period, back.payer, back.payee, back.amount_fen) == (
        "return", NOV, "310000", "330000", 10_000)  # fmt: skip
    await _close(uow, NOV)
    nov = statement(uow, "STMT-2026-11-N-closed")
    assert {(p.payer, p.payee): (p.fund_pay_sumamt, p.deduction) for p in nov.pairs} == {
        ("310000", "330000"): (Decimal("300.00"), Decimal("100.00")),
        ("330000", "310000"): (Decimal("0.00"), Decimal("0.00")),  # the reversal, counted
    }  # fmt: skip
    assert {n.participant: n.net for n in nov.nets} == {
        "310000": Decimal("-200.00"), "330000": Decimal("200.00")}  # fmt: skip
    assert ack_of(await handler.handle(record(deduction("S1", "1.00", did="D9")))) == (
        AckStatus.REJECTED, "E_DEDUCTION_REVERSED")  # fmt: skip


async def test_refusals_are_rejected_acks_with_their_code_and_change_nothing(
    uow: MemoryClearingUnitOfWork,
) -> None:
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    assert ack_of(await handler.handle(record(deduction("S1", "200.00", did="D1")))) == (
        AckStatus.ACCEPTED, None)  # fmt: skip
    cases = [
        (deduction("S1", "100.01"), "E_DEDUCTION_AMOUNT"),  # 100.00 left of 300.00
        (deduction("S9", "1.00"), "E_DEDUCTION_UNKNOWN_SETTLEMENT"),
        (deduction("R3", "1.00"), "E_DEDUCTION_UNKNOWN_SETTLEMENT"),  # a reversal's own id
        (deduction("S3", "1.00"), "E_DEDUCTION_REVERSED"),
        (deduction("S1", "1.00", agency="330000"), "E_DEDUCTION_AGENCY"),  # the home side
        (deduction("S1", "1.00", agency="440000"), "E_DEDUCTION_AGENCY"),  # a bystander
        (deduction("S1", "5.00", did="D1"), "E_DEDUCTION_ID_REUSED"),
    ]
    for message, code in cases:
        assert ack_of(await handler.handle(record(message))) == (AckStatus.REJECTED, code), code
    assert list(uow.state.deductions) == [("310000", "D1")]
    assert ack_of(await handler.handle(record(deduction("S1", "200.00", did="D1")))) == (
        AckStatus.DUPLICATE, None), "the same deduction again is applied once"  # fmt: skip
    assert ack_of(await handler.handle(record(deduction("S1", "100.00")))) == (
        AckStatus.ACCEPTED, None), "exactly what is left"  # fmt: skip
    assert await load_report(uow, OCT, NATIONAL) is not None
    assert sum(d.amount_fen for d, _m in uow.state.deductions.values()) == 30_000


async def test_a_malformed_or_unsigned_deduction_goes_to_the_dlq_with_its_reason(
    uow: MemoryClearingUnitOfWork,
) -> None:
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    good = record(deduction("S1", "10.00"))
    bad_body = good.value.replace(b'"amount":"10.00"', b'"amount":"-10.00"')
    key, _v, headers = CODEC.encode(deduction("S1", "10.00"), ce_id="deduct-bad",
                                    sender="AG310000", ce_time=WHEN)  # fmt: skip
    # the bad body signed by its agency (Ed25519): an authentic sender gets an error ack too
    env = parse_headers(headers)
    sk = CODEC.signing_keys.current("AG310000", WHEN)
    signed = env._replace(sig=agency_signing.sign(sk, env, bad_body))
    bad = InputRecord(TOPIC, 0, 900, key, bad_body, build_headers(signed), 0)
    dead, ack = await handler.handle(bad)
    assert dead.topic == "yidi.dlq.v1"
    reason = DlqRecord.model_validate_json(dead.value)
    assert reason.reason.code == "E_AMOUNT" and reason.reason.field == "amount"
    assert ack_of([ack]) == (AckStatus.REJECTED, "E_AMOUNT")
    (unsigned,) = await handler.handle(record(deduction("S1", "10.00"), sign=False))
    assert unsigned.topic == "yidi.dlq.v1"
    assert DlqRecord.model_validate_json(unsigned.value).reason.code.startswith("E_AUTH")
    assert uow.state.deductions == {}, "nothing applied"


def test_deduction_rules_in_order() -> None:
    s = D.ClearedSettlement(
        "S", OCT, NATIONAL, "330100", "310100", "330000", "310000", 10_000, False
    )
    args = dict(deduction_id="D", reason="other", body_sha256="h", setl_id="S", statuses={})
    with pytest.raises(D.UnknownSettlement):
        D.accept(participant="310000", amount_fen=1, settlement=None, deducted_fen=0, **args)  # type: ignore[arg-type]
    with pytest.raises(D.NotTreatmentSide):
        D.accept(participant="330100", amount_fen=1, settlement=s, deducted_fen=0, **args)  # type: ignore[arg-type]
    with pytest.raises(
        D.AmountTooLarge, match=r"2\.01 exceeds what is left of S's fund payment: 2\.00"
    ):
        D.accept(participant="310000", amount_fen=201, settlement=s, deducted_fen=9_800, **args)  # type: ignore[arg-type]
    d = D.accept(participant="310100", amount_fen=200, settlement=s, deducted_fen=9_800,
                 **{**args, "statuses": {OCT: "CLOSED", NOV: "CLOSING"}})  # type: ignore[arg-type]  # fmt: skip
    assert (d.period, d.origin_period, d.late) == ("2026-12", OCT, True)


PAIRS = [("330000", "310000"), ("310000", "330000"), ("440000", "310000"), ("330000", "440000")]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(PAIRS), st.integers(-50_000, 200_000), st.integers(0, 100_000)),
        min_size=1,
        max_size=8,
    )
)
def test_statements_with_deductions_conserve_and_validate(
    flows: list[tuple[tuple[str, str], int, int]],
) -> None:
    """Over arbitrary months with deductions (even larger than a pair's month): the nets sum to
    zero and equal received - paid of the payables, no pair's deduction exceeds its amount, and
    the published statement (whose validator recomputes the nets) accepts it."""
    totals: dict[tuple[str, str, str, str], PairTotals] = {}
    deductions: dict[tuple[str, str], int] = {}
    for i, ((payer, payee), fund, ded) in enumerate(flows):
        totals[(f"{payer[:2]}01{i:02d}", payee, payer, payee)] = PairTotals(1, 0, 0, fund, fund)
        deductions[(payer, payee)] = deductions.get((payer, payee), 0) + ded
    draft = build(NOV, NATIONAL, totals, {}, deductions)
    assert sum(draft.nets.values()) == 0
    for p in draft.pairs:
        assert 0 <= p.deduction_fen <= p.fund_fen
    signed: dict[str, int] = {}
    for (_h, _t, payer, payee), t in totals.items():
        signed[payee] = signed.get(payee, 0) + t.fund_fen
        signed[payer] = signed.get(payer, 0) - t.fund_fen
    for (payer, payee), ded in deductions.items():
        signed[payee] = signed.get(payee, 0) - ded
        signed[payer] = signed.get(payer, 0) + ded
    assert {k: v for k, v in draft.nets.items() if v} == {k: v for k, v in signed.items() if v}
    statement_message(draft, ClearingStatus.APPLIED, WHEN)  # the contract's validator agrees
