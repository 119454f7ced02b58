"""Property tests over random persons, filings and visit sequences.

Invariants: identities hold and nothing is negative on every settlement;
accumulators never pass their caps; settle-then-reverse restores the state
exactly; reversing everything empties the year; persons are independent, so
interleaving their events changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.reference import FilingState, InsuredPerson
from services.adjudication.core import (
    PersonState,
    Rejection,
    Settlement,
    record_filing,
    register_visit,
    reverse,
    settle,
    state_from_json,
    state_to_json,
    upload_fees,
)
from services.adjudication.core.adjudicator import SHANGHAI
from services.adjudication.core.breakdown import AMOUNT_FIELDS, check_identities
from services.adjudication.core.tables import ReferenceData
from services.adjudication.reference import load_reference
from services.testing.builders import filing, line, person, request, visit

REF: ReferenceData = load_reference()
INSTITUTIONS = sorted(REF.institutions.values(), key=lambda i: i.fixmedins_code)
HOMES = sorted({admdvs for admdvs, _ in REF.policies})
ITEMS = [*sorted(REF.catalog("310000").items), "UNKNOWN1"]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class VisitPlan:
    inst: int
    med_type: str
    lines: tuple[tuple[str, str, str], ...]
    reverse_after: bool
    day: int


persons = st.builds(
    lambda psn_no, home, emp, poor, aid, balc: person(
        psn_no,
        home=home,
        insutype="310" if emp else "390",
        psn_type=("11" if emp else "15"),
        poor=poor,
        assistance=aid,
        balc=str(balc),
    ),
    st.sampled_from(["P1", "P2", "P3"]),
    st.sampled_from(HOMES),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(0, 5000),
)
money = st.decimals(min_value="0.01", max_value="60000", places=2).map(str)
lines_st = st.lists(
    st.tuples(st.sampled_from(ITEMS), money, st.sampled_from(["1", "2", "0.5", "3"])),
    min_size=1,
    max_size=8,
).map(tuple)
visits_st = st.lists(
    st.builds(
        VisitPlan,
        st.integers(0, len(INSTITUTIONS) - 1),
        st.sampled_from(["11", "13", "14", "21", "24", "41"]),
        lines_st,
        st.booleans(),
        st.integers(1, 300),
    ),
    min_size=1,
    max_size=6,
)
filing_kinds = st.lists(
    st.tuples(
        st.sampled_from(["long_term", "referral", "emergency", "other_temporary"]),
        st.sampled_from(["310000", "430100", "320500", "650000", "330000"]),
    ),
    max_size=2,
)


def filings_for(who: InsuredPerson, kinds: list[tuple[str, str]]) -> list[FilingState]:
    home = who.insuinfo[0].insuplc_admdvs
    return [filing(k, t, psn_no=who.psn_no, home=home) for k, t in kinds]  # type: ignore[arg-type]


def play(
    who: InsuredPerson,
    fs: list[FilingState],
    plans: list[VisitPlan],
    state: PersonState | None = None,
    start: int = 0,
) -> tuple[PersonState, list[Settlement], list[str]]:
    """Run a person's visits through the core; rejections leave the state as it was."""
    s = state or PersonState()
    for f in fs:
        s = record_filing(s, f)
    out: list[Settlement] = []
    codes: list[str] = []
    home, insutype = who.insuinfo[0].insuplc_admdvs, who.insuinfo[0].insutype
    for n, plan in enumerate(plans, start):
        inst = INSTITUTIONS[plan.inst]
        med_type = (
            "41" if inst.kind == "pharmacy" else ("11" if plan.med_type == "41" else plan.med_type)
        )
        mdtrt_id = f"{who.psn_no}-M{n}"
        fee_lines = [
            line(str(i), code, price, qty) for i, (code, price, qty) in enumerate(plan.lines)
        ]
        v = visit(
            mdtrt_id,
            inst.fixmedins_code,
            inst.admdvs,
            med_type,
            psn_no=who.psn_no,
            home=home,
            insutype=insutype,
            diseases=("I10",),
        )
        s = upload_fees(register_visit(s, v), mdtrt_id, fee_lines)
        at = dt.datetime(2026, 1, 1, 9, tzinfo=SHANGHAI) + dt.timedelta(days=plan.day)
        total = sum(x.amount_fen for x in fee_lines)
        req = request(
            mdtrt_id,
            inst.fixmedins_code,
            f"H{n}",
            f"{total / 100:.2f}",
            psn_no=who.psn_no,
            at=at,
            acct=True,
        )
        try:
            before = s
            s, settlement = settle(s, req, who, REF)
        except Rejection as exc:
            assert s is before
            codes.append(exc.code)
            continue
        out.append(settlement)
        if plan.reverse_after:
            s, _ = reverse(s, settlement.setl_id, at)
    return s, out, codes


def assert_caps(who: InsuredPerson, state: PersonState) -> None:
    policy = REF.policy(who.insuinfo[0].insuplc_admdvs, 2026)
    acc = state.accumulators(2026)
    caps = {f"cap:{k[0]}:{t.cap_group}": t.cap_fen for k, t in policy.rules.items()}
    for key, value in acc.values.items():
        assert value >= 0
        if key in caps:
            assert value <= caps[key], key
    if policy.critical_illness is not None:
        assert acc.get("ci:paid") <= policy.critical_illness.cap(who.poor)
    if policy.large_amount is not None:
        assert acc.get("hifob:paid") <= policy.large_amount.cap_fen
    if policy.assistance is not None:
        assert acc.get("maf:paid") <= policy.assistance.limit_fen


@FAST
@given(persons, filing_kinds, visits_st)
def test_every_settlement_is_sound(
    who: InsuredPerson, kinds: list[tuple[str, str]], plans: list[VisitPlan]
) -> None:
    state, settlements, _ = play(who, filings_for(who, kinds), plans)
    for s in settlements:
        check_identities(s.breakdown, s.details)
        assert all(getattr(s.breakdown, name) >= 0 for name in AMOUNT_FIELDS)
        assert all(d.fund_payamt >= 0 and d.inscp_scp_amt >= 0 for d in s.details)
    assert_caps(who, state)
    assert state.account_spent_fen <= 500000
    assert state_from_json(state_to_json(state)) == state


@FAST
@given(persons, filing_kinds, visits_st, lines_st)
def test_settle_then_reverse_restores_exactly(
    who: InsuredPerson,
    kinds: list[tuple[str, str]],
    plans: list[VisitPlan],
    extra: tuple[tuple[str, str, str], ...],
) -> None:
    state, _, _ = play(who, filings_for(who, kinds), plans)
    inst = INSTITUTIONS[0]
    home, insutype = who.insuinfo[0].insuplc_admdvs, who.insuinfo[0].insutype
    v = visit(
        "X", inst.fixmedins_code, inst.admdvs, "21", psn_no=who.psn_no, home=home, insutype=insutype
    )
    fee_lines = [line(str(i), c, p, q) for i, (c, p, q) in enumerate(extra)]
    before = upload_fees(register_visit(state, v), "X", fee_lines)
    total = sum(x.amount_fen for x in fee_lines)
    at = dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    try:
        after, s = settle(
            before,
            request(
                "X",
                inst.fixmedins_code,
                "HX",
                f"{total / 100:.2f}",
                psn_no=who.psn_no,
                at=at,
                acct=True,
            ),
            who,
            REF,
        )
    except Rejection:
        return
    back, _ = reverse(after, s.setl_id, at)
    assert (back.visits, back.years, back.account_spent_fen) == (
        before.visits,
        before.years,
        before.account_spent_fen,
    )


@FAST
@given(persons, filing_kinds, visits_st)
def test_reversing_everything_empties_the_year(
    who: InsuredPerson, kinds: list[tuple[str, str]], plans: list[VisitPlan]
) -> None:
    state, _, _ = play(who, filings_for(who, kinds), plans)
    at = dt.datetime(2026, 12, 31, tzinfo=SHANGHAI)
    for setl_id in reversed(list(state.settlements)):
        if not state.settlements[setl_id].reversed:
            state, _ = reverse(state, setl_id, at)
    assert state.years == {} and state.account_spent_fen == 0


@FAST
@given(persons, persons, visits_st, visits_st, st.randoms(use_true_random=False))
def test_interleaving_persons_changes_nothing(
    a: InsuredPerson, b: InsuredPerson, pa: list[VisitPlan], pb: list[VisitPlan], rnd: object
) -> None:
    b = b.model_copy(update={"psn_no": a.psn_no + "B"})
    alone_a = play(a, [], pa)
    alone_b = play(b, [], pb)
    # interleave one visit at a time, in a random order, carrying each person's state
    who = {a.psn_no: a, b.psn_no: b}
    plans = {a.psn_no: pa, b.psn_no: pb}
    states = {a.psn_no: PersonState(), b.psn_no: PersonState()}
    got: dict[str, list[Settlement]] = {a.psn_no: [], b.psn_no: []}
    done = {a.psn_no: 0, b.psn_no: 0}
    order = [a.psn_no] * len(pa) + [b.psn_no] * len(pb)
    rnd.shuffle(order)  # type: ignore[attr-defined]
    for psn in order:
        n = done[psn]
        states[psn], out, _ = play(who[psn], [], [plans[psn][n]], states[psn], start=n)
        got[psn].extend(out)
        done[psn] = n + 1
    assert got[a.psn_no] == alone_a[1] and got[b.psn_no] == alone_b[1]
    assert states[a.psn_no].years == alone_a[0].years and states[b.psn_no].years == alone_b[0].years
