"""Hand-computed cases for the layers and the lifecycle: large amount above the
cap, catalog split, reversal, accumulators across regions, assistance, rounding."""

from __future__ import annotations

import datetime as dt

import pytest

from services.adjudication.core import (
    Accumulators,
    PersonState,
    pre_settle,
    record_filing,
    register_visit,
    reverse,
    settle,
    upload_fees,
)
from services.adjudication.core.adjudicator import SHANGHAI, business_date
from services.adjudication.core.errors import VisitClosed
from services.adjudication.core.tables import ReferenceData
from services.testing.builders import filing, line, person, request, visit
from tests.unit.adjudication.test_cases import (
    CHANGSHA,
    REFERRAL_SH,
    SH3,
    SH_PHARMACY,
    URUMQI,
    ZS3,
    Y,
    ref,
    run,
)

__all__ = ["ref"]


def test_15_employee_cap_mid_bill_then_large_amount(ref: ReferenceData) -> None:
    # employee local Zhoushan level 3 inpatient: deductible 900, 80 %, cap 400,000, 390,000 used.
    # 50,000: eligible 49,100 x 80% = 39,280 > 10,000 left -> hifp 10,000;
    # cost inside the cap 10,000 / 0.8 = 12,500; above 36,600 x 85% = 31,110 large amount.
    emp = person(insutype="310", psn_type="11")
    state = PersonState(years={2026: Accumulators({"cap:310:inpatient": Y("390000")})})
    st, s = run(ref, emp, ZS3, "330902", "21", [line("1", "330100001", "50000")], state=state)
    b = s.breakdown
    assert (b.hifp_pay, b.hifob_pay, b.psn_part_amt) == (Y("10000"), Y("31110"), Y("8890"))
    assert st.accumulators(2026).get("cap:310:inpatient") == Y("400000")
    assert {d.fund_pay_type for d in s.details} == {"310100", "330100"}


def test_16_class_b_share_and_price_limit_on_one_bill(ref: ReferenceData) -> None:
    # Shanghai catalog: CT 210300001 class B 10 %, limit 300. 2 x 400 = 800:
    # over limit (400-300) x 2 = 200; rest 600; self-pay-first 10% = 60; in scope 540.
    # + consultation 30 (A, at limit) -> in scope 570; + supplement 100 (C) -> own pay 100.
    # medfee 930. Resident outpatient level 3, long term: (570 - 300) x 40% = 108.
    lines = [
        line("1", "210300001", "400", "2"),
        line("2", "110200001", "30"),
        line("3", "XV99ZZZ", "100"),
    ]
    _, s = run(ref, person(), SH3, "310104", "11", lines, filings=(filing("long_term", "310000"),))
    b = s.breakdown
    assert (b.overlmt_selfpay, b.preselfpay_amt, b.fulamt_ownpay_amt, b.inscp_scp_amt) == (
        Y("200"),
        Y("60"),
        Y("100"),
        Y("570"),
    )
    assert (b.medfee_sumamt, b.hifp_pay) == (Y("930"), Y("108"))


def test_17_reversal_then_resettlement(ref: ReferenceData) -> None:
    # settle 20,000 (hifp 10,450), reverse: counters back to empty, visit open again;
    # re-settle under a new hospital id: the same amounts, a different setl_id.
    st, s = run(
        ref,
        person(),
        SH3,
        "310104",
        "21",
        [line("1", "330100001", "20000")],
        filings=(REFERRAL_SH,),
    )
    back, rev = reverse(st, s.setl_id, dt.datetime(2026, 3, 6, 9, tzinfo=SHANGHAI))
    assert back.years == {} and back.account_spent_fen == 0
    assert back.visits["M1"].status == "open" and back.visits["M1"].pending_total() == Y("20000")
    assert rev.orig_setl_id == s.setl_id and rev.original == s
    again, s2 = settle(back, request("M1", SH3, "HS1-B", "20000"), person(), ref)
    assert s2.breakdown == s.breakdown and s2.setl_id != s.setl_id
    assert again.years == st.years


def test_18_second_visit_in_another_region_continues_the_year(ref: ReferenceData) -> None:
    # Shanghai 50,000: 49,000 x 55% = 26,950; burden 23,050 (< 25,000): CI 0.
    # Changsha (referral) 10,000: 9,000 x 55% = 4,950; burden 5,050; year 28,100:
    # CI (28,100 - 25,000) x 60% = 1,860.
    who = person()
    filings = (REFERRAL_SH, filing("referral", "430100"))
    st, s1 = run(ref, who, SH3, "310104", "21", [line("1", "330100001", "50000")], filings=filings)
    assert (s1.breakdown.hifp_pay, s1.breakdown.hifmi_pay) == (Y("26950"), 0)
    st2, s2 = run(
        ref,
        who,
        CHANGSHA,
        "430102",
        "21",
        [line("1", "330100001", "10000")],
        state=st,
        mdtrt_id="M2",
        setl="CS1",
    )
    assert (s2.breakdown.hifp_pay, s2.breakdown.hifmi_pay) == (Y("4950"), Y("1860"))
    assert st2.accumulators(2026).get("ci:burden") == Y("28100")


def test_19_medical_assistance_after_insurance(ref: ReferenceData) -> None:
    # poor + eligible: 20,000 -> hifp 10,450; burden 9,550 (< 12,500): CI 0;
    # assistance 70% x 9,550 = 6,685; person 2,865.
    _, s = run(
        ref,
        person(poor=True, assistance=True),
        SH3,
        "310104",
        "21",
        [line("1", "330100001", "20000")],
        filings=(REFERRAL_SH,),
    )
    b = s.breakdown
    assert (b.hifp_pay, b.hifmi_pay, b.maf_pay, b.psn_part_amt) == (
        Y("10450"),
        0,
        Y("6685"),
        Y("2865"),
    )


def test_20_pharmacy_purchase(ref: ReferenceData) -> None:
    # pharmacy, long-term filing, ratio 50 %, no deductible: 200 -> 100; clr_type 41
    _, s = run(
        ref,
        person(),
        SH_PHARMACY,
        "310104",
        "41",
        [line("1", "XA10BAA", "2", "100")],
        filings=(filing("long_term", "310000"),),
    )
    assert (s.breakdown.hifp_pay, s.clr_type) == (Y("100"), "41")


def test_21_region_level_pool_is_local(ref: ReferenceData) -> None:
    # Xinjiang resident in Urumqi (650102 -> pool 650000): local, level 3 60 %:
    # (10,000 - 1,000) x 60% = 5,400
    _, s = run(
        ref, person(home="650000"), URUMQI, "650102", "21", [line("1", "330100001", "10000")]
    )
    assert (s.route, s.breakdown.hifp_pay) == ("local", Y("5400"))


def test_22_half_up_rounding_to_the_fen(ref: ReferenceData) -> None:
    # pharmacy 50 % of 0.03 = 0.015 -> 0.02 (half-up); person 0.01
    _, s = run(
        ref,
        person(),
        SH_PHARMACY,
        "310104",
        "41",
        [line("1", "XA10BAA", "0.03")],
        filings=(filing("long_term", "310000"),),
    )
    assert (s.breakdown.hifp_pay, s.breakdown.psn_part_amt) == (2, 1)


def test_23_per_admission_deductible_once_across_mid_settlements(ref: ReferenceData) -> None:
    # mid-stay: 10,000 -> (10,000 - 1,000) x 55% = 4,950; then 5,000 more, final:
    # no deductible again: 5,000 x 55% = 2,750. Reversing the final one only is allowed.
    st0 = record_filing(PersonState(), REFERRAL_SH)
    st0 = upload_fees(
        register_visit(st0, visit("M9", SH3, "310104", "21")),
        "M9",
        [line("1", "330100001", "10000")],
    )
    st1, m1 = settle(st0, request("M9", SH3, "MID1", "10000", mid=True), person(), ref)
    assert (m1.breakdown.act_pay_dedc, m1.breakdown.hifp_pay) == (Y("1000"), Y("4950"))
    st2 = upload_fees(st1, "M9", [line("2", "330100001", "5000")])
    st3, m2 = settle(st2, request("M9", SH3, "FIN1", "5000"), person(), ref)
    assert (m2.breakdown.act_pay_dedc, m2.breakdown.hifp_pay) == (0, Y("2750"))
    assert st3.visits["M9"].status == "settled"
    with pytest.raises(VisitClosed):  # the mid-stay settlement cannot go before the final one
        reverse(st3, m1.setl_id, dt.datetime(2026, 3, 7, tzinfo=SHANGHAI))
    back, _ = reverse(st3, m2.setl_id, dt.datetime(2026, 3, 7, tzinfo=SHANGHAI))
    assert back.visits["M9"] == st2.visits["M9"] and back.years == st2.years


def test_24_pre_settlement_changes_nothing(ref: ReferenceData) -> None:
    st, s = run(
        ref,
        person(),
        SH3,
        "310104",
        "21",
        [line("1", "330100001", "20000")],
        filings=(REFERRAL_SH,),
    )
    back, _ = reverse(st, s.setl_id, dt.datetime(2026, 3, 6, tzinfo=SHANGHAI))
    pre = pre_settle(back, request("M1", SH3, "HS-PRE", "20000"), person(), ref)
    assert pre.pre_settlement and pre.breakdown == s.breakdown
    assert pre_settle(back, request("M1", SH3, "HS-PRE", "20000"), person(), ref) == pre


def test_25_business_date_is_asia_shanghai() -> None:
    # 2025-12-31 23:30 UTC is 2026-01-01 07:30 in Shanghai: year 2026's pack applies
    assert business_date(dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 1, 1)


def test_26_retired_employee_gets_the_retired_ratio(ref: ReferenceData) -> None:
    # psn_type 21 outpatient level 3: deductible 500, 60 %: (1,500 - 500) x 60% = 600
    emp = person(insutype="310", psn_type="21")
    _, s = run(ref, emp, ZS3, "330902", "11", [line("1", "330100001", "1500")])
    assert (s.breakdown.act_pay_dedc, s.breakdown.hifp_pay, s.psn_type) == (
        Y("500"),
        Y("600"),
        "21",
    )


def test_27_resident_basic_cap_and_critical_illness_cap(ref: ReferenceData) -> None:
    # 600,000 with a referral: (600,000 - 1,000) x 55% = 329,450 > basic cap 300,000 -> 300,000.
    # burden 300,000: CI (120,000 - 25,000) x 60% = 57,000 + (300,000 - 120,000) x 65% = 117,000
    # = 174,000 > CI cap 100,000 -> 100,000. Residents have no large-amount layer.
    st, s = run(
        ref,
        person(),
        SH3,
        "310104",
        "21",
        [line("1", "330100001", "600000")],
        filings=(REFERRAL_SH,),
    )
    b = s.breakdown
    assert (b.hifp_pay, b.hifmi_pay, b.hifob_pay) == (Y("300000"), Y("100000"), 0)
    assert b.psn_part_amt == Y("200000")
    acc = st.accumulators(2026)
    assert (acc.get("cap:390:inpatient"), acc.get("ci:paid")) == (Y("300000"), Y("100000"))
