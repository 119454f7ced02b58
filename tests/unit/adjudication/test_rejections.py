"""Typed rejections: each refusal has a stable code, changes no state, and carries
no personal data in its message."""

from __future__ import annotations

import datetime as dt

import pytest

from services.adjudication.core import (
    ALL_REJECTIONS,
    PersonState,
    cancel_visit,
    register_visit,
    reverse,
    settle,
    upload_fees,
    withdraw_fees,
)
from services.adjudication.core import errors as e
from services.adjudication.core.adjudicator import SHANGHAI
from services.adjudication.core.tables import ReferenceData
from services.testing.builders import filing, line, person, request, visit
from tests.unit.adjudication.test_cases import REFERRAL_SH, SH3, URUMQI, ref, run

__all__ = ["ref"]
T = dt.datetime(2026, 3, 6, tzinfo=SHANGHAI)
SH2 = "H31010400002"  # Shanghai secondary: not networked for chronic outpatient
HARBIN = "H23010200001"  # networked for inpatient only


def test_codes_are_unique_and_stable() -> None:
    codes = [cls.code for cls in ALL_REJECTIONS]
    assert len(codes) == len(set(codes))
    assert (
        e.NoValidFiling.code == "E_NO_VALID_FILING"
        and e.FeeTotalMismatch.code == "E_FEE_TOTAL_MISMATCH"
    )


def test_zhoushan_unfiled_non_emergency_is_rejected(ref: ReferenceData) -> None:
    with pytest.raises(e.NoValidFiling):
        run(ref, person(), SH3, "310104", "21", [line("1", "330100001", "100")])


def test_wujiang_outside_the_zone_without_filing_is_rejected(ref: ReferenceData) -> None:
    with pytest.raises(e.NoValidFiling):
        run(ref, person(home="320509"), SH3, "310104", "21", [line("1", "330100001", "100")])


def test_expired_filing_does_not_count(ref: ReferenceData) -> None:
    old = filing("referral", "310000", begin=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30))
    with pytest.raises(e.NoValidFiling):
        run(ref, person(), SH3, "310104", "21", [line("1", "330100001", "100")], filings=(old,))


def test_not_networked_for_the_category(ref: ReferenceData) -> None:
    lt = filing("long_term", "310000")
    with pytest.raises(e.InstitutionNotNetworked):
        run(
            ref,
            person(),
            SH2,
            "310104",
            "14",
            [line("1", "XA10BAA", "1")],
            filings=(lt,),
            diseases=("I10",),
        )
    with pytest.raises(e.InstitutionNotNetworked):
        run(ref, person(), HARBIN, "230102", "13", [line("1", "110200005", "40")])


def test_suspended_and_not_insured(ref: ReferenceData) -> None:
    with pytest.raises(e.InsuranceSuspended):
        run(ref, person(status="suspended"), SH3, "310104", "24", [line("1", "330100001", "1")])
    s = upload_fees(
        register_visit(PersonState(), visit("M1", SH3, "310104", "24", insutype="310")),
        "M1",
        [line("1", "330100001", "1")],
    )
    with pytest.raises(e.NotInsured) as info:
        settle(s, request("M1", SH3, "X", "1"), person(), ref)
    assert "000000000000000000" not in str(info.value)


def test_unknown_item_per_catalog_policy(ref: ReferenceData) -> None:
    # Shanghai's catalog settles unknown codes as fully self-paid; Xinjiang's rejects them
    _, s = run(ref, person(), SH3, "310104", "24", [line("1", "NOPE", "100")])
    assert (s.breakdown.fulamt_ownpay_amt, s.breakdown.fund_pay_sumamt) == (10000, 0)
    with pytest.raises(e.UnknownItem):
        run(ref, person(home="650000"), URUMQI, "650102", "21", [line("1", "NOPE", "100")])


def test_fee_total_mismatch_and_visit_lifecycle(ref: ReferenceData) -> None:
    s = upload_fees(
        register_visit(PersonState(), visit("M1", SH3, "310104", "24")),
        "M1",
        [line("1", "330100001", "100")],
    )
    with pytest.raises(e.FeeTotalMismatch):
        settle(s, request("M1", SH3, "X", "99.99"), person(), ref)
    with pytest.raises(e.VisitUnknown):
        settle(s, request("M2", SH3, "X", "100"), person(), ref)
    with pytest.raises(e.VisitExists):
        register_visit(s, visit("M1", SH3, "310104", "11"))
    with pytest.raises(e.FeeLineConflict):
        upload_fees(s, "M1", [line("1", "330100001", "101")])
    with pytest.raises(e.FeeLineConflict):
        withdraw_fees(s, "M1", ["9"])
    assert withdraw_fees(s, "M1", ["1"]).visits["M1"].lines == ()
    cancelled = cancel_visit(s, "M1")
    with pytest.raises(e.VisitClosed):
        upload_fees(cancelled, "M1", [line("2", "330100001", "1")])


def test_duplicate_settlement_and_double_reversal(ref: ReferenceData) -> None:
    st, s = run(
        ref, person(), SH3, "310104", "21", [line("1", "330100001", "100")], filings=(REFERRAL_SH,)
    )
    with pytest.raises(e.AlreadySettled):
        settle(st, request("M1", SH3, "HS1", "100"), person(), ref)
    with pytest.raises(e.VisitClosed):
        settle(st, request("M1", SH3, "HS9", "100"), person(), ref)
    with pytest.raises(e.VisitClosed):
        cancel_visit(st, "M1")
    back, _ = reverse(st, s.setl_id, T)
    with pytest.raises(e.AlreadyReversed):
        reverse(back, s.setl_id, T)
    with pytest.raises(e.SettlementUnknown):
        reverse(back, "S000", T)
