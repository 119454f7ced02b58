"""The Prometheus adapter of the stream layer's metrics port: what a batch report becomes,
and that no label can carry what a sender wrote."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from events.stream.guard import RecordGuard
from events.stream.memory import MemoryEngine
from events.stream.types import InputRecord, Output, Result, StateWrite, Task
from services.runtime.metrics import (
    ACK_TOPICS,
    BulkHistogram,
    GaugeSet,
    WorkerMetrics,
    code_label,
    topic_label,
)


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_codes_and_topics_as_labels() -> None:
    assert code_label("E_AUTH_MAC") == "E_AUTH_MAC"
    assert code_label("") == ""
    for text in ("110101199003074514", "张三", "e_lower", "E_" + "X" * 80, "13800138000"):
        assert code_label(text) == "OTHER"
    assert topic_label("yidi.ack.v1.H33090200001") == ACK_TOPICS
    assert topic_label("yidi.visit.v1") == "yidi.visit.v1"


def test_a_batch_counts_records_outputs_and_outcomes() -> None:
    w = WorkerMetrics()
    m = w.processor("adjudication")
    outputs = [
        Output("yidi.ack.v1.H1", b"k", b"v", [], ("accepted", "")),
        Output("yidi.ack.v1.H2", b"k", b"v", [], ("rejected", "E_NO_VALID_FILING")),
        Output("yidi.ack.v1.H2", b"k", b"v", [], ("rejected", "110101199003074514")),
        Output("yidi.settlement.v1", b"k", b"v"),
        Output("yidi.dlq.v1", b"k", b"v", [], ("dlq", "E_AUTH_MAC")),
    ]
    m.batch({"yidi.visit.v1": 4, "yidi.registration.v1": 1}, outputs, 0.02)
    r = w.registry
    assert _value(r, "yidi_records_in_total", processor="adjudication", topic="yidi.visit.v1") == 4
    assert _value(r, "yidi_records_out_total", processor="adjudication", topic=ACK_TOPICS) == 3
    assert _value(r, "yidi_records_out_total", processor="adjudication", topic="yidi.dlq.v1") == 1
    out = "yidi_outcomes_total"
    assert _value(r, out, processor="adjudication", outcome="accepted", code="") == 1
    assert _value(r, out, processor="adjudication", outcome="rejected", code="OTHER") == 1
    assert _value(r, out, processor="adjudication", outcome="dlq", code="E_AUTH_MAC") == 1
    assert _value(r, "yidi_batch_records_sum", processor="adjudication") == 5
    assert _value(r, "yidi_batch_duration_seconds_count", processor="adjudication") == 1


def test_ack_latency_histogram_is_cumulative() -> None:
    h = BulkHistogram("x_seconds", "doc", (0.1, 1.0))
    h.observe_many("p", [0.05, 0.5, 0.5, 7.0])
    samples = {(s.name, s.labels.get("le")): s.value for f in h.collect() for s in f.samples}
    assert samples[("x_seconds_bucket", "0.1")] == 1
    assert samples[("x_seconds_bucket", "1.0")] == 3
    assert samples[("x_seconds_bucket", "+Inf")] == 4
    assert samples[("x_seconds_count", None)] == 4
    assert abs(samples[("x_seconds_sum", None)] - 8.05) < 1e-9


def test_lag_of_a_revoked_partition_disappears() -> None:
    w = WorkerMetrics()
    m = w.processor("ledger")
    m.lag({("t", 0): 5, ("t", 1): 7})
    m.lag({("t", 1): 2})
    r = w.registry
    assert _value(r, "yidi_consumer_lag", processor="ledger", topic="t", partition="0") is None
    assert _value(r, "yidi_consumer_lag", processor="ledger", topic="t", partition="1") == 2
    g = GaugeSet(w.clearing_position)
    g.replace({("national", "2026-10", "310000", "330000"): 1.5})
    g.replace({})
    assert not [s for f in w.clearing_position.collect() for s in f.samples]


class _Echo:
    """Acks every record accepted; a record with value b"bad" is dead-lettered."""

    def process(self, record: InputRecord) -> Result:
        if record.value == b"bad":
            return Result([Output("yidi.dlq.v1", None, b"d", [], ("dlq", "E_FORMAT"))])
        return Result([Output("yidi.ack.v1.H1", None, b"a", [], ("accepted", ""))])

    def flush_state(self) -> list[StateWrite]:
        return []


def test_the_in_memory_driver_reports_each_batch() -> None:
    w = WorkerMetrics()

    def factory(_p: int, _restored: dict[bytes, bytes]) -> Task:
        return _Echo()

    guard = RecordGuard("t", ack_topics=frozenset({"yidi.visit.v1"}))
    engine = MemoryEngine(factory, guard, metrics=w.processor("adjudication"))
    records = [
        InputRecord("yidi.visit.v1", 0, i, b"k", b"bad" if i == 3 else b"ok", [], 1000 * i)
        for i in range(10)
    ]
    engine.run(records, 4)
    r = w.registry
    out = "yidi_outcomes_total"
    assert _value(r, out, processor="adjudication", outcome="accepted", code="") == 9
    assert _value(r, out, processor="adjudication", outcome="dlq", code="E_FORMAT") == 1
    assert _value(r, "yidi_batch_records_count", processor="adjudication") == 3
    assert _value(r, "yidi_ack_latency_seconds_count", processor="adjudication") == 10
