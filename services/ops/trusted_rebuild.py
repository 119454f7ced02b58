"""The ``--trusted`` rebuilds (ledger, clearing): the feed dealt to worker processes.

Why processes: at bulk speed the work is about half Python (fetch, JSON, COPY text) and
half PostgreSQL (parsing, heap and index inserts, WAL) for the ledger, mostly Python for
clearing, and one Python thread is the ceiling. The partitions are dealt to ``workers``
processes (``share_spans``), each landing its own with one PostgreSQL session
(``rebuild_worker.py``); a partition has one owner, so its positions only move forward with
its rows, exactly as under the live sink. Clearing's batches from two workers meet on the
running positions; they lock those rows in key order (``clearing/store.py``). The
processes start before the rebuild checks and plans, so their start-up overlaps it.

A worker that fails or dies leaves what it landed (rows and positions are one
transaction): the rebuild fails with ``WorkerFailed`` and running it again continues.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
from asyncio.subprocess import PIPE, Process
from collections.abc import Callable, Sequence

import orjson
import structlog

from contracts.pools import PoolingRegions
from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from services.ops import rebuild_worker
from services.ops.core.errors import WorkerFailed
from services.ops.core.replay import Span, share_spans
from services.ops.rebuild_worker import Counts, Job
from services.runtime.reference import load_pooling_regions

log = structlog.get_logger("yidi.ops.replay")

PROJECTIONS = ("ledger", "clearing")
WORKERS = os.cpu_count() or 1
"""Default worker processes: one per core (PostgreSQL shares the cores)."""


class Workers:
    """Worker processes, connected and waiting for their spans."""

    def __init__(self, procs: list[Process]) -> None:
        self._procs = procs

    @classmethod
    async def start(
        cls,
        bootstrap: KafkaConnection,
        database_url: str,
        codec: Codec,
        count: int,
        pools: PoolingRegions | None = None,
    ) -> Workers:
        """Start ``count`` workers; the database URL goes on their stdin, never in argv.
        ``pools``: clearing's pooling regions (default: those of ``deploy/reference``)."""
        pools = pools or load_pooling_regions()
        connect = pickle.dumps((bootstrap, database_url, pickle.dumps(codec), pools))
        procs = []
        for _ in range(max(1, count)):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", rebuild_worker.__name__, stdin=PIPE, stdout=PIPE
            )
            assert proc.stdin is not None
            proc.stdin.write(connect)
            procs.append(proc)
        return cls(procs)

    async def run(
        self,
        projection: str,
        topic: str,
        group: str,
        spans: Sequence[Span],
        rate: float | None,
        progress: Callable[[int], None],
    ) -> Counts:
        """Deal ``spans`` to the workers (each with its share of ``rate``) and wait for all."""
        shares = share_spans(spans, len(self._procs))
        share_rate = None if rate is None else rate / max(1, len(shares))
        jobs: list[Job | None] = [(projection, topic, group, share, share_rate) for share in shares]
        jobs += [None] * (len(self._procs) - len(jobs))
        totals = [0, 0, 0, 0]

        async def follow(proc: Process, job: Job | None) -> None:
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(pickle.dumps(job))
                await proc.stdin.drain()
                proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass  # it failed before reading its job: its report says why
            finished = False
            async for line in proc.stdout:
                report = orjson.loads(line)
                if report["kind"] == "progress":
                    progress(report["records"])
                elif report["kind"] == "refused":
                    log.warning("replay_trusted_batch_refused", error=report["error"],
                                records=report["records"])  # fmt: skip
                elif report["kind"] == "done":
                    for i, n in enumerate(report["counts"]):
                        totals[i] += n
                    finished = True
                else:
                    raise WorkerFailed(f"rebuild worker: {report['error']}: {report['reason']}")
            code = await proc.wait()
            if code != 0 or not finished:
                raise WorkerFailed(f"rebuild worker exited with {code} before its end")

        try:
            async with asyncio.TaskGroup() as running:
                for proc, job in zip(self._procs, jobs, strict=True):
                    running.create_task(follow(proc, job))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return totals[0], totals[1], totals[2], totals[3]

    async def close(self) -> None:
        """Stop any worker still running (the rebuild failed or was refused)."""
        for proc in self._procs:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
