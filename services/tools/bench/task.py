"""CPU cost of the adjudication stream task alone: simulated records through
``AdjudicationTask.process`` and ``flush_state``, no broker, one core.

Why a separate bench: the pipeline bench mixes Kafka, the ledger and the
scheduler; this one isolates what the adjudicator spends per message, so a
change to the codec, the handler or the state rows shows up undiluted. The
records are what the pipeline bench publishes (``plan_messages``), partitioned
like the broker does (murmur2 of the person key over 12 partitions), in send
order (agencies' messages first, then visits), and fed in batches through the
stream layer's in-memory driver (``events/stream/memory.py``: the engine's
per-record step and guard, one ``flush_state`` per touched partition per batch).

Baselines measured in the same run, interleaved with the task: ``Codec.decode``
of the same records (parse headers, validate the body, verify the MAC), and
plain ``orjson.loads`` of the same bodies. The timed passes run with the cycle collector
tuned as ``yidi worker`` tunes it (``services/runtime/gc_tuning.py``).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka.partitioner import murmur2

from events import catalog
from events.catalog import PERSON_PARTITIONS
from events.stream.memory import MemoryEngine
from events.stream.metrics import StreamMetrics
from events.stream.types import InputRecord, TaskFactory
from events.wire.codec import Codec
from events.wire.errors import DecodeError
from services.adjudication.core.tables import ReferenceData
from services.adjudication.task import AdjudicationTask
from services.adjudication.task import guard as adjudication_guard
from services.runtime.gc_tuning import tune_gc
from services.runtime.metrics import WorkerMetrics
from services.runtime.stats import median
from services.tools.simulator.run import plan_messages

REGISTRATION_TOPIC = catalog.REGISTRATION
TIMESTAMP_MS = 1_791_763_200_000
"""Every record's broker timestamp (DLQ records copy it): fixed, so outputs are repeatable."""


def partition_of(key: bytes | None, partitions: int = PERSON_PARTITIONS) -> int:
    """The partition the broker's default partitioner picks for ``key`` (0 without one)."""
    return 0 if key is None else (murmur2(key) & 0x7FFFFFFF) % partitions


def simulated_records(
    reference_dir: Path, codec: Codec, visits: int, seed: int, run_id: str = "bench-task"
) -> list[InputRecord]:
    """A simulated run as consumed records: registration topic first, then the visits."""
    built = plan_messages(reference_dir, codec, visits, seed, run_id)
    ordered = [b for b in built if b.topic == REGISTRATION_TOPIC]
    ordered += [b for b in built if b.topic != REGISTRATION_TOPIC]
    offsets: dict[tuple[str, int], int] = {}
    records = []
    for b in ordered:
        key, value, headers = b.record
        partition = partition_of(key)
        offset = offsets.get((b.topic, partition), 0)
        offsets[(b.topic, partition)] = offset + 1
        records.append(InputRecord(b.topic, partition, offset, key, value, headers, TIMESTAMP_MS))
    return records


def adjudication_factory(codec: Codec, ref: ReferenceData) -> TaskFactory:
    return lambda partition, restored: AdjudicationTask(partition, restored, codec, ref)


def adjudication_engine(
    codec: Codec, ref: ReferenceData, *, keep: bool = True, metrics: StreamMetrics | None = None
) -> MemoryEngine:
    """The adjudication task on the stream layer's in-memory driver, with the guard the live
    engine gives it (``bootstrap.adjudication_engine``) and, with ``metrics``, its metrics."""
    return MemoryEngine(
        adjudication_factory(codec, ref), adjudication_guard(codec), keep=keep, metrics=metrics
    )


@dataclass(frozen=True, slots=True)
class TaskBench:
    """Medians over runs (rates per CPU second); ratios against the baselines measured in
    the same runs."""

    records: int
    visit_records: int
    batch: int
    runs: int
    task_per_s: float
    best_per_s: float
    decode_per_s: float
    json_per_s: float
    outputs: int
    changelog_writes: int
    changelog_bytes: int
    metrics_per_s: float = 0.0
    """The same passes with the Prometheus adapter told each batch (as the live worker is)."""

    @property
    def metrics_cost(self) -> float:
        """The metrics' share of the task's CPU time (0.01: 1 %)."""
        return self.task_per_s / self.metrics_per_s - 1 if self.metrics_per_s else 0.0

    @property
    def us_per_record(self) -> float:
        return 1e6 / self.task_per_s if self.task_per_s else 0.0

    @property
    def ratio_to_decode(self) -> float:
        return self.task_per_s / self.decode_per_s if self.decode_per_s else 0.0

    @property
    def ratio_to_json(self) -> float:
        return self.task_per_s / self.json_per_s if self.json_per_s else 0.0


def drain(engine: MemoryEngine, records: list[InputRecord], size: int) -> None:
    """``records`` through ``engine`` in batches of ``size``, each batch's outputs dropped once
    the batch is done, as the live engine drops them once published.

    Why not ``MemoryEngine.run``: it returns every output of the run, so a timed pass held
    all ~9,300 outputs (their headers lists and tuples: ~90,000 objects the cycle collector
    tracks) to the end, and the collector walked them: 121.3 vs 110.2 µs a record (same
    process, alternating, collector tuned; 6 young collections in 6 passes vs none), a cost
    the worker does not have."""
    for start in range(0, len(records), size):
        engine.batch(records[start : start + size])


def _timed(fn: Callable[[], object]) -> float:
    """CPU seconds of this process: other processes on a shared machine (a broker, other
    benchmarks) lengthen wall time but not this, and the task alone never waits on I/O.

    What ``fn`` returns is freed after the clock stops: a pass returns its engine, whose
    tables (every person's row, ~4,200 of them) a live worker keeps for as long as it owns
    the partitions and frees only at a rebalance or shutdown. Freed inside the clock they
    cost 2.3-2.6 µs a record (measured alone, 5 passes), a cost the worker's records do
    not have."""
    started = time.process_time()
    kept = fn()
    elapsed = time.process_time() - started
    del kept
    return elapsed


def run(
    reference_dir: Path,
    codec: Codec,
    ref: ReferenceData,
    visits: int = 2000,
    runs: int = 5,
    batch: int = 200,
    seed: int = 7,
) -> TaskBench:
    """``runs`` timed passes over the same records (fresh tasks each), after one warm-up."""
    records = simulated_records(reference_dir, codec, visits, seed)

    def task_pass() -> MemoryEngine:
        engine = adjudication_engine(codec, ref, keep=False)
        drain(engine, records, batch)
        return engine

    worker = WorkerMetrics()

    def metrics_pass() -> MemoryEngine:
        engine = adjudication_engine(
            codec, ref, keep=False, metrics=worker.processor("adjudication")
        )
        drain(engine, records, batch)
        return engine

    def decode_pass() -> None:
        for r in records:
            with contextlib.suppress(DecodeError):
                codec.decode(r.key, r.value, r.headers)

    def json_pass() -> None:
        for r in records:
            with contextlib.suppress(orjson.JSONDecodeError):
                orjson.loads(r.value or b"")

    checked = adjudication_engine(codec, ref)
    checked.run(records, batch)
    log = [w for _partition, w in checked.writes]
    task_s, decode_s, json_s, metrics_s = [], [], [], []
    thresholds = gc.get_threshold()
    tune_gc()  # as ``yidi worker`` runs (services/runtime/gc_tuning.py)
    try:
        for i in range(runs):
            decode_s.append(_timed(decode_pass))
            json_s.append(_timed(json_pass))
            if i % 2:  # alternate which goes first: neither gets the other's warm caches each time
                metrics_s.append(_timed(metrics_pass))
                task_s.append(_timed(task_pass))
            else:
                task_s.append(_timed(task_pass))
                metrics_s.append(_timed(metrics_pass))
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    n = len(records)
    return TaskBench(
        records=n,
        visit_records=sum(r.topic != REGISTRATION_TOPIC for r in records),
        batch=batch,
        runs=runs,
        task_per_s=n / median(task_s),
        best_per_s=n / min(task_s),
        decode_per_s=n / median(decode_s),
        json_per_s=n / median(json_s),
        outputs=len(checked.outputs),
        changelog_writes=len(log),
        changelog_bytes=sum(len(w.key) + len(w.value or b"") for w in log),
        metrics_per_s=n / median(metrics_s),
    )
