"""`yidi bench pipeline`, small: the command `make bench-pipeline` runs, end to end on the
real broker, database and worker processes, with every number it prints accounted for: the
CPU per settlement over this stack's processes, the raw aiokafka baseline and Kafka's Java
perf tools on the same broker and security (2,000 records: a few seconds)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import yidi_cli


def test_bench_pipeline_reports_rates_latency_baseline_and_cpu() -> None:
    out = json.loads(
        yidi_cli(
            ["bench", "pipeline", "--visits", "150", "--max-visits", "300", "--rates", "500,0", "--runs", "1",
             "--warmup", "50", "--java-records", "2000", "--json"],
            {"YIDI_LOG_LEVEL": "warning"},
        ).strip().splitlines()[-1]
    )  # fmt: skip
    assert [lv["offered_msgs_per_s"] for lv in out["levels"]] == [500.0, "max"]
    assert [lv["visits"] for lv in out["levels"]] == [150, 300]  # the max level's own size
    for level in out["levels"]:
        assert level["missing_acks"] == 0
        assert level["settlements_per_s"] > 0 and level["achieved_msgs_per_s"] > 0
        assert 0 < level["ack_p50_ms"] <= level["ack_p95_ms"] <= level["ack_p99_ms"]
        assert level["messages_per_settlement"] > 1
        cpu = level["cpu_pct_of_core"]
        assert {"adjudication", "ledger", "load generator", "kafka", "postgresql"} <= set(cpu)
        assert cpu["adjudication"] > 0 and cpu["load generator"] > 0
        us = level["cpu_us_per_settlement"]
        assert set(us["by_component"]) == {"adjudication", "ledger", "kafka", "postgresql"}
        assert us["system_total"] == pytest.approx(sum(us["by_component"].values()), abs=4)
        assert us["by_component"]["adjudication"] > 0 and us["load_generator"] > 0
    assert out["raw_baseline_msgs_per_s"] > 0
    # only this stack's broker and postmaster are metered (other work trees run theirs)
    (pids,) = out["metered_pids"].values()
    assert len(pids["kafka"]) == 1 and len(pids["postgresql"]) == 1
    java = out["java_ceiling"]
    assert java["records"] == 2000 and java["record_bytes"] > 100, java
    assert java["producer_msgs_per_s"] > 0 and java["consumer_msgs_per_s"] > 0
    achieved = max(lv["achieved_msgs_per_s"] for lv in out["levels"])
    assert out["ratios_best_to"] == {  # the printed baselines are rounded to whole msg/s
        "to_raw_aiokafka": pytest.approx(achieved / out["raw_baseline_msgs_per_s"], abs=2e-3),
        "to_java_producer": pytest.approx(achieved / java["producer_msgs_per_s"], abs=2e-3),
        "to_java_consumer": pytest.approx(achieved / java["consumer_msgs_per_s"], abs=2e-3),
    }
    assert out["ratio_best_to_raw"] > 0
    expected = out["raw_baseline_msgs_per_s"] / out["messages_per_settlement"]
    assert abs(out["raw_ceiling_settlements_per_s"] - expected) <= 1
