"""The calendar-year boundary, hand-computed against the shipped packs (deploy/reference).

Numbers used (employees, insutype 310, inpatient, level 3; yuan):

| pack | deductible / admission | ratio | yearly cap | large amount |
| --- | --- | --- | --- | --- |
| Zhoushan 330900-2026 | 900 | 80 % | 400,000 | 85 %, cap 500,000 |
| Zhoushan 330900-2027 | 1,000 | 80 % | 440,000 | 85 %, cap 500,000 |
| Shanghai 310000-2026 | 1,500 | 80 % | 400,000 | 85 %, cap 500,000 |
| Shanghai 310000-2027 | 1,600 | 80 % | 440,000 | 85 %, cap 500,000 |

Zhoushan's 2027 year rules say ``cross_year_stay: discharge_date``, Shanghai's
``split_by_date``; both carry a missing year forward one year, Changsha's 2027 pack
refuses. Every filing here is long-term (cut 0), so the ratio is the home ratio.
Fee lines are surgery (330100001, class A, no price limit): fully in scope.
Business dates are Asia/Shanghai (UTC+8).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import orjson
import pytest

from contracts.policy import PolicyPack
from contracts.reference import Catalog, InsuredPerson
from events.wire.codec import canonical_bytes
from services.adjudication.core import (
    PersonState,
    Settlement,
    record_filing,
    register_visit,
    settle,
    upload_fees,
)
from services.adjudication.core.accumulators import Accumulators
from services.adjudication.core.adjudicator import SHANGHAI, SettleRequest, reverse
from services.adjudication.core.errors import NoPolicy
from services.adjudication.core.money import yuan_to_fen
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.settlement_json import (
    reversed_json,
    reversed_message,
    settled_json,
    settled_message,
)
from services.adjudication.core.tables import ReferenceData, content_version
from services.adjudication.reference import DEFAULT_REFERENCE_DIR, load_reference
from services.testing.builders import filing, person, visit

SH3 = "H31010400001"  # Shanghai tertiary (310104), level 3
ZS3 = "H33090200001"  # Zhoushan tertiary (330902), level 3
ZS2 = "H33090300001"  # Zhoushan secondary (330903), level 2
SURGERY = "330100001"
CAP = "cap:310:inpatient"


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return load_reference()


def Y(amount: str) -> int:
    return yuan_to_fen(Decimal(amount))


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def fee(sn: str, yuan: str, on: dt.date, code: str = SURGERY) -> FeeLine:
    amount = Y(yuan)
    return FeeLine(sn, code, Decimal(1), amount, amount, on)


def employee(home: str, psn_no: str = "P0001") -> InsuredPerson:
    return person(psn_no, home=home, insutype="310", psn_type="11")


def admitted(
    who: InsuredPerson,
    inst: str,
    treatment: str,
    lines: list[FeeLine],
    *,
    state: PersonState | None = None,
    med_type: str = "21",
    mdtrt_id: str = "M1",
) -> PersonState:
    """A long-term filing for the treatment city, the visit registered, ``lines`` uploaded."""
    home = who.insuinfo[0].insuplc_admdvs
    s = state or PersonState()
    s = record_filing(
        s,
        filing(
            "long_term",
            treatment[:4] + "00",
            psn_no=who.psn_no,
            home=home,
            begin=dt.date(2026, 1, 1),
        ),
    )
    v = visit(
        mdtrt_id,
        inst,
        treatment,
        med_type,
        psn_no=who.psn_no,
        home=home,
        insutype="310",
        begndate=dt.date(2026, 12, 28),
    )
    return upload_fees(register_visit(s, v), mdtrt_id, lines)


def request_for(
    state: PersonState,
    who: InsuredPerson,
    inst: str,
    when: dt.datetime,
    setl: str,
    *,
    mdtrt_id: str = "M1",
    mid: bool = False,
) -> SettleRequest:
    return SettleRequest(
        psn_no=who.psn_no,
        mdtrt_id=mdtrt_id,
        fixmedins_code=inst,
        medins_setl_id=setl,
        medfee_sumamt_fen=state.visit(mdtrt_id).pending_total(),
        setl_time=when,
        mid_setl_flag=mid,
    )


def amounts(s: Settlement) -> tuple[int, int, int, int, int]:
    b = s.breakdown
    return b.medfee_sumamt, b.act_pay_dedc, b.hifp_pay, b.hifob_pay, b.psn_part_amt


STAY = [
    fee("1", "20000", dt.date(2026, 12, 29)),
    fee("2", "30000", dt.date(2027, 1, 1)),
]
"""A stay admitted 28 December 2026: 20,000 incurred on 29 December, 30,000 on 1 January."""


# --- cross-year stay, rule "discharge_date" (Zhoushan) -------------------------------------


def test_discharge_date_rule_puts_the_whole_stay_in_the_discharge_year(
    ref: ReferenceData,
) -> None:
    """Zhoushan employee in Shanghai, settled 2 January 2027: the 2027 pack for all 50,000.

    deductible 1,000 (2027); hifp = (50,000 - 1,000) x 80 % = 39,200;
    person 50,000 - 39,200 = 10,800. The 2027 cap counter holds 39,200; 2026 untouched.
    """
    who = employee("330900")
    before = PersonState(years={2026: Accumulators({CAP: Y("12345")})})
    state = admitted(who, SH3, "310104", STAY, state=before)
    after, s = settle(state, request_for(state, who, SH3, at(2027, 1, 2), "S1"), who, ref)
    assert amounts(s) == (Y("50000"), Y("1000"), Y("39200"), 0, Y("10800"))
    assert s.policy_version == ref.policy("330900", 2027).version
    assert s.policy_version.startswith("policy-330900-2027-")
    assert not s.policy_carried and s.year_parts == ()
    assert after.accumulators(2027).to_dict() == {CAP: Y("39200")}
    assert after.accumulators(2026).to_dict() == {CAP: Y("12345")}


def test_discharge_date_rule_one_deductible_per_admission_after_a_december_mid_settlement(
    ref: ReferenceData,
) -> None:
    """Mid-stay settlement (中途结算) on 31 December 2026 of the December lines, final on
    2 January 2027 of the January lines.

    31 Dec (2026 pack): deductible 900; hifp = (20,000 - 900) x 80 % = 15,280.
    2 Jan (2027 pack): the admission's deductible is charged once, up to the 2027 amount:
    left = 1,000 - 900 = 100; hifp = (30,000 - 100) x 80 % = 23,920.
    """
    who = employee("330900")
    state = admitted(who, SH3, "310104", STAY[:1])
    state, mid = settle(
        state, request_for(state, who, SH3, at(2026, 12, 31), "S1", mid=True), who, ref
    )
    assert amounts(mid) == (Y("20000"), Y("900"), Y("15280"), 0, Y("4720"))
    assert mid.policy_version == ref.policy("330900", 2026).version
    state = upload_fees(state, "M1", STAY[1:])
    state, final = settle(state, request_for(state, who, SH3, at(2027, 1, 2), "S2"), who, ref)
    assert amounts(final) == (Y("30000"), Y("100"), Y("23920"), 0, Y("6080"))
    assert state.accumulators(2026).to_dict() == {CAP: Y("15280")}
    assert state.accumulators(2027).to_dict() == {CAP: Y("23920")}


def test_caps_that_ran_out_in_2026_are_full_again_on_1_january(ref: ReferenceData) -> None:
    """A Zhoushan employee whose 2026 basic cap (400,000) is used up.

    Settled 31 December 2026 (2026 pack): deductible 900; eligible 49,100; cap left 0, so
    hifp 0 and the whole 49,100 is cost over the cap: large amount 49,100 x 85 % = 41,735.
    The same bill settled 1 January 2027 (2027 pack, empty 2027 counters): deductible
    1,000; hifp (50,000 - 1,000) x 80 % = 39,200; no large amount.
    """
    who = employee("330900")
    spent = PersonState(years={2026: Accumulators({CAP: Y("400000")})})
    state = admitted(who, SH3, "310104", STAY, state=spent)
    _, december = settle(state, request_for(state, who, SH3, at(2026, 12, 31), "S1"), who, ref)
    assert amounts(december) == (Y("50000"), Y("900"), 0, Y("41735"), Y("8265"))
    _, january = settle(state, request_for(state, who, SH3, at(2027, 1, 1), "S1"), who, ref)
    assert amounts(january) == (Y("50000"), Y("1000"), Y("39200"), 0, Y("10800"))


# --- cross-year stay, rule "split_by_date" (Shanghai) --------------------------------------


def test_split_by_date_each_year_pays_its_own_part(ref: ReferenceData) -> None:
    """Shanghai employee in Zhoushan, settled 2 January 2027, split by fee date.

    2026 part (20,000; 2026 pack): deductible 1,500; hifp (20,000 - 1,500) x 80 % = 14,800.
    2027 part (30,000; 2027 pack): deductible 1,600; hifp (30,000 - 1,600) x 80 % = 22,720.
    Settlement: medfee 50,000, deductible 3,100, hifp 37,520, person 12,480.
    Counters: 2026 cap 14,800 (added to the 2026 counters), 2027 cap 22,720.
    """
    who = employee("310000")
    state = admitted(who, ZS3, "330902", STAY)
    after, s = settle(state, request_for(state, who, ZS3, at(2027, 1, 2), "S1"), who, ref)
    assert amounts(s) == (Y("50000"), Y("3100"), Y("37520"), 0, Y("12480"))
    v26, v27 = ref.policy("310000", 2026).version, ref.policy("310000", 2027).version
    assert s.policy_version == v27
    assert [
        (p.year, p.policy_version, p.medfee_sumamt, p.act_pay_dedc, p.fund_pay_sumamt)
        for p in s.year_parts
    ] == [
        (2026, v26, Y("20000"), Y("1500"), Y("14800")),
        (2027, v27, Y("30000"), Y("1600"), Y("22720")),
    ]
    assert after.accumulators(2026).to_dict() == {CAP: Y("14800")}
    assert after.accumulators(2027).to_dict() == {CAP: Y("22720")}
    assert [d.setl_proc_info.split()[0] for d in s.details] == ["year=2026", "year=2027"]
    # the fast wire path writes the same bytes as the contract model, for both directions
    assert settled_json(s) == canonical_bytes(settled_message(s))
    # a reversal restores each year's counters exactly (the 2026 part from the 2026 counters)
    undone, r = reverse(after, s.setl_id, at(2027, 1, 3))
    assert reversed_json(r) == canonical_bytes(reversed_message(r))
    assert undone.years == state.years
    assert undone.visit("M1").admission_deductible_fen == 0
    assert undone.visit("M1").lines == state.visit("M1").lines


def test_split_by_date_2026_cap_runs_out_inside_the_2026_part(ref: ReferenceData) -> None:
    """As above, but the person's 2026 cap counter is at 395,000 of 400,000 already.

    2026 part: eligible 18,500; cap left 5,000, so hifp 5,000; the cost inside the cap is
    floor(5,000 x 10,000 / 8,000) = 6,250, the cost over the cap 18,500 - 6,250 = 12,250;
    large amount 12,250 x 85 % = 10,412.50.
    2027 part: unaffected by 2026's cap: hifp 22,720.
    Settlement: hifp 27,720, hifob 10,412.50, funds 38,132.50, person 11,867.50.
    """
    who = employee("310000")
    spent = PersonState(years={2026: Accumulators({CAP: Y("395000")})})
    state = admitted(who, ZS3, "330902", STAY, state=spent)
    after, s = settle(state, request_for(state, who, ZS3, at(2027, 1, 2), "S1"), who, ref)
    assert amounts(s) == (Y("50000"), Y("3100"), Y("27720"), Y("10412.50"), Y("11867.50"))
    assert s.breakdown.fund_pay_sumamt == Y("38132.50")
    assert after.accumulators(2026).to_dict() == {CAP: Y("400000"), "hifob:paid": Y("10412.50")}
    assert after.accumulators(2027).to_dict() == {CAP: Y("22720")}
    undone, _ = reverse(after, s.setl_id, at(2027, 1, 3))
    assert undone.years == spent.years


def test_split_by_date_each_year_charges_its_deductible_once_per_admission(
    ref: ReferenceData,
) -> None:
    """Shanghai employee: mid-stay settlement of the December lines on 31 December 2026,
    final settlement of the January lines on 2 January 2027.

    31 Dec: one part (2026): deductible 1,500; hifp (20,000 - 1,500) x 80 % = 14,800.
    2 Jan: one part (2027); 2027's deductible not yet paid by this admission: 1,600;
    hifp (30,000 - 1,600) x 80 % = 22,720. Same totals as one split settlement.
    """
    who = employee("310000")
    state = admitted(who, ZS3, "330902", STAY[:1])
    state, mid = settle(
        state, request_for(state, who, ZS3, at(2026, 12, 31), "S1", mid=True), who, ref
    )
    assert amounts(mid) == (Y("20000"), Y("1500"), Y("14800"), 0, Y("5200"))
    state = upload_fees(state, "M1", STAY[1:])
    state, final = settle(state, request_for(state, who, ZS3, at(2027, 1, 2), "S2"), who, ref)
    assert amounts(final) == (Y("30000"), Y("1600"), Y("22720"), 0, Y("7280"))
    assert final.year_parts == ()  # every pending line is of the settlement year


def test_split_by_date_a_december_bill_settled_in_january_goes_to_2026(
    ref: ReferenceData,
) -> None:
    """Only December lines (20,000), settled 2 January 2027: the whole bill is the 2026
    part: deductible 1,500, hifp 14,800, on the 2026 counters; the settlement records the
    2027 pack (its year rules decided) and the 2026 part's pack in ``year_parts``."""
    who = employee("310000")
    state = admitted(who, ZS3, "330902", STAY[:1])
    after, s = settle(state, request_for(state, who, ZS3, at(2027, 1, 2), "S1"), who, ref)
    assert amounts(s) == (Y("20000"), Y("1500"), Y("14800"), 0, Y("5200"))
    assert [(p.year, p.fund_pay_sumamt) for p in s.year_parts] == [(2026, Y("14800"))]
    assert after.accumulators(2026).to_dict() == {CAP: Y("14800")}
    assert after.accumulators(2027).to_dict() == {}


def test_outpatient_is_never_split(ref: ReferenceData) -> None:
    """Split-by-date is for inpatient stays: a Shanghai employee's outpatient bill with a
    December line settled in January is all 2027 (outpatient 310 rules apply)."""
    who = employee("310000")
    lines = [fee("1", "200", dt.date(2026, 12, 31)), fee("2", "300", dt.date(2027, 1, 1))]
    state = admitted(who, ZS3, "330902", lines, med_type="11")
    after, s = settle(state, request_for(state, who, ZS3, at(2027, 1, 1, 9), "S1"), who, ref)
    assert s.year_parts == () and s.setl_date == dt.date(2027, 1, 1)
    assert after.accumulators(2026).to_dict() == {}


# --- yearly accumulators reset at the Asia/Shanghai boundary ---------------------------


def test_outpatient_yearly_deductible_resets_at_midnight_china_time(ref: ReferenceData) -> None:
    """Zhoushan resident, local (secondary hospital, level 2): outpatient deductible 300 a
    year, ratio 50 %, cap 3,000 (2026) / 3,300 (2027).

    23:30 on 31 December 2026: 500 -> deductible 300, hifp (500 - 300) x 50 % = 100.
    00:10 on 1 January 2027 (still 31 December in UTC): 500 -> the 2027 counters are
    empty: deductible 300 again, hifp 100. Reversing the December settlement afterwards
    restores the 2026 counters and leaves 2027's alone.
    """
    who = person("P0001", home="330900")
    lines = [fee("1", "500", dt.date(2026, 12, 31), code="250302001")]
    s0 = PersonState()
    v1 = visit("V1", ZS2, "330903", "11", begndate=dt.date(2026, 12, 31))
    state = upload_fees(register_visit(s0, v1), "V1", lines)
    req = SettleRequest("P0001", "V1", ZS2, "S1", Y("500"), at(2026, 12, 31, 23, 30))
    state, dec = settle(state, req, who, ref)
    v2 = visit("V2", ZS2, "330903", "11", begndate=dt.date(2027, 1, 1))
    state = upload_fees(register_visit(state, v2), "V2", lines)
    jan_time = at(2027, 1, 1, 0, 10)
    assert jan_time.astimezone(dt.UTC).date() == dt.date(2026, 12, 31)
    state, jan = settle(
        state, SettleRequest("P0001", "V2", ZS2, "S2", Y("500"), jan_time), who, ref
    )
    assert (dec.breakdown.act_pay_dedc, dec.breakdown.hifp_pay) == (Y("300"), Y("100"))
    assert (jan.breakdown.act_pay_dedc, jan.breakdown.hifp_pay) == (Y("300"), Y("100"))
    assert (dec.setl_date.year, jan.setl_date.year) == (2026, 2027)
    assert jan.policy_version == ref.policy("330900", 2027).version
    year_2026 = {"ded:390:outpatient": Y("300"), "cap:390:outpatient": Y("100")}
    assert state.accumulators(2026).to_dict() == year_2026
    assert state.accumulators(2027).to_dict() == year_2026
    undone, _ = reverse(state, dec.setl_id, at(2027, 1, 1, 9))
    assert undone.accumulators(2026).to_dict() == {}
    assert undone.accumulators(2027).to_dict() == year_2026


# --- a year whose pack is not loaded ------------------------------------------------------


def test_missing_year_carried_forward_is_marked_and_records_the_carried_pack(
    ref: ReferenceData,
) -> None:
    """Zhoushan without a 2027 pack: its 2026 pack carries forward (default rule, one
    year). A 2027 settlement uses the 2026 numbers (deductible 900; (50,000 - 900) x 80 %
    = 39,280) on the 2027 counters, records the 2026 version and ``policy_carried``."""
    gap = ReferenceData.build(
        [c.pack for key, c in ref.policies.items() if key != ("330900", 2027)],
        _catalog_models(),
        ref.institutions.values(),
    )
    who = employee("330900")
    state = admitted(who, SH3, "310104", STAY)
    after, s = settle(state, request_for(state, who, SH3, at(2027, 1, 2), "S1"), who, gap)
    assert amounts(s) == (Y("50000"), Y("900"), Y("39280"), 0, Y("10720"))
    assert s.policy_carried and s.policy_version == ref.policy("330900", 2026).version
    assert after.accumulators(2027).to_dict() == {CAP: Y("39280")}
    body = settled_json(s)
    assert body == canonical_bytes(settled_message(s))
    assert b'"policy_carried":true' in body


def test_missing_year_carries_at_most_the_configured_years(ref: ReferenceData) -> None:
    """Zhoushan 2027 says carry forward at most 1 year: 2028 uses 2027, 2029 is refused."""
    choice = ref.policy_for("330900", 2028)
    assert choice.carried and choice.policy.pack.year == 2027
    with pytest.raises(NoPolicy) as refused:
        ref.policy_for("330900", 2029)
    assert refused.value.code == "E_NO_POLICY"
    assert not ref.policy_for("330900", 2027).carried


def test_missing_year_refused_where_the_region_says_refuse(ref: ReferenceData) -> None:
    """Changsha's 2027 pack says ``missing_year: refuse``: a 2028 settlement is refused
    E_NO_POLICY; a region with no earlier pack at all is refused too."""
    with pytest.raises(NoPolicy) as refused:
        ref.policy_for("430100", 2028)
    assert "refuses a missing year" in str(refused.value)
    with pytest.raises(NoPolicy):
        ref.policy_for("330900", 2025)
    assert ref.policy_for("430100", 2027).policy.pack.year == 2027


def test_a_settlement_in_a_refused_year_leaves_the_state_unchanged(ref: ReferenceData) -> None:
    who = employee("430100")
    state = admitted(who, SH3, "310104", STAY)
    with pytest.raises(NoPolicy):
        settle(state, request_for(state, who, SH3, at(2028, 1, 2), "S1"), who, ref)


# --- versions --------------------------------------------------------------------------


def test_a_pack_without_year_rules_keeps_its_version(ref: ReferenceData) -> None:
    """Adding ``year_rules`` to the model changed no existing pack's version: a pack that
    states none hashes without the key; stating the defaults explicitly is a new version."""
    pack = ref.policy("330900", 2026).pack
    assert pack.year_rules is None
    explicit = PolicyPack.model_validate(
        {**pack.model_dump(by_alias=True), "year_rules": {"_source": "illustrative"}}
    )
    assert content_version(pack, "p") != content_version(explicit, "p")
    dumped = pack.model_dump(mode="json", by_alias=True)
    dumped.pop("year_rules")
    digest = hashlib.sha256(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert content_version(pack, "p") == f"p-{digest[:16]}"


def test_every_region_has_a_2027_pack_with_new_numbers(ref: ReferenceData) -> None:
    regions = {admdvs for admdvs, _ in ref.policies}
    assert all((r, 2027) in ref.policies for r in regions)
    for region in regions:
        old, new = ref.policy(region, 2026), ref.policy(region, 2027)
        assert old.version != new.version
        assert new.pack.year_rules is not None
        key = ("310", "*", "inpatient", 3)
        assert new.rules[key].deductible_fen == old.rules[key].deductible_fen + Y("100")
        assert new.rules[key].cap_fen > old.rules[key].cap_fen


def _catalog_models() -> list[Catalog]:
    return [
        Catalog.model_validate_json(p.read_bytes())
        for p in sorted((DEFAULT_REFERENCE_DIR / "catalogs").glob("*.json"))
    ]


def test_the_contract_refuses_year_parts_that_do_not_add_up(ref: ReferenceData) -> None:
    """A split settlement's parts must add up to medfee, deductible and funds on the wire."""
    from pydantic import ValidationError

    from contracts.settlement import Settled

    who = employee("310000")
    state = admitted(who, ZS3, "330902", STAY)
    _, s = settle(state, request_for(state, who, ZS3, at(2027, 1, 2), "S1"), who, ref)
    doc = orjson.loads(settled_json(s))
    assert Settled.model_validate(doc).year_parts[0].fund_pay_sumamt == Decimal("14800.00")
    for field in ("medfee_sumamt", "act_pay_dedc", "fund_pay_sumamt"):
        bad = orjson.loads(settled_json(s))
        bad["year_parts"][0][field] = "1.00"
        with pytest.raises(ValidationError, match=field):
            Settled.model_validate(bad)


def test_an_empty_bill_in_a_split_region_is_one_settlement_year_part(ref: ReferenceData) -> None:
    who = employee("310000")
    state = admitted(who, ZS3, "330902", [])
    _, s = settle(state, request_for(state, who, ZS3, at(2027, 1, 2), "S1"), who, ref)
    assert amounts(s) == (0, 0, 0, 0, 0) and s.year_parts == ()
