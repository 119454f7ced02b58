"""The view models (services/dashboard/core/clearing_views.py, feeds.py): the flow chart, the
matrix, nets, gauges, alerts, lag and the live notification, each filtered per viewer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import orjson

from services.dashboard.core import clearing_views as cv
from services.dashboard.core.access import NATIONAL, Role, Viewer
from services.dashboard.core.divisions import Divisions
from services.dashboard.core.feeds import (
    AlertRow,
    LiveBatch,
    alert_groups,
    lag_rows,
    live_update,
    mask_subject,
    rate_of,
)

CENTER = Viewer("clearing-center", Role.CENTER)
ZJ = Viewer("AG330000", Role.PROVINCE, "330000")
NAMES = Divisions({"330000": "浙江省", "310000": "上海市", "320000": "江苏省"})
FLOWS = [
    cv.FlowRow("330000", "310000", Decimal("100.50"), 3),
    cv.FlowRow("310000", "330000", Decimal("40.00"), 1),
    cv.FlowRow("310000", "320000", Decimal("7.25"), 2),
    cv.FlowRow("320000", "310000", Decimal("-3.00"), 1),  # more reversed than settled
]


def test_labels_put_the_name_beside_the_code() -> None:
    assert NAMES.label("330000") == "330000 浙江省"
    assert NAMES.label("999999") == "999999"
    assert NAMES.scope_label("province:330000").startswith("province:330000 浙江省")


def test_flow_chart_separates_payers_and_payees_and_skips_negative_pairs() -> None:
    chart = cv.flow_chart(FLOWS, NAMES)
    names = [n["name"] for n in chart["nodes"]]  # type: ignore[attr-defined]
    assert "付 330000 浙江省" in names and "收 330000 浙江省" in names
    links = chart["links"]
    assert len(links) == 3  # type: ignore[arg-type]
    assert links[0]["value"] == 100.5 and links[0]["label"].startswith("100.50")  # type: ignore[index]


def test_matrix_totals_are_exact() -> None:
    m = cv.flow_matrix(FLOWS)
    assert m.total == Decimal("144.75")
    assert m.row_totals["310000"] == Decimal("47.25")
    assert m.col_totals["310000"] == Decimal("97.50")
    assert m.cell("330000", "320000") is None


def test_a_province_sees_its_flows_and_its_net_only() -> None:
    seen = cv.visible_flows(FLOWS, NATIONAL, ZJ)
    assert {(r.payer, r.payee) for r in seen} == {("330000", "310000"), ("310000", "330000")}
    nets = {"330000": Decimal("60.50"), "310000": Decimal("-63.75"), "320000": Decimal("3.25")}
    assert cv.visible_nets(nets, NATIONAL, ZJ) == {"330000": Decimal("60.50")}
    assert cv.visible_nets(nets, NATIONAL, CENTER) == nets


def test_gauges_carry_each_pairs_own_lines() -> None:
    rows = [
        cv.GaugeRow(
            NATIONAL, "330000", "310000", Decimal("1000"), Decimal("950"), 7000, 9000, "red"
        ),
        cv.GaugeRow(
            NATIONAL, "310000", "320000", Decimal("1000"), Decimal("100"), 6000, 8000, None
        ),
    ]
    assert [g.payer for g in cv.gauges(rows, ZJ, NAMES)] == ["330000"]
    top, low = cv.gauges(rows, CENTER, NAMES)
    assert (top.usage_pct, top.yellow_pct, top.red_pct, top.level) == (95.0, 70.0, 90.0, "red")
    assert (low.yellow_pct, low.red_pct) == (60.0, 80.0)
    chart = cv.gauge_chart(top)
    assert chart["max"] == 120.0 and chart["red"] == 0.75


def _alert(alert_id: str, rule: str, admdvs: str, minute: int) -> AlertRow:
    return AlertRow(alert_id, rule, "readmission", "suspicious", "person",
                    f"{admdvs}:{admdvs}0000012345", admdvs, dt.date(2026, 8, 1),
                    dt.date(2026, 8, 15), ("S1",), Decimal("10.00"), "d",
                    dt.datetime(2026, 8, 20, 9, minute, tzinfo=dt.UTC))  # fmt: skip


def test_alerts_per_rule_newest_first_and_per_region() -> None:
    rows = [_alert("a", "R1", "330900", 1), _alert("b", "R1", "330902", 5),
            _alert("c", "R2", "310104", 3)]  # fmt: skip
    groups = alert_groups(rows, CENTER)
    assert [g.rule_id for g in groups] == ["R1", "R2"]
    assert [a.alert_id for a in groups[0].alerts] == ["b", "a"]
    assert groups[0].amount == Decimal("20.00")
    assert [g.rule_id for g in alert_groups(rows, ZJ)] == ["R1"]


def test_person_subjects_are_masked() -> None:
    assert mask_subject("person", "330900:33090000012345") == "330900:****2345"
    assert mask_subject("institution", "H33090200001") == "H33090200001"


def test_lag_counts_partitions_never_committed() -> None:
    rows = lag_rows({("yidi-ledger", "t"): {0: 10, 1: 5}}, {"t": {0: 12, 1: 5, 2: 4}},
                    {("yidi-ledger", "t"): 2.5}, {})  # fmt: skip
    (row,) = rows
    assert (row.processor, row.position, row.end, row.lag, row.worst_partition_lag) == (
        "ledger",
        15,
        21,
        6,
        4,
    )
    assert row.rate == 2.5


def test_rate_of_samples() -> None:
    assert rate_of([(0.0, 0)]) is None
    assert rate_of([(0.0, 100), (2.0, 300)]) == 100.0


def _batch() -> LiveBatch:
    return LiveBatch.parse(orjson.dumps({
        "n": 3,
        "pairs": [["330000", "310000", 2, "12.30"], ["310000", "320000", 1, "5.00"]],
        "latest": [
            ["S1", "settlement", "330900", "310104", "10.00", "20.00",
             "2026-08-21T01:00:00+00:00", "2026-12-03T13:30:54.5+00:00"],
            ["S2", "settlement", "310104", "320509", "5.00", "9.00",
             "2026-08-21T01:00:00+00:00", "2026-12-03T13:30:54.5+00:00"],
        ],
    }).decode())  # fmt: skip


def test_live_update_for_the_center_has_everything_in_beijing_time() -> None:
    update = live_update(_batch(), CENTER, NAMES)
    assert update is not None and update["count"] == 3
    assert [r["setl_id"] for r in update["latest"]] == ["S1", "S2"]  # type: ignore[attr-defined]
    assert update["latest"][0]["landed_at"] == "2026-12-03 21:30:54"  # type: ignore[index]
    assert update["latest"][0]["fund"] == "10.00"  # type: ignore[index]


def test_live_update_for_a_province_has_its_rows_only() -> None:
    update = live_update(_batch(), ZJ, NAMES)
    assert update is not None and update["count"] == 2
    assert [r["setl_id"] for r in update["latest"]] == ["S1"]  # type: ignore[attr-defined]
    assert live_update(_batch(), Viewer("ops", Role.OPS), NAMES) is None
