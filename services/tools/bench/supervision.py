"""``yidi bench supervision``: the supervision worker's records/s alone.

Each run starts ``yidi worker supervision`` in a fresh consumer group (fresh
tables) positioned at the start of the visit and settlement topics, and times
it from its first committed progress (faust's start-up and table recovery
excluded, reported apart) until it has committed the end of both topics.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from aiokafka import TopicPartition

from contracts.settlement import SETTLEMENT_TOPIC
from contracts.visit import VISIT_TOPIC
from events.catalog import PERSON_PARTITIONS
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.stream.reader import read_to_ends
from services.supervision.app import GROUP, PROGRESS_EVERY_S

TOPICS = (VISIT_TOPIC, SETTLEMENT_TOPIC)
TAIL = 200
"""How far back from a partition's end its last committed record is looked for."""


@dataclass(frozen=True, slots=True)
class WorkerRun:
    records: int
    startup_s: float
    seconds: float
    cpu_s: float
    """The worker process's CPU seconds (user + system, all its threads) over ``seconds``."""
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    """Where the worker's time went (its last ``supervision_progress`` line's ``stages``)."""
    worker_log: str = ""

    @property
    def per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_s(self) -> float:
        """Records per second of the worker's own CPU: what the worker costs, whatever else
        the shared box runs (a rate alone halves when another helper's tests start)."""
        return self.records / self.cpu_s if self.cpu_s else 0.0


async def _positions(bootstrap: KafkaConnection, group: str | None) -> dict[TopicPartition, int]:
    consumer = clients.consumer(bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in TOPICS for p in range(PERSON_PARTITIONS)]
        if group is None:
            return dict(await consumer.end_offsets(tps))
        return {tp: (await consumer.committed(tp)) or 0 for tp in tps}
    finally:
        await consumer.stop()


async def _beginnings(bootstrap: KafkaConnection) -> dict[TopicPartition, int]:
    consumer = clients.consumer(bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in TOPICS for p in range(PERSON_PARTITIONS)]
        return dict(await consumer.beginning_offsets(tps))
    finally:
        await consumer.stop()


async def work_ends(
    bootstrap: KafkaConnection, begins: dict[TopicPartition, int], ends: dict[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """Per partition, the offset after its last committed record: what a consumer that has
    done all the work commits. Why not the end offset: the settlement topic is written in
    transactions, whose commit marker takes the last offset, so a worker that processed
    everything commits one short of the end (the bench waited for ever since issue 18)."""
    peek = clients.consumer(bootstrap, enable_auto_commit=False, isolation_level="read_committed")
    await peek.start()
    out: dict[TopicPartition, int] = {}
    try:
        for tp, end in ends.items():
            if end <= begins[tp]:
                out[tp] = end
                continue
            peek.assign([tp])
            peek.seek(tp, max(begins[tp], end - TAIL))
            last = None
            async for rec in read_to_ends(peek, {tp: end}, stall_s=10.0):
                last = rec.offset
            out[tp] = end if last is None else last + 1
    finally:
        await peek.stop()
    return out


def one_run(bootstrap: KafkaConnection, timeout_s: float = 600, workers: int = 1) -> WorkerRun:
    """``workers`` processes of ``yidi worker supervision`` in the one fresh group (faust
    splits the partitions and their tables between them); the CPU is all of theirs, the
    stages the first one's."""
    ends = asyncio.run(_positions(bootstrap, None))
    begins = asyncio.run(_beginnings(bootstrap))
    records = sum(ends[tp] - begins[tp] for tp in ends)
    ends = asyncio.run(work_ends(bootstrap, begins, ends))
    suffix = f"-bench-{uuid.uuid4().hex[:8]}"
    yidi = str(Path(sys.executable).with_name("yidi"))
    env = {**os.environ, "YIDI_GROUP_SUFFIX": suffix, "YIDI_LOG_LEVEL": "info"}
    log_path = worker_log_path(suffix)
    started = time.monotonic()
    procs = []
    for i in range(workers):
        path = log_path if i == 0 else worker_log_path(f"{suffix}-{i}")
        with path.open("wb") as log:
            procs.append(subprocess.Popen([yidi, "worker", "supervision"], env=env,
                                          stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
    meters = [psutil.Process(p.pid) for p in procs]
    cpu: list[float] = []
    try:
        first, finished = asyncio.run(
            _wait(bootstrap, GROUP + suffix, begins, ends, started, timeout_s, meters, cpu)
        )
        stages = wait_stages(log_path, after=time.time())
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    return WorkerRun(records, first - started, finished - first, cpu[-1] - cpu[0], stages,
                     str(log_path))  # fmt: skip


def worker_log_path(suffix: str) -> Path:
    """Where a bench keeps its worker's output (info: progress and stages every 10 s)."""
    return Path(tempfile.gettempdir()) / f"yidi-bench-supervision{suffix}.log"


def last_stages(log_path: Path) -> tuple[float, dict[str, dict[str, float]]]:
    """The worker's last ``supervision_progress`` line: its time (epoch s) and stages."""
    found: tuple[float, dict[str, dict[str, float]]] = (0.0, {})
    for line in log_path.read_text("utf-8", errors="replace").splitlines():
        if '"supervision_progress"' not in line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        when = doc.get("timestamp", "")
        at = _epoch(when) if isinstance(when, str) else 0.0
        found = (at, doc.get("stages", {}))
    return found


def wait_stages(log_path: Path, after: float) -> dict[str, dict[str, float]]:
    """The worker's stages as of a progress line logged after ``after`` (epoch s), waiting
    for its next one (every ``PROGRESS_EVERY_S``); the last one seen if none comes."""
    deadline = time.monotonic() + PROGRESS_EVERY_S + 5
    while True:
        at, stages = last_stages(log_path)
        if at >= after or time.monotonic() > deadline:
            return stages
        time.sleep(0.5)


def _epoch(iso: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _cpu(procs: list[psutil.Process]) -> float:
    return float(sum(t.user + t.system for t in (p.cpu_times() for p in procs)))


async def _wait(
    bootstrap: KafkaConnection,
    group: str,
    begins: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    started: float,
    timeout_s: float,
    meter: list[psutil.Process],
    cpu: list[float],
) -> tuple[float, float]:
    first: float | None = None
    while True:
        await asyncio.sleep(0.1)
        done = await _positions(bootstrap, group)
        if first is None and any(done.values()):
            first = time.monotonic()
            cpu.append(_cpu(meter))
        if first is not None and all(done[tp] >= ends[tp] for tp in ends if ends[tp] > begins[tp]):
            cpu.append(_cpu(meter))
            return first, time.monotonic()
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{group} did not finish in {timeout_s}s")
