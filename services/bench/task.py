"""CPU cost of the adjudication stream task alone: simulated records through
``AdjudicationTask.process`` and ``flush_state``, no broker, one core.

Why a separate bench: the pipeline bench mixes Kafka, the ledger and the
scheduler; this one isolates what the adjudicator spends per message, so a
change to the codec, the handler or the state rows shows up undiluted. The
records are what the pipeline bench publishes (``plan_messages``), partitioned
like the broker does (murmur2 of the person key over 12 partitions), in send
order (agencies' messages first, then visits), and fed in batches as the
engine fetches them: one ``flush_state`` per touched partition per batch.

Baselines measured in the same run, interleaved with the task: ``Codec.decode``
of the same records (parse headers, validate the body, verify the MAC), and
plain ``orjson.loads`` of the same bodies.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka.partitioner import murmur2

from events import catalog
from events.catalog import PERSON_PARTITIONS
from events.codec import Codec
from events.errors import DecodeError
from events.stream.guard import RecordGuard, process_record
from events.stream.types import InputRecord, Output, StateWrite, Task
from services.adjudication.core.tables import ReferenceData
from services.adjudication.task import AdjudicationTask
from services.runtime.stats import median
from services.simulator.run import plan_messages

REGISTRATION_TOPIC = catalog.REGISTRATION
TIMESTAMP_MS = 1_791_763_200_000
"""Every record's broker timestamp (DLQ records copy it): fixed, so outputs are repeatable."""

Store = dict[bytes, bytes]


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


def batches(records: Sequence[InputRecord], size: int) -> Iterable[Sequence[InputRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def feed(
    tasks: dict[int, Task],
    make_task: Callable[[int, Store], Task],
    records: Sequence[InputRecord],
    stores: dict[int, Store],
    log: list[StateWrite] | None = None,
    guard: RecordGuard | None = None,
) -> list[Output]:
    """One engine batch: process every record by its partition's task, then flush each
    touched task into its changelog store (last value per key wins, as compaction keeps);
    ``log`` collects every write, as the changelog topic receives them. Records go through
    the engine's own per-record step (``process_record``) with ``guard``."""
    guard = guard or RecordGuard("bench")
    outputs: list[Output] = []
    touched: dict[int, Task] = {}
    for record in records:
        task = tasks.get(record.partition)
        if task is None:
            task = tasks[record.partition] = make_task(
                record.partition, dict(stores.get(record.partition, {}))
            )
        touched[record.partition] = task
        outputs.extend(process_record(task, record, guard).outputs)
    for partition, task in touched.items():
        store = stores.setdefault(partition, {})
        for write in task.flush_state():
            if log is not None:
                log.append(write)
            if write.value is None:
                store.pop(write.key, None)
            else:
                store[write.key] = write.value
    return outputs


def adjudication_factory(codec: Codec, ref: ReferenceData) -> Callable[[int, Store], Task]:
    return lambda partition, restored: AdjudicationTask(partition, restored, codec, ref)


def run_all(
    make_task: Callable[[int, Store], Task], records: Sequence[InputRecord], batch: int
) -> tuple[list[Output], dict[int, Store]]:
    """Every record through fresh tasks, in batches of ``batch``: outputs and changelogs."""
    tasks: dict[int, Task] = {}
    stores: dict[int, Store] = {}
    outputs: list[Output] = []
    for chunk in batches(records, batch):
        outputs += feed(tasks, make_task, chunk, stores)
    return outputs, stores


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

    @property
    def us_per_record(self) -> float:
        return 1e6 / self.task_per_s if self.task_per_s else 0.0

    @property
    def ratio_to_decode(self) -> float:
        return self.task_per_s / self.decode_per_s if self.decode_per_s else 0.0

    @property
    def ratio_to_json(self) -> float:
        return self.task_per_s / self.json_per_s if self.json_per_s else 0.0


def _timed(fn: Callable[[], object]) -> float:
    """CPU seconds of this process: other processes on a shared machine (a broker, other
    benchmarks) lengthen wall time but not this, and the task alone never waits on I/O."""
    started = time.process_time()
    fn()
    return time.process_time() - started


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
    make_task = adjudication_factory(codec, ref)

    def task_pass() -> None:
        tasks: dict[int, Task] = {}
        stores: dict[int, Store] = {}
        for chunk in batches(records, batch):
            feed(tasks, make_task, chunk, stores)

    def decode_pass() -> None:
        for r in records:
            with contextlib.suppress(DecodeError):
                codec.decode(r.key, r.value, r.headers)

    def json_pass() -> None:
        for r in records:
            with contextlib.suppress(orjson.JSONDecodeError):
                orjson.loads(r.value or b"")

    log: list[StateWrite] = []
    tasks: dict[int, Task] = {}
    stores: dict[int, Store] = {}
    outputs: list[Output] = []
    for chunk in batches(records, batch):
        outputs += feed(tasks, make_task, chunk, stores, log)
    task_s, decode_s, json_s = [], [], []
    for _ in range(runs):
        decode_s.append(_timed(decode_pass))
        json_s.append(_timed(json_pass))
        task_s.append(_timed(task_pass))
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
        outputs=len(outputs),
        changelog_writes=len(log),
        changelog_bytes=sum(len(w.key) + len(w.value or b"") for w in log),
    )
