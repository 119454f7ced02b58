"""The simulator's report times the first seconds' acks apart: a worker just started restores
state and fills its caches, which a hospital in steady state never sees."""

from __future__ import annotations

from services.tools.simulator.report import Report


def test_acks_of_requests_sent_in_the_warmup_are_reported_apart() -> None:
    report = Report(warmup_s=10.0, visits_started=100.0)
    report.record_latency(sent=100.5, now=102.5)  # sent in the first 10 s: 2,000 ms
    report.record_latency(sent=109.9, now=110.9)  # still the warm-up: 1,000 ms
    report.record_latency(sent=110.0, now=110.02)  # steady state from here: 20 ms
    report.record_latency(sent=150.0, now=150.04)  # 40 ms
    assert report.warmup_latencies_ms == [2000.0, 1000.0]
    assert [round(x) for x in report.latencies_ms] == [20, 40]
    data = report.as_dict()
    assert data["warmup"] == {
        "first_s": 10.0, "acks": 2, "ack_latency_ms": {50: 2000.0, 95: 2000.0, 99: 2000.0},
    }  # fmt: skip
    assert data["ack_latency_ms"] == {50: 40.0, 95: 40.0, 99: 40.0}  # nearest rank of two


def test_without_a_warmup_every_ack_counts_and_no_warmup_figures_appear() -> None:
    report = Report(visits_started=5.0)
    report.record_latency(sent=5.0, now=5.1)
    assert "warmup" not in report.as_dict()
    assert [round(x) for x in report.latencies_ms] == [100]
