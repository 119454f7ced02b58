"""The supervision worker's metrics: what its handler counted, copied into the process's
Prometheus counters every ``SYNC_EVERY_S`` by a faust timer.

Why not the stream layer's port: this worker runs on faust's agents, not on the stream
engine (docs/supervision.md), and its handler already counts events per topic and alerts
per rule (``app.Counters``); the timer adds the increments since its last run, so the agents'
per-event path gains nothing but the dictionary increments it already did.
"""

from __future__ import annotations

from events import catalog
from services.runtime.metrics import ProcessorMetrics, WorkerMetrics
from services.supervision.app import Counters, Supervision

PROCESSOR = "supervision"
SYNC_EVERY_S = 2.0


class SupervisionMetrics:
    def __init__(self, worker: WorkerMetrics, counters: Counters) -> None:
        self.worker = worker
        self.counters = counters
        self.stream: ProcessorMetrics = worker.processor(PROCESSOR)
        self._topics: dict[str, int] = {}
        self._rules: dict[str, int] = {}
        self._skipped = 0
        self._late = 0

    def sync(self) -> None:
        """Add what the handler counted since the last call."""
        c, w = self.counters, self.worker
        for topic, n in dict(c.by_topic).items():
            if (d := n - self._topics.get(topic, 0)) > 0:
                w.records_in.labels(PROCESSOR, topic).inc(d)
                self._topics[topic] = n
        for rule, n in dict(c.by_rule).items():
            if (d := n - self._rules.get(rule, 0)) > 0:
                w.alerts.labels(rule).inc(d)
                w.records_out.labels(PROCESSOR, catalog.SUPERVISION).inc(d)
                self._rules[rule] = n
        if (d := c.skipped - self._skipped) > 0:
            self.stream.outcomes({("skipped", ""): d})
            self._skipped = c.skipped
        if (d := c.late - self._late) > 0:  # claims too late for their day (outliers.py)
            self.stream.outcomes({("late", "E_LATE_FOR_DAY"): d})
            self._late = c.late


def install(sup: Supervision, worker: WorkerMetrics) -> SupervisionMetrics:
    """Count into ``worker`` from the running app (a timer on the app, started with it)."""
    feed = SupervisionMetrics(worker, sup.counters)

    async def sync_metrics() -> None:
        feed.sync()

    sup.app.timer(interval=SYNC_EVERY_S)(sync_metrics)
    return feed
