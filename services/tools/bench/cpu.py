"""Where a benchmark's CPU went: seconds per component of the box while a level ran.

Why: on a two-core machine the workers, the broker, PostgreSQL and the load
generator share the same cores, so a rate alone does not say what bounds it.
Components are found by process (the workers the bench started, this process,
the JVM running ``kafka.Kafka``, every process of a PostgreSQL postmaster);
one the bench may not inspect is left out rather than guessed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psutil


def _busy(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _broker() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if "kafka.Kafka" in (proc.info.get("cmdline") or []):
            found.append(proc)
    return found


def _postmasters() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "ppid"]):
        if proc.info.get("name") != "postgres":
            continue
        try:
            parent = psutil.Process(proc.info["ppid"]).name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            parent = ""
        if parent != "postgres":
            found.append(proc)
    return found


@dataclass(frozen=True, slots=True)
class Snapshot:
    seconds: dict[str, dict[int, float]]
    """component -> pid -> CPU seconds so far."""


class CpuMeter:
    """CPU seconds per component between two snapshots."""

    def __init__(self, workers: Mapping[str, Iterable[int]]) -> None:
        self.groups: dict[str, list[psutil.Process]] = {
            name: [psutil.Process(pid) for pid in pids] for name, pids in workers.items()
        }
        self.groups["load generator"] = [psutil.Process(os.getpid())]
        self.groups["kafka"] = _broker()
        self.postmasters = _postmasters()

    def snapshot(self) -> Snapshot:
        groups = dict(self.groups)
        backends = list(self.postmasters)
        for master in self.postmasters:
            try:
                backends += master.children(recursive=True)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        groups["postgresql"] = backends
        seconds: dict[str, dict[int, float]] = {}
        for name, procs in groups.items():
            per_pid = seconds.setdefault(name, {})
            for proc in procs:
                try:
                    per_pid[proc.pid] = _busy(proc)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
        return Snapshot(seconds)

    @staticmethod
    def between(before: Snapshot, after: Snapshot) -> dict[str, float]:
        """CPU seconds per component; a process started in between counts from zero, one
        that ended in between is missing (a PostgreSQL backend of a closed connection)."""
        out: dict[str, float] = {}
        for name, now in after.seconds.items():
            then = before.seconds.get(name, {})
            out[name] = sum(max(0.0, s - then.get(pid, 0.0)) for pid, s in now.items())
        return out
