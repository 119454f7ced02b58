"""Clearing participants are pooling regions, by the adjudicator's own rule (issue 14).

The rule lives once, in ``contracts.pools``; the adjudicator's ``ReferenceData.pool_of``
and clearing's ``flow_of`` both call it. These tests pin the hand cases of
docs/adjudication.md, check that the two processors agree on every division the
reference data knows, and that a settlement the offline adjudicator routes ``local`` is
never given a clearing flow — over a simulated day, not only by construction.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.pools import PoolingRegions, pool_of
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.offline import run as offline_run
from services.adjudication.reference import load_reference
from services.clearing.core.periods import NATIONAL, flow_of, misplaced
from services.entry.bootstrap import sender_ids
from services.runtime.reference import load_pooling_regions
from services.tools.simulator.run import plan_messages, write_jsonl

REFERENCE = Path(__file__).resolve().parents[3] / "deploy" / "reference"


def test_hand_cases_of_the_pool_rule() -> None:
    pools = load_pooling_regions()
    cases = {
        "310104": "310000", "310115": "310000", "310118": "310118",  # Shanghai; Qingpu its own
        "650102": "650000", "650104": "650000",  # Xinjiang's region-level pool
        "330902": "330900", "330903": "330900", "330421": "330421",  # Zhoushan; Jiashan
        "320509": "320509", "320508": "320500",  # Wujiang its own; Suzhou city proper
        "330102": "330102",  # no pack for Hangzhou or Zhejiang: the district stands alone
    }  # fmt: skip
    assert {d: pools.pool_of(d) for d in cases} == cases


def test_adjudicator_and_clearing_resolve_every_known_division_alike() -> None:
    ref = load_reference()
    pools = load_pooling_regions()
    assert ref.pooling == pools
    divisions = {i.admdvs for i in ref.institutions.values()} | set(pools.pools)
    assert len(divisions) > 15
    for d in sorted(divisions):
        assert ref.pool_of(d) == pools.pool_of(d) == pool_of(d, ref.pools), d
        site_pools = {s.pool for s in ref.sites.values() if s.institution.admdvs == d}
        assert site_pools <= {pools.pool_of(d)}


divisions_st = st.builds(
    lambda p, c, d: f"{p}{c}{d}",
    st.sampled_from(["31", "33", "65", "32"]),
    st.sampled_from(["00", "01", "09"]),
    st.sampled_from(["00", "02", "04", "18"]),
)


@settings(max_examples=300)
@given(
    st.frozensets(divisions_st, max_size=8), divisions_st, divisions_st,
    st.sampled_from([None, "local", "referral", "unfiled"]),
)  # fmt: skip
def test_scope_rules_over_any_pool_set(
    packs: frozenset[str], home: str, treatment: str, route: str | None
) -> None:
    pools = PoolingRegions(packs)
    flow = flow_of(home, treatment, pools, route)
    hp, tp = pools.pool_of(home), pools.pool_of(treatment)
    assert hp[:2] == home[:2] and tp[:2] == treatment[:2], "a pool never leaves its province"
    if route == "local" or hp == tp:
        assert flow is None, "nothing inside one pool is cleared"
        return
    assert flow is not None
    assert (flow.home_pool, flow.treatment_pool) == (hp, tp)
    if home[:2] != treatment[:2]:
        assert flow.scope == NATIONAL
        assert (flow.payer, flow.payee) == (home[:2] + "0000", treatment[:2] + "0000")
    else:
        assert flow.scope == f"province:{home[:2]}0000"
        assert (flow.payer, flow.payee) == (hp, tp) and hp != tp
        assert pools.pool_of(flow.payer) == flow.payer and pools.pool_of(flow.payee) == flow.payee


def test_a_local_settlement_never_has_a_flow_and_every_other_one_does(tmp_path: Path) -> None:
    """Over a simulated day through the offline adjudicator: ``route == local`` exactly when
    clearing's rule (without being told the route) puts home and treatment in one pool."""
    events = tmp_path / "events.jsonl"
    ref = load_reference()
    codec = Codec(demo_registry(sender_ids(ref)))
    write_jsonl(
        plan_messages(REFERENCE, codec, 400, seed=14, run_id="pools", day=dt.date(2026, 8, 3)),
        events,
    )
    pools = load_pooling_regions()
    seen: dict[str, int] = {"local": 0, "provincial": 0, "national": 0}
    districts = set()
    with events.open("rb") as lines:
        outputs = list(offline_run(lines, ref)[0])
    for line in outputs:
        body = orjson.loads(line)["body"]
        if "setlinfo" not in body or body["pre_settlement"]:
            continue
        home, treatment = body["insuplc_admdvs"], body["mdtrtarea_admvs"]
        flow = flow_of(home, treatment, pools)
        assert (body["route"] == "local") == (flow is None), (home, treatment, body["route"])
        if flow is None:
            seen["local"] += 1
            districts.add(treatment)
        else:
            seen["national" if flow.scope == NATIONAL else "provincial"] += 1
            assert flow.payee == pools.pool_of(flow.payee) or flow.scope == NATIONAL
    assert all(seen.values()), seen
    assert districts & {"310104", "310115", "650102", "650104", "330902"}, districts


def test_positions_placed_by_district_are_named_as_misplaced() -> None:
    pools = load_pooling_regions()
    by_district = [
        ("310000", "310104", "310000", "310104"),  # local: not cleared at all now
        ("330421", "330902", "330421", "330902"),  # payee is the pool 330900 now
        ("310118", "310104", "310118", "310000"),  # already by pool
    ]
    assert misplaced(by_district, "province:310000", pools) == [
        "310000->310104: inside pool 310000, not cleared",
        "330421->330902: 330421->330902 in province:310000, now 330421->330900 in province:330000",
    ]
    assert misplaced([("310118", "310104", "310118", "310000")], "province:310000", pools) == []
