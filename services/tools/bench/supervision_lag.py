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

When the load stops: the last sample at which the topics' ends (summed) still grew — the
pipeline bench's process lives on for its teardown and report, so its exit is not the
end of the load. The catch-up is measured from there (0 when the worker was already
caught up then).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
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
from services.tools.bench.supervision import TOPICS, wait_stages, worker_log_path


@dataclass
class LagRun:
    samples: list[tuple[float, int]] = field(default_factory=list)
    """(seconds since the pipeline bench started, lag in records)."""
    ends: list[int] = field(default_factory=list)
    """The topics' summed end offsets at each sample."""
    pipeline_s: float = 0.0
    caught_up_at: float | None = None
    """The first sample with the lag at most the partition count, at or after the load's end."""
    pipeline: dict[str, object] = field(default_factory=dict)
    worker_log: str = ""
    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def max_lag(self) -> int:
        return max((lag for _, lag in self.samples), default=0)

    def lag_at(self, t: float) -> int:
        return next((lag for s, lag in reversed(self.samples) if s <= t), 0)

    @property
    def load_end_s(self) -> float:
        """The last sample at which the topics' ends grew (the load's end)."""
        last = 0
        for i in range(1, len(self.ends)):
            if self.ends[i] > self.ends[i - 1]:
                last = i
        return self.samples[last][0] if self.samples else 0.0

    @property
    def catchup_s(self) -> float | None:
        """Seconds from the load's end until caught up (None: not within the timeout)."""
        if self.caught_up_at is None:
            return None
        return max(0.0, self.caught_up_at - self.load_end_s)


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


async def _lag(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> tuple[int, int]:
    """The group's lag and the topics' summed end offsets."""
    ends = await consumer.end_offsets(tps)
    total = 0
    for tp in tps:
        committed = await consumer.committed(tp)
        total += max(0, ends[tp] - (committed or 0))
    return total, sum(ends.values())


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
            lag, end = await _lag(consumer, tps)
            run.samples.append((round(now, 1), lag))
            run.ends.append(end)
            if bench.poll() is not None and not run.pipeline_s:
                run.pipeline_s = now
            if run.pipeline_s and lag <= len(tps):
                # the first sample since the load's end at which it was caught up
                since = [s for (s, x) in run.samples if s >= run.load_end_s and x <= len(tps)]
                run.caught_up_at = since[0] if since else now
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
    env = {**os.environ, "YIDI_GROUP_SUFFIX": suffix, "YIDI_LOG_LEVEL": "info"}
    # the worker's output is kept (its progress and stages every 10 s, warnings): a run
    # that never catches up says why in it
    log_path = worker_log_path(suffix)
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
        run.stages = wait_stages(log_path, after=time.time())
        out, _ = bench.communicate(timeout=60)
        lines = [x for x in out.decode().splitlines() if x.startswith("{")]
        run.pipeline = json.loads(lines[-1]) if lines else {}
        return run
    finally:
        worker.terminate()
        worker.wait(timeout=60)
