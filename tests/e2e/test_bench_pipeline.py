"""`yidi bench pipeline`, small: the command `make bench-pipeline` runs, end to end on the
real broker, database and worker processes, with every number it prints accounted for."""

from __future__ import annotations

import json

from tests.e2e.conftest import yidi_cli


def test_bench_pipeline_reports_rates_latency_baseline_and_cpu() -> None:
    out = json.loads(
        yidi_cli(
            ["bench", "pipeline", "--visits", "150", "--rates", "500,0", "--runs", "1",
             "--warmup", "50", "--json"],
            {"YIDI_LOG_LEVEL": "warning"},
        ).strip().splitlines()[-1]
    )  # fmt: skip
    assert [lv["offered_msgs_per_s"] for lv in out["levels"]] == [500.0, "max"]
    for level in out["levels"]:
        assert level["missing_acks"] == 0
        assert level["settlements_per_s"] > 0 and level["achieved_msgs_per_s"] > 0
        assert 0 < level["ack_p50_ms"] <= level["ack_p95_ms"] <= level["ack_p99_ms"]
        assert level["messages_per_settlement"] > 1
        cpu = level["cpu_pct_of_core"]
        assert {"adjudication", "ledger", "load generator", "kafka", "postgresql"} <= set(cpu)
        assert cpu["adjudication"] > 0 and cpu["load generator"] > 0
    assert out["raw_baseline_msgs_per_s"] > 0
    assert out["ratio_best_to_raw"] > 0
    expected = out["raw_baseline_msgs_per_s"] / out["messages_per_settlement"]
    assert abs(out["raw_ceiling_settlements_per_s"] - expected) <= 1
