"""Prometheus metrics of one worker process: one registry, one ``/metrics`` port, a
``processor`` label per processor the process runs (``yidi worker all`` runs five).

The stream layer reports through its port (``events/stream/metrics.py``) once per batch;
``ProcessorMetrics`` is that port's adapter. Gauges read from PostgreSQL (sink lag, clearing
positions, prepayment usage) are set by the services that own those tables, every few
seconds, off the batch path. docs/metrics.md lists every metric with its labels.

No personal data in a label: label values are processor names, topic names (every ack topic,
one per sender, folded into ``yidi.ack.v1.*``: thousands of institutions would be thousands
of series), partition numbers, outcome words, error codes (checked against the codes' shape:
anything else is counted as ``OTHER``), rule ids and 6-digit region codes.
"""

from __future__ import annotations

import operator
import re
import threading
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterator, Mapping, Sequence
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from events.catalog import ACK_TOPIC_PREFIX
from events.stream.types import Output

log = structlog.get_logger("yidi.metrics")

DEFAULT_PORTS = {
    "all": 9460, "registration": 9461, "adjudication": 9462, "ledger": 9463,
    "clearing": 9464, "recon": 9465, "supervision": 9466,
}  # fmt: skip
"""``yidi worker NAME``'s ``/metrics`` port unless ``YIDI_METRICS_PORT`` says otherwise:
one port per worker so that every worker of a host can run beside the others."""

ACK_TOPICS = ACK_TOPIC_PREFIX + "*"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_SECONDS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_RECORDS_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000)
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_KEY = operator.attrgetter("topic", "outcome")


def topic_label(topic: str) -> str:
    return ACK_TOPICS if topic.startswith(ACK_TOPIC_PREFIX) else topic


def code_label(code: str) -> str:
    """An error code as a label value: the codes' own shape (``E_AUTH_MAC``), else ``OTHER``
    (a label must never carry what a sender wrote)."""
    return code if code == "" or _CODE.fullmatch(code) else "OTHER"


class BulkHistogram(Collector):
    """A histogram per processor filled a batch at a time: one lock per batch instead of one
    per record (prometheus_client's ``Histogram.observe`` takes a lock per value)."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = list(buckets)
        self._lock = threading.Lock()
        self._series: dict[str, tuple[list[int], list[float]]] = {}

    def observe_many(self, processor: str, values: Sequence[float]) -> None:
        bounds = self.bounds
        counts = [0] * (len(bounds) + 1)
        for v in values:
            counts[bisect_left(bounds, v)] += 1
        total = sum(values)
        with self._lock:
            series = self._series.get(processor)
            if series is None:
                series = self._series[processor] = ([0] * (len(bounds) + 1), [0.0])
            for i, n in enumerate(counts):
                series[0][i] += n
            series[1][0] += total

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=["processor"])
        with self._lock:
            snapshot = {p: (list(c), s[0]) for p, (c, s) in self._series.items()}
        for processor, (counts, total) in sorted(snapshot.items()):
            cumulative, buckets = 0, []
            for bound, n in zip([*map(str, self.bounds), "+Inf"], counts, strict=True):
                cumulative += n
                buckets.append((bound, float(cumulative)))
            family.add_metric([processor], buckets, total)
        yield family


class WorkerMetrics:
    """Every metric of one process, in its own registry (a test may build several)."""

    def __init__(self) -> None:
        # the ``*_created`` series are noise for counters that start at 0 with the process
        disable_created_metrics()  # type: ignore[no-untyped-call]
        r = self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        by_topic = ["processor", "topic"]
        self.records_in = Counter(
            "yidi_records_in", "Records consumed, per input topic", by_topic, registry=r
        )
        self.records_out = Counter(
            "yidi_records_out", "Records published, per output topic", by_topic, registry=r
        )
        self.outcomes = Counter(
            "yidi_outcomes",
            "Outcomes given to inputs: accepted, rejected, duplicate (acks), dlq (dead letters), "
            "conflict (a sink's row with other bytes for a landed id); code: the error code",
            ["processor", "outcome", "code"],
            registry=r,
        )
        self.batch_records = Histogram(
            "yidi_batch_records", "Records per batch", ["processor"],
            buckets=BATCH_RECORDS_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_seconds = Histogram(
            "yidi_batch_duration_seconds",
            "From a batch's fetch to its outputs (or rows) acknowledged",
            ["processor"], buckets=BATCH_SECONDS_BUCKETS, registry=r,
        )  # fmt: skip
        self.ack_latency = BulkHistogram(
            "yidi_ack_latency_seconds",
            "From a request record's Kafka timestamp (the sender's create time) to the broker's "
            "acknowledgement of the batch that carried its ack",
            LATENCY_BUCKETS,
        )
        r.register(self.ack_latency)
        by_partition = ["processor", "topic", "partition"]
        self.consumer_lag = Gauge(
            "yidi_consumer_lag",
            "Records between the consumer's position and the partition's last stable offset",
            by_partition, registry=r,
        )  # fmt: skip
        self.sink_lag = Gauge(
            "yidi_sink_lag",
            "Records between the log's end and the sink's stored position (sink_offsets)",
            by_partition, registry=r,
        )  # fmt: skip
        pair = ["scope", "period", "payer", "payee"]
        self.clearing_position = Gauge(
            "yidi_clearing_position_yuan",
            "Fund payments cleared so far in an open period, per payer -> payee pair",
            pair, registry=r,
        )  # fmt: skip
        self.prepayment_usage = Gauge(
            "yidi_prepayment_usage_ratio",
            "A pair's clearing amount of the period / the payer's prepayment to the payee",
            pair, registry=r,
        )  # fmt: skip
        self.prepayment_yellow = Gauge(
            "yidi_prepayment_yellow_ratio", "The pair's yellow warning line", pair, registry=r
        )
        self.prepayment_red = Gauge(
            "yidi_prepayment_red_ratio", "The pair's red warning line", pair, registry=r
        )
        self.alerts = Counter(
            "yidi_supervision_alerts", "Supervision alerts emitted, per rule",
            ["rule"], registry=r,
        )  # fmt: skip

    def processor(self, name: str) -> ProcessorMetrics:
        return ProcessorMetrics(self, name)

    def serve(self, host: str, port: int) -> WSGIServer | None:
        """``/metrics`` on ``host:port`` in a thread. A port already taken is logged and the
        worker runs on without it: metrics never stop settlement (Prometheus then reports
        the target down, which the ``YidiWorkerDown`` alert names)."""
        try:
            server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            log.error("metrics_port_unavailable", host=host, port=port, error=type(exc).__name__)
            return None
        log.info("metrics_serving", host=host, port=server.server_port)
        return server


class GaugeSet:
    """The label sets one owner sets on a gauge, replaced as a whole each time: a label set
    missing from the new values (a period closed, a partition revoked) is removed."""

    def __init__(self, gauge: Gauge) -> None:
        self.gauge = gauge
        self._set: set[tuple[str, ...]] = set()

    def replace(self, values: Mapping[tuple[str, ...], float]) -> None:
        for labels in self._set - values.keys():
            self.gauge.remove(*labels)
        for labels, value in values.items():
            self.gauge.labels(*labels).set(value)
        self._set = set(values)


class ProcessorMetrics:
    """The stream layer's ``StreamMetrics`` for one processor (its ``processor`` label)."""

    def __init__(self, worker: WorkerMetrics, name: str) -> None:
        self.worker = worker
        self.name = name
        self._in: dict[str, Counter] = {}
        self._out: dict[str, Counter] = {}
        self._outcome: dict[tuple[str, str], Counter] = {}
        self._batch_records: Histogram | None = None  # first batch: no series before one
        self._batch_seconds: Histogram | None = None
        self._lag = GaugeSet(worker.consumer_lag)
        self._sink_lag = GaugeSet(worker.sink_lag)

    def batch(self, records: Mapping[str, int], outputs: Sequence[Output], seconds: float) -> None:
        for topic, n in records.items():
            child = self._in.get(topic)
            if child is None:
                child = self._in[topic] = self.worker.records_in.labels(self.name, topic)
            child.inc(n)
        for (topic, outcome), n in Tally(map(_KEY, outputs)).items():
            out = self._out.get(topic)
            if out is None:
                out = self._out[topic] = self.worker.records_out.labels(
                    self.name, topic_label(topic)
                )
            out.inc(n)
            if outcome is not None:
                self._count(outcome, n)
        if self._batch_records is None or self._batch_seconds is None:
            self._batch_records = self.worker.batch_records.labels(self.name)
            self._batch_seconds = self.worker.batch_seconds.labels(self.name)
        self._batch_records.observe(sum(records.values()))
        self._batch_seconds.observe(seconds)

    def acked(self, timestamps_ms: Sequence[int], at_s: float) -> None:
        at_ms = at_s * 1000.0
        self.worker.ack_latency.observe_many(
            self.name, [max(0.0, (at_ms - t) / 1000.0) for t in timestamps_ms]
        )

    def outcomes(self, counts: Mapping[tuple[str, str], int]) -> None:
        for outcome, n in counts.items():
            if n:
                self._count(outcome, n)

    def _count(self, outcome: tuple[str, str], n: int) -> None:
        child = self._outcome.get(outcome)
        if child is None:
            status, code = outcome
            child = self._outcome[outcome] = self.worker.outcomes.labels(
                self.name, status, code_label(code)
            )
        child.inc(n)

    def lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        self._lag.replace({(self.name, t, str(p)): float(n) for (t, p), n in lags.items()})

    def sink_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """Log end vs the sink's stored positions (``services/runtime/sink.py`` samples it)."""
        self._sink_lag.replace({(self.name, t, str(p)): float(n) for (t, p), n in lags.items()})
