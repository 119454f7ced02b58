"""``yidi bench supervision --during-pipeline``: the supervision worker's lag while
``yidi bench pipeline`` drives the adjudicators as fast as they go.

The worker starts in a fresh group positioned at the current ends of the visit and
settlement topics (it judges only the bench's traffic); the lag — records on both topics
past the group's committed offsets, summed over partitions — is sampled every second from
the pipeline bench's start until the worker has caught up (or ``catchup_timeout_s``).
Why sampled from outside: the lag a supervisor can afford is the question (it is off the
hospitals' ack path), and the group's committed offsets are what a restart resumes from.
A few records past the commit at the end are transaction markers, not work (one per
partition and transaction), so "caught up" is a lag no larger than the partition count.
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

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from events.catalog import PERSON_PARTITIONS
from events.stream import clients
from events.stream.clients import KafkaConnection
from services.supervision.app import GROUP
from services.tools.bench.supervision import TOPICS


@dataclass
class LagRun:
    samples: list[tuple[float, int]] = field(default_factory=list)
    pipeline_s: float = 0.0
    catchup_s: float | None = None
    pipeline: dict[str, object] = field(default_factory=dict)
    worker_log: str = ""

    @property
    def max_lag(self) -> int:
        return max((lag for _, lag in self.samples), default=0)

    def lag_at(self, t: float) -> int:
        return next((lag for s, lag in reversed(self.samples) if s <= t), 0)


async def _start_at_ends(bootstrap: KafkaConnection, group: str) -> None:
    tps = [TopicPartition(t, p) for t in TOPICS for p in range(PERSON_PARTITIONS)]
    consumer = clients.consumer(bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in ends.items()})
    finally:
        await consumer.stop()


async def _lag(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> int:
    ends = await consumer.end_offsets(tps)
    total = 0
    for tp in tps:
        committed = await consumer.committed(tp)
        total += max(0, ends[tp] - (committed or 0))
    return total


async def _sample(
    bootstrap: KafkaConnection, group: str, bench: subprocess.Popen[bytes], catchup_timeout_s: float
) -> LagRun:
    run = LagRun()
    tps = [TopicPartition(t, p) for t in TOPICS for p in range(PERSON_PARTITIONS)]
    consumer = clients.consumer(bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    t0 = time.monotonic()
    try:
        while True:
            now = time.monotonic() - t0
            lag = await _lag(consumer, tps)
            run.samples.append((round(now, 1), lag))
            if bench.poll() is not None and not run.pipeline_s:
                run.pipeline_s = now
            if run.pipeline_s and lag <= len(tps):
                run.catchup_s = now - run.pipeline_s
                return run
            if run.pipeline_s and now - run.pipeline_s > catchup_timeout_s:
                return run
            await asyncio.sleep(1.0)
    finally:
        await consumer.stop()


def during_pipeline(
    bootstrap: KafkaConnection, visits: int, catchup_timeout_s: float = 600
) -> LagRun:
    """One pipeline bench run (``--rates 0 --runs 1``) with the supervision worker alongside."""
    suffix = f"-lag-{uuid.uuid4().hex[:8]}"
    asyncio.run(_start_at_ends(bootstrap, GROUP + suffix))
    yidi = str(Path(sys.executable).with_name("yidi"))
    env = {**os.environ, "YIDI_GROUP_SUFFIX": suffix, "YIDI_LOG_LEVEL": "warning"}
    # the worker's output is kept (warnings and errors only): a run that never catches up
    # says why in it
    log_path = Path(tempfile.gettempdir()) / f"yidi-bench-supervision{suffix}.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen([yidi, "worker", "supervision"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        time.sleep(8.0)  # faust's start-up and first assignment, before the load
        bench = subprocess.Popen(
            [yidi, "bench", "pipeline", "--rates", "0", "--runs", "1", "--warmup", "0",
             "--visits", str(visits), "--json"],
            env={**os.environ, "YIDI_LOG_LEVEL": "warning"},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        run = asyncio.run(_sample(bootstrap, GROUP + suffix, bench, catchup_timeout_s))
        run.worker_log = str(log_path)
        out, _ = bench.communicate(timeout=60)
        lines = [x for x in out.decode().splitlines() if x.startswith("{")]
        run.pipeline = json.loads(lines[-1]) if lines else {}
        return run
    finally:
        worker.terminate()
        worker.wait(timeout=60)
