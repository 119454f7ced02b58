"""Where a benchmark's CPU went: seconds per component of the box while a level ran.

Why: on a two-core machine the workers, the broker, PostgreSQL and the load
generator share the same cores, so a rate alone does not say what bounds it.
Components are found by process (the workers the bench started, this process,
the JVM running ``kafka.Kafka`` that listens on the bench's bootstrap port, every
process of the PostgreSQL postmaster that listens on the database URL's port);
one the bench may not inspect is left out rather than guessed. Other brokers and
clusters on the same machine (other work trees' stacks) are not counted: only the
ones serving this bench's settings.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil

LOAD_GENERATOR = "load generator"
"""The bench's own process: reported apart from what the system under test costs."""


def _busy(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _listens_on(proc: psutil.Process, ports: Collection[int]) -> bool:
    try:
        conns = proc.net_connections(kind="inet")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port in ports for c in conns)


def _broker(ports: Collection[int] | None) -> list[psutil.Process]:
    """Every ``kafka.Kafka`` JVM listening on one of ``ports`` (``None``: every one)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if "kafka.Kafka" in (proc.info.get("cmdline") or []) and (
            ports is None or _listens_on(proc, ports)
        ):
            found.append(proc)
    return found


def _postmasters(port: int | None) -> list[psutil.Process]:
    """The postmaster listening on ``port`` (``None``: every postmaster)."""
    found = []
    for proc in psutil.process_iter(["name", "ppid"]):
        if proc.info.get("name") != "postgres":
            continue
        try:
            parent = psutil.Process(proc.info["ppid"]).name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            parent = ""
        if parent != "postgres" and (port is None or _listens_on(proc, (port,))):
            found.append(proc)
    return found


def bootstrap_ports(bootstrap: str) -> set[int]:
    """``host:port[,host:port...]`` -> the ports (the local brokers are found by them)."""
    return {int(hp.rsplit(":", 1)[1]) for hp in bootstrap.split(",") if ":" in hp}


def database_port(url: str) -> int:
    return urlsplit(url).port or 5432


@dataclass(frozen=True, slots=True)
class Snapshot:
    seconds: dict[str, dict[int, float]]
    """component -> pid -> CPU seconds so far."""


class CpuMeter:
    """CPU seconds per component between two snapshots."""

    def __init__(
        self,
        workers: Mapping[str, Iterable[int]],
        kafka_ports: Collection[int] | None = None,
        pg_port: int | None = None,
    ) -> None:
        """``kafka_ports`` / ``pg_port``: count only the broker(s) and the postmaster
        serving the bench (``None``: every one on the machine, as before)."""
        self.groups: dict[str, list[psutil.Process]] = {
            name: [psutil.Process(pid) for pid in pids] for name, pids in workers.items()
        }
        self.groups[LOAD_GENERATOR] = [psutil.Process(os.getpid())]
        self.groups["kafka"] = _broker(kafka_ports)
        self.postmasters = _postmasters(pg_port)

    @property
    def pids(self) -> dict[str, list[int]]:
        """What is metered (the postmasters; their backends are found at each snapshot)."""
        out = {name: [p.pid for p in procs] for name, procs in self.groups.items()}
        out["postgresql"] = [p.pid for p in self.postmasters]
        return out

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

    async def settled(
        self, share: float = 0.1, interval_s: float = 2.0, timeout_s: float = 300.0
    ) -> float:
        """Wait until every worker uses less than ``share`` of a core over ``interval_s``:
        with no traffic being sent, a busy worker is still working off a backlog (a
        worker that starts from its group's position behind earlier runs' records, as
        ``--also`` workers do), which would otherwise be charged to the measured runs.
        Returns the seconds waited (``timeout_s`` at most)."""
        import asyncio

        workers = [k for k in self.groups if k not in (LOAD_GENERATOR, "kafka")]
        started = time.monotonic()
        before = self.snapshot()
        while time.monotonic() - started < timeout_s:
            await asyncio.sleep(interval_s)
            after = self.snapshot()
            used = self.between(before, after)
            if all(used.get(k, 0.0) < share * interval_s for k in workers):
                break
            before = after
        return time.monotonic() - started

    @staticmethod
    def between(before: Snapshot, after: Snapshot) -> dict[str, float]:
        """CPU seconds per component; a process started in between counts from zero, one
        that ended in between is missing (a PostgreSQL backend of a closed connection)."""
        out: dict[str, float] = {}
        for name, now in after.seconds.items():
            then = before.seconds.get(name, {})
            out[name] = sum(max(0.0, s - then.get(pid, 0.0)) for pid, s in now.items())
        return out


def per_settlement_us(cpu_s: Mapping[str, float], settlements: int) -> dict[str, object]:
    """CPU µs per accepted settlement: each component, the system under test summed (every
    worker, the broker, PostgreSQL) and the load generator apart."""
    if not settlements:
        return {}
    us = {k: round(1e6 * v / settlements) for k, v in sorted(cpu_s.items(), key=lambda kv: -kv[1])}
    system = sum(v for k, v in cpu_s.items() if k != LOAD_GENERATOR)
    return {
        "system_total": round(1e6 * system / settlements),
        "load_generator": us.get(LOAD_GENERATOR, 0),
        "by_component": {k: v for k, v in us.items() if k != LOAD_GENERATOR},
    }
