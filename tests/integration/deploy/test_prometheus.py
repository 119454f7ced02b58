"""The shipped Prometheus files are what Prometheus accepts, and their alerts fire as meant.

``promtool`` (Debian's, fetched on first use by ``deploy/prometheus/promtool.sh``) checks the
scrape config and the rules, and runs the rule tests in ``alerts_test.yml`` (each alert fires
on the series it is for). The metric names the rules read must be ones the workers export:
a rule over a renamed metric would never fire, and promtool cannot know that.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from events.stream.types import InputRecord, Output
from services.runtime.metrics import WorkerMetrics

ROOT = Path(__file__).resolve().parents[3]
PROM = ROOT / "deploy" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    done = subprocess.run(
        [str(PROM / "promtool.sh")], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"promtool could not be installed here: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]


def _promtool(promtool: str, *args: str) -> str:
    done = subprocess.run(
        [promtool, *args], cwd=PROM, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_config_and_rules_pass_promtool(promtool: str) -> None:
    out = _promtool(promtool, "check", "config", "prometheus.yml")
    assert "SUCCESS: 1 rule files found" in out
    out = _promtool(promtool, "check", "rules", "alerts.yml")
    assert re.search(r"SUCCESS: [1-9]\d* rules found", out)


def test_alerts_fire_on_their_series(promtool: str) -> None:
    assert "SUCCESS" in _promtool(promtool, "test", "rules", "alerts_test.yml")


def test_promtool_fails_a_rule_test_that_does_not_hold(promtool: str, tmp_path: Path) -> None:
    """The rule tests can fail: an expected value the rule does not produce is reported."""
    (tmp_path / "alerts.yml").write_text((PROM / "alerts.yml").read_text())
    wrong = (
        (PROM / "alerts_test.yml")
        .read_text()
        .replace("used 95%: past the red", "used 94%: past the red")
    )
    (tmp_path / "t.yml").write_text(wrong)
    done = subprocess.run(
        [promtool, "test", "rules", "t.yml"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0


def test_rules_read_only_metrics_the_workers_export() -> None:
    worker = WorkerMetrics()
    m = worker.processor("adjudication")
    record = InputRecord("yidi.visit.v1", 0, 0, b"k", b"v", [], 0)
    m.batch({"yidi.visit.v1": 1}, [Output("yidi.dlq.v1", b"k", b"v", [], ("dlq", "E_AUTH"))], 0.01)
    m.acked([record.timestamp_ms], 1.0)
    m.lag({("yidi.visit.v1", 0): 3})
    m.sink_lag({("yidi.settlement.v1", 0): 3})
    pair = ("national", "2026-10", "310000", "330000")
    for gauge in (worker.prepayment_usage, worker.prepayment_yellow, worker.prepayment_red):
        gauge.labels(*pair).set(0.5)
    exported = {s.name for family in worker.registry.collect() for s in family.samples}
    rules = (PROM / "alerts.yml").read_text()
    used = set(re.findall(r"\b(yidi_[a-z_]+)", rules))
    assert used, "no yidi metric in the rules"
    assert used <= exported, f"rules read metrics no worker exports: {sorted(used - exported)}"
