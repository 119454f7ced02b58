"""``yidi metrics`` reads what a worker's /metrics page says, per processor."""

from __future__ import annotations

from prometheus_client import generate_latest

from events.stream.types import Output
from services.entry.cli.metrics import line, summary
from services.runtime.metrics import WorkerMetrics


def test_one_line_per_worker_with_its_processors_counts() -> None:
    w = WorkerMetrics()
    w.processor("adjudication").batch(
        {"yidi.visit.v1": 10},
        [Output("yidi.ack.v1.H1", None, b"", [], ("accepted", ""))] * 9
        + [Output("yidi.dlq.v1", None, b"", [], ("dlq", "E_AUTH"))],
        0.1,
    )
    w.processor("ledger").batch({"yidi.settlement.v1": 4}, [], 0.1)
    counts = summary(generate_latest(w.registry).decode())
    assert counts["adjudication"] == {"in": 10, "out": 10, "dlq": 1}
    assert counts["ledger"] == {"in": 4, "out": 0, "dlq": 0}
    assert line("all", "127.0.0.1:9460", counts) == (
        "all (127.0.0.1:9460): adjudication in 10 out 10 dlq 1 | ledger in 4 out 0"
    )
