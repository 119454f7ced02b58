"""The stream engine without a broker: the same tasks, the same guard, batches from memory.

``StreamEngine`` (engine.py) runs a task per partition over fetched batches: each record
through ``process_record`` (the task's result, or the ``RecordGuard``'s DLQ record and
error ack), then one ``flush_state`` per touched task, then the outputs, the state writes
and the commit, in that order. ``MemoryEngine`` does the same steps over records a caller
hands it, and keeps what the broker would have received: every output, every changelog
write, the compacted changelog per partition (what a restore reads) and the committed next
offsets. Unit tests, the task benchmark (``yidi bench task``), the filings rebuild and the
shadow replay drive tasks through it, so none of them writes its own per-record loop.
``tests/integration/events/stream/test_memory_engine_contract.py`` holds it to the Kafka engine: the same
input gives the same outputs, changelog and positions.

What it does not model: fetching (a batch is what the caller passes, processed in the
order given: the broker hands a batch over partition by partition, and a partition's task
sees its records in offset order either way), rebalances and a broker refusing a write.
A crash is ``restart()``: the tasks go, the compacted changelog stays, and the next batch
restores each task from it, as a new owner restores from the changelog topic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from events.stream.guard import RecordGuard, process_record
from events.stream.metrics import StreamMetrics, report_records
from events.stream.types import InputRecord, Output, Result, StateWrite, Task, TaskFactory

Store = dict[bytes, bytes]
"""A partition's compacted changelog: the latest value per key (tombstones removed)."""


@dataclass(slots=True)
class MemoryStats:
    """The counters ``EngineStats`` keeps that mean something without a broker."""

    records: int = 0
    failed: int = 0
    """Records the guard gave an outcome to (processing raised, or unparseable)."""
    outputs: int = 0
    writes: int = 0
    batches: int = 0
    restores: int = 0


@dataclass(slots=True)
class MemoryEngine:
    """One member owning every partition it meets, driven batch by batch.

    ``keep=False`` keeps no history (outputs, the write log): a benchmark or a long replay
    that reads each batch's outputs from ``batch``'s return value. ``changelog=False`` keeps
    no compacted store either (a replay that never restarts its tasks)."""

    factory: TaskFactory
    guard: RecordGuard
    keep: bool = True
    changelog: bool = True
    on_batch: Callable[[list[Output]], None] | None = None
    """Called with each batch's outputs after they are "published", before its state writes
    (the engine's ``on_batch`` hook: the registration worker lands its projection there)."""
    stores: dict[int, Store] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    """Every output of every batch, in publishing order (with ``keep``)."""
    writes: list[tuple[int, StateWrite]] = field(default_factory=list)
    """Every changelog write as sent, with its partition (with ``keep``)."""
    committed: dict[tuple[str, int], int] = field(default_factory=dict)
    """The next offset of each (topic, partition): what the engine commits after a batch."""
    stats: MemoryStats = field(default_factory=MemoryStats)
    metrics: StreamMetrics | None = None
    """Told once per batch, as the live engine tells it (``yidi bench task`` measures its cost)."""

    def batch(self, records: Sequence[InputRecord]) -> list[Result]:
        """Process one batch as the engine does; returns each record's result, in order
        (the guard's outcome for a record that could not be parsed or whose task raised)."""
        started = time.perf_counter()
        results: list[Result] = []
        touched: dict[int, Task] = {}
        commits: dict[tuple[str, int], int] = {}
        guard = self.guard
        before = guard.handled
        for record in records:
            task = touched.get(record.partition)
            if task is None:
                task = touched[record.partition] = self._task_for(record.partition)
            results.append(process_record(task, record, guard))
            commits[(record.topic, record.partition)] = record.offset + 1
        outputs = [o for r in results for o in r.outputs]
        writes = [(r_p, w) for r_p, r in _partitions(records, results) for w in r.writes]
        for partition, task in touched.items():
            writes.extend((partition, w) for w in task.flush_state())
        if self.on_batch is not None:
            self.on_batch(outputs)
        self._log(writes)
        self.committed.update(commits)
        stats = self.stats
        stats.records += len(records)
        stats.failed += guard.handled - before
        stats.outputs += len(outputs)
        stats.writes += len(writes)
        stats.batches += 1
        if self.keep:
            self.outputs.extend(outputs)
        if self.metrics is not None:
            report_records(self.metrics, records, outputs, started, guard.ack_topics)
        return results

    def run(self, records: Sequence[InputRecord], size: int) -> list[Output]:
        """``records`` in batches of ``size``; the outputs of all of them, in order."""
        outputs: list[Output] = []
        for start in range(0, len(records), size):
            for result in self.batch(records[start : start + size]):
                outputs.extend(result.outputs)
        return outputs

    def restart(self) -> None:
        """A crash after the last batch's changelog writes: every task is dropped and is
        restored from the compacted changelog when its partition next has a record."""
        self.tasks.clear()

    def _task_for(self, partition: int) -> Task:
        task = self.tasks.get(partition)
        if task is None:
            restored = dict(self.stores.get(partition, {}))
            task = self.tasks[partition] = self.factory(partition, restored)
            self.stats.restores += 1
        return task

    def _log(self, writes: list[tuple[int, StateWrite]]) -> None:
        if self.keep:
            self.writes.extend(writes)
        if not self.changelog:
            return
        stores = self.stores
        for partition, w in writes:
            store = stores.get(partition)
            if store is None:
                store = stores[partition] = {}
            if w.value is None:
                store.pop(w.key, None)
            else:
                store[w.key] = w.value


def _partitions(
    records: Sequence[InputRecord], results: Sequence[Result]
) -> Iterable[tuple[int, Result]]:
    """Each result with its record's partition, for results that carry writes (a task may
    return writes with a record instead of accumulating them for ``flush_state``)."""
    return ((rec.partition, res) for rec, res in zip(records, results, strict=True) if res.writes)
