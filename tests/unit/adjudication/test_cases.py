"""Hand-computed settlements against the shipped packs (deploy/reference).

Each case shows its arithmetic. Zhoushan (330900) numbers used: resident
inpatient level 3 deductible 1,000 per admission, ratio 65 %; critical illness
deductible 25,000 (poor 12,500), 60 % of the year's in-scope burden up to
120,000 and 65 % above, +5 points for the poor, cap 100,000 (DOMAIN.md s.5);
cross-region cuts referral/emergency 10, other temporary 20, unfiled: reject.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts.reference import FilingState, InsuredPerson
from services.adjudication.core import (
    PersonState,
    Settlement,
    record_filing,
    register_visit,
    settle,
    upload_fees,
)
from services.adjudication.core.money import yuan_to_fen
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.tables import ReferenceData
from services.adjudication.reference import load_reference
from services.testing.builders import filing, line, person, request, visit

SH3 = "H31010400001"  # Shanghai tertiary, 310104, level 3
SH1 = "H31010400003"  # Shanghai community, level 1
SH_PHARMACY = "P31010400001"
ZS2 = "H33090300001"  # Zhoushan secondary, level 2 (local for Zhoushan insured)
ZS3 = "H33090200001"  # Zhoushan tertiary, level 3
QINGPU = "H31011800001"  # Qingpu central, level 2
CHANGSHA = "H43010200001"
URUMQI = "H65010200001"


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return load_reference()


def Y(amount: str) -> int:
    return yuan_to_fen(Decimal(amount))


def run(
    ref: ReferenceData,
    who: InsuredPerson,
    inst: str,
    admdvs: str,
    med_type: str,
    lines: list[FeeLine],
    *,
    filings: tuple[FilingState, ...] = (),
    state: PersonState | None = None,
    mdtrt_id: str = "M1",
    setl: str = "HS1",
    acct: bool = False,
    diseases: tuple[str, ...] = (),
) -> tuple[PersonState, Settlement]:
    home = who.insuinfo[0].insuplc_admdvs
    insutype = who.insuinfo[0].insutype
    s = state or PersonState()
    for f in filings:
        s = record_filing(s, f)
    v = visit(
        mdtrt_id,
        inst,
        admdvs,
        med_type,
        psn_no=who.psn_no,
        home=home,
        insutype=insutype,
        diseases=diseases,
    )
    s = upload_fees(register_visit(s, v), mdtrt_id, lines)
    total = sum(x.amount_fen for x in lines)
    req = request(mdtrt_id, inst, setl, str(Decimal(total) / 100), psn_no=who.psn_no, acct=acct)
    return settle(s, req, who, ref)


REFERRAL_SH = filing("referral", "310000")


def test_01_zhoushan_resident_in_shanghai_crosses_ci_deductible(ref: ReferenceData) -> None:
    # 150,000 surgery (class A). deductible 1,000; eligible 149,000 x (65-10)% = 81,950.
    # burden 150,000 - 81,950 = 68,050; CI (68,050 - 25,000) x 60% = 25,830.
    # funds 107,780; person 42,220.
    _, s = run(
        ref,
        person(),
        SH3,
        "310104",
        "21",
        [line("1", "330100001", "150000")],
        filings=(REFERRAL_SH,),
    )
    b = s.breakdown
    assert (b.act_pay_dedc, b.hifp_pay, b.hifmi_pay) == (Y("1000"), Y("81950"), Y("25830"))
    assert (b.fund_pay_sumamt, b.psn_part_amt, b.psn_cash_pay) == (
        Y("107780"),
        Y("42220"),
        Y("42220"),
    )
    assert s.route == "referral" and s.ratio_bp == 5500 and s.clr_type == "21"


def test_02_crosses_the_120000_segment(ref: ReferenceData) -> None:
    # 300,000: eligible 299,000 x 55% = 164,450; burden 135,550.
    # CI (120,000-25,000) x 60% = 57,000 + (135,550-120,000) x 65% = 10,107.50 -> 67,107.50
    _, s = run(
        ref,
        person(),
        SH3,
        "310104",
        "21",
        [line("1", "330100001", "300000")],
        filings=(REFERRAL_SH,),
    )
    b = s.breakdown
    assert (b.hifp_pay, b.hifmi_pay) == (Y("164450"), Y("67107.50"))
    assert b.psn_part_amt == Y("300000") - Y("164450") - Y("67107.50") == Y("68442.50")


def test_03_poverty_variant(ref: ReferenceData) -> None:
    # same bill, poor: CI (120,000-12,500) x 65% = 69,875 + 15,550 x 70% = 10,885 -> 80,760
    _, s = run(
        ref,
        person(poor=True),
        SH3,
        "310104",
        "21",
        [line("1", "330100001", "300000")],
        filings=(REFERRAL_SH,),
    )
    assert s.breakdown.hifmi_pay == Y("80760")
    assert s.breakdown.psn_part_amt == Y("300000") - Y("164450") - Y("80760")


def test_04_chronic_outpatient_primary_60(ref: ReferenceData) -> None:
    # long-term filing (cut 0); level 1; chronic I10; 1,000 metformin (A), no deductible:
    # 1,000 x 60% = 600; CI sees burden 400 (< 25,000): pays 0.
    lt = filing("long_term", "310000")
    _, s = run(
        ref,
        person(),
        SH1,
        "310104",
        "14",
        [line("1", "XA10BAA", "10", "100")],
        filings=(lt,),
        diseases=("I10",),
    )
    assert (s.category, s.breakdown.hifp_pay, s.breakdown.hifmi_pay) == (
        "chronic_outpatient",
        Y("600"),
        0,
    )


def test_05_chronic_outpatient_secondary_50(ref: ReferenceData) -> None:
    # local Zhoushan level 2: 1,000 x 50% = 500
    _, s = run(
        ref, person(), ZS2, "330903", "14", [line("1", "XA10BAA", "10", "100")], diseases=("E11",)
    )
    assert (s.route, s.breakdown.hifp_pay) == ("local", Y("500"))


def test_06_chronic_diagnosis_off_list_settles_as_ordinary_outpatient(ref: ReferenceData) -> None:
    # Z00 not on the list -> outpatient level 2: (1,000 - 300 deductible) x 50% = 350
    _, s = run(
        ref, person(), ZS2, "330903", "14", [line("1", "XA10BAA", "10", "100")], diseases=("Z00",)
    )
    assert (s.category, s.breakdown.act_pay_dedc, s.breakdown.hifp_pay) == (
        "outpatient",
        Y("300"),
        Y("350"),
    )


def test_07_employee_pays_with_personal_account_then_cash(ref: ReferenceData) -> None:
    # employee 310/11, long-term filing, Shanghai level 3 outpatient: deductible 1,000, 50 %.
    # 1,500: eligible 500 x 50% = 250; person 1,250; account 800 (balance), cash 450, balc 0.
    emp = person(insutype="310", psn_type="11", balc="800")
    lt = filing("long_term", "310000")
    st, s = run(
        ref, emp, SH3, "310104", "11", [line("1", "330100001", "1500")], filings=(lt,), acct=True
    )
    b = s.breakdown
    assert (b.hifp_pay, b.acct_pay, b.psn_cash_pay, b.balc) == (Y("250"), Y("800"), Y("450"), 0)
    # second outpatient visit: deductible used up; 200 x 50% = 100; account empty -> cash 100
    _, s2 = run(
        ref,
        emp,
        SH3,
        "310104",
        "11",
        [line("1", "330100001", "200")],
        state=st,
        mdtrt_id="M2",
        setl="HS2",
        acct=True,
    )
    b2 = s2.breakdown
    assert (b2.act_pay_dedc, b2.hifp_pay, b2.acct_pay, b2.psn_cash_pay) == (
        0,
        Y("100"),
        0,
        Y("100"),
    )


def test_08_temporary_referral_cut_10(ref: ReferenceData) -> None:
    # 20,000: (20,000 - 1,000) x (65-10)% = 10,450; burden 9,550 < 25,000: CI 0
    _, s = run(
        ref,
        person(),
        SH3,
        "310104",
        "21",
        [line("1", "330100001", "20000")],
        filings=(REFERRAL_SH,),
    )
    assert (s.breakdown.hifp_pay, s.breakdown.hifmi_pay) == (Y("10450"), 0)


def test_09_other_temporary_cut_20(ref: ReferenceData) -> None:
    # 19,000 x (65-20)% = 8,550
    _, s = run(
        ref,
        person(),
        SH3,
        "310104",
        "21",
        [line("1", "330100001", "20000")],
        filings=(filing("other_temporary", "310000"),),
    )
    assert s.breakdown.hifp_pay == Y("8550") and s.breakdown.pool_prop_selfpay == Y("10450")


def test_10_emergency_inpatient_without_filing(ref: ReferenceData) -> None:
    # med_type 24 counts as filed, emergency cut 10: 19,000 x 55% = 10,450
    _, s = run(ref, person(), SH3, "310104", "24", [line("1", "330100001", "20000")])
    assert (s.route, s.breakdown.hifp_pay) == ("emergency", Y("10450"))


def test_11_emergency_outpatient_without_filing(ref: ReferenceData) -> None:
    # med_type 13, outpatient level 3: (500 - 300) x (40-10)% = 60
    _, s = run(
        ref,
        person(),
        SH3,
        "310104",
        "13",
        [line("1", "110200005", "40"), line("2", "330100001", "460")],
    )
    assert (s.breakdown.act_pay_dedc, s.breakdown.hifp_pay) == (Y("300"), Y("60"))


def test_12_wujiang_patient_in_qingpu_needs_no_filing(ref: ReferenceData) -> None:
    # zone, cut 0; Wujiang resident inpatient level 2: deductible 600, 78 %:
    # (10,000 - 600) x 78% = 7,332
    wj = person(home="320509")
    _, s = run(ref, wj, QINGPU, "310118", "21", [line("1", "330100001", "10000")])
    assert (s.route, s.breakdown.hifp_pay) == ("zone", Y("7332"))


def test_13_suzhou_unfiled_is_cut_not_rejected(ref: ReferenceData) -> None:
    # Suzhou's rule for unfiled treatment: cut 20. level 3 ratio 68 -> 48:
    # (10,000 - 1,000) x 48% = 4,320
    _, s = run(ref, person(home="320500"), SH3, "310104", "21", [line("1", "330100001", "10000")])
    assert (s.route, s.breakdown.hifp_pay) == ("unfiled", Y("4320"))


def test_14_resident_outpatient_cap_reached_mid_bill(ref: ReferenceData) -> None:
    # local Zhoushan level 3 outpatient: (10,000 - 300) x 40% = 3,880 > yearly cap 3,000 -> 3,000
    st, s = run(ref, person(), ZS3, "330902", "11", [line("1", "330100001", "10000")])
    assert s.breakdown.hifp_pay == Y("3000") and s.breakdown.psn_part_amt == Y("7000")
    assert st.accumulators(2026).get("cap:390:outpatient") == Y("3000")
