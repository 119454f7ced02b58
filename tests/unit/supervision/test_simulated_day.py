"""A simulated supervision day through the offline adjudicator and the supervision core:
every planted pattern found, nothing else (precision and recall 100 %), same ids again."""

from __future__ import annotations

import orjson

from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.offline import run as adjudicate
from services.adjudication.reference import load_reference
from services.entry.bootstrap import sender_ids
from services.runtime.reference import DEFAULT_REFERENCE_DIR
from services.supervision.offline import supervise
from services.supervision.reference import load_rules
from services.supervision.report import AlertRow, against_plants
from services.tools.simulator.fraud import PATTERNS
from services.tools.simulator.run import plan_supervision_messages


def _lines(codec: Codec, visits: int, rate: float, run_id: str) -> tuple[list[bytes], dict]:  # type: ignore[type-arg]
    messages, plants = plan_supervision_messages(
        DEFAULT_REFERENCE_DIR, codec, visits, seed=7, run_id=run_id, fraud_rate=rate
    )
    lines = []
    for b in messages:
        key, value, headers = b.record
        lines.append(orjson.dumps({
            "key": key.decode() if key else None,
            "headers": {k: v.decode() for k, v in headers},
            "body": orjson.loads(value),
        }))  # fmt: skip
    outputs, _ = adjudicate(lines, load_reference())
    settlements = list(outputs)
    # supervision reads the visit and settlement topics; per person, each in its own order
    return lines + settlements, plants


def test_planted_patterns_found_exactly_and_deterministically() -> None:
    codec = Codec(demo_registry(sender_ids(load_reference())))
    lines, plants = _lines(codec, visits=400, rate=0.005, run_id="supday")
    rules = load_rules()
    alerts = supervise(lines, rules, codec)
    rows = [AlertRow(a.alert_id, a.rule_id, str(a.rule_kind), str(a.severity), a.subject, a.amount)
            for a in alerts]  # fmt: skip
    result = against_plants(rows, plants)
    assert {p["rule_kind"] for p in plants["plants"]} == set(PATTERNS)
    assert len(plants["plants"]) == 2 * len(PATTERNS)
    for kind in PATTERNS:
        r = result[kind]
        assert r["recall"] == 1.0, (kind, r)
        assert r["precision"] == 1.0, (kind, r)
    assert set(result) == set(PATTERNS), result  # clean traffic raised nothing else
    assert all(a.amount > 0 for a in alerts)
    again = supervise(lines, rules, codec)
    assert [a.alert_id for a in again] == [a.alert_id for a in alerts]
    # a redelivered log (every line twice) raises the same alerts once
    doubled = supervise([x for x in lines for _ in range(2)], rules, codec)
    assert [a.alert_id for a in doubled] == [a.alert_id for a in alerts]


def test_clean_day_raises_nothing() -> None:
    codec = Codec(demo_registry(sender_ids(load_reference())))
    lines, plants = _lines(codec, visits=300, rate=0.0, run_id="clean")
    assert plants["plants"] == []
    assert supervise(lines, load_rules(), codec) == []


def test_plants_for_every_home_region_and_larger_days() -> None:
    """Every pattern can be planted for any person (e.g. a Shanghai resident and the only
    pharmacy in Shanghai), and the plants of a larger day are all distinct persons."""
    codec = Codec(demo_registry(sender_ids(load_reference())))
    _, plants = plan_supervision_messages(
        DEFAULT_REFERENCE_DIR, codec, 2000, seed=3, run_id="big", fraud_rate=0.002
    )
    subjects = [p["subject"] for p in plants["plants"]]
    assert len(subjects) == 4 * len(PATTERNS) and len(set(subjects)) == len(subjects)


def test_more_outlier_plants_than_provinces_are_all_found() -> None:
    """Four outlier plants and three provinces that can host one: the fourth goes a day
    earlier (one target per province and day), and every plant is found, nothing else."""
    codec = Codec(demo_registry(sender_ids(load_reference())))
    lines, plants = _lines(codec, visits=500, rate=0.008, run_id="outl4")
    outliers = [p for p in plants["plants"] if p["rule_kind"] == "institution_outlier"]
    assert len(outliers) == 4 and len({p["subject"] for p in outliers}) == 4
    alerts = supervise(lines, load_rules(), codec)
    rows = [AlertRow(a.alert_id, a.rule_id, str(a.rule_kind), str(a.severity), a.subject, a.amount)
            for a in alerts]  # fmt: skip
    result = against_plants(rows, plants)["institution_outlier"]
    assert result["recall"] == 1.0 and result["precision"] == 1.0, result
    assert len({a.window_start for a in alerts if a.subject_kind == "institution"}) == 2
