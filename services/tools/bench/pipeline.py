"""End-to-end pipeline benchmark: offered load vs achieved settlements/s and ack latency.

The workers run as real ``yidi worker`` processes. For each offered rate a
fresh simulated run (its own persons and visits) is published; settlements/s
counts accepted settlement requests acked per second from the first visit
message to the last ack. The raw baseline produces the same visit messages to
a scratch topic and consumes them back with no processing, in the same run.
While a run publishes, the CPU of each component (workers, broker, PostgreSQL,
this load generator) is metered, so a rate comes with what bounded it.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.errors import CoordinatorLoadInProgressError, CoordinatorNotAvailableError

from events import catalog
from events.admin import describe_group
from events.stream import clients
from services.adjudication.task import GROUP as ADJUDICATION_GROUP
from services.entry.bootstrap import build_runtime
from services.ledger.worker import GROUP as LEDGER_GROUP
from services.runtime import principals
from services.runtime.settings import Settings
from services.tools.bench.cpu import CpuMeter, bootstrap_ports, database_port, per_settlement_us
from services.tools.bench.java_perf import JavaPerfUnavailable, measure
from services.tools.bench.raw_kafka import produce_consume
from services.tools.simulator.build import Built
from services.tools.simulator.run import plan_messages, publish

REFERENCE = Path(__file__).resolve().parents[3] / "deploy" / "reference"
YIDI = str(Path(sys.executable).with_name("yidi"))
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class Level:
    offered_msgs_per_s: float
    messages: int
    settlements: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    missing_acks: int
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds per component while the run published (registrations and visits)."""
    window_s: float = 0.0

    @property
    def settlements_per_s(self) -> float:
        return self.settlements / self.seconds if self.seconds else 0.0

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


async def run_level(
    settings: Settings, visits: int, rate: float, seed: int, meter: CpuMeter | None = None
) -> tuple[Level, list[Built]]:
    runtime = build_runtime(settings)
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    messages = plan_messages(
        settings.reference_dir or REFERENCE, runtime.codec, visits, seed, run_id
    )
    before = meter.snapshot() if meter is not None else None
    started = time.perf_counter()
    report = await publish(
        settings.kafka(principals.SIMULATOR),
        messages,
        rate,
        ADJUDICATION_GROUP,
        ack_timeout_s=300,
        batched=True,
    )
    window = time.perf_counter() - started
    cpu = CpuMeter.between(before, meter.snapshot()) if meter and before else {}
    settle_acks = report.settle_acks
    from services.runtime.stats import percentile

    lat = report.latencies_ms
    visit_msgs = [m for m in messages if m.topic == catalog.VISIT]
    level = Level(
        rate, len(visit_msgs), settle_acks, report.seconds,
        percentile(lat, 50), percentile(lat, 95), percentile(lat, 99), len(report.missing),
        cpu, window,
    )  # fmt: skip
    return level, visit_msgs


def _die_with_parent() -> None:
    """A bench killed by a timeout must not leave its workers in the consumer groups: they
    would hold partitions against the next run's workers and skew its numbers."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


EXTRA_GROUPS = {
    "clearing": catalog.CLEARING_GROUP, "supervision": catalog.SUPERVISION_GROUP,
    "registration": catalog.REGISTRATION_GROUP, "recon": catalog.RECON_GROUP,
}  # fmt: skip
"""The consumer group each optional worker joins (its feed, for clearing)."""
SUFFIXED = {"ledger", "clearing", "supervision", "recon"}
"""Groups that take ``YIDI_GROUP_SUFFIX`` (``services/entry/bootstrap.py``)."""


class WorkerProcesses:
    def __init__(
        self,
        adjudicators: int = 1,
        ledgers: int = 1,
        env: dict[str, str] | None = None,
        transactions: bool = True,
        also: tuple[str, ...] = (),
    ) -> None:
        """``also``: one worker of each of these kinds besides (``clearing``, ``supervision``,
        ``registration``, ``recon``), metered like the others."""
        unknown = set(also) - set(EXTRA_GROUPS)
        if unknown:
            raise ValueError(f"no such worker for the bench: {sorted(unknown)}")
        self.counts = {"adjudication": adjudicators, "ledger": ledgers} | {k: 1 for k in also}
        self.transactions = transactions
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = env or {}
        """Settings for the workers beyond this process's (the unsecured comparison's broker)."""

    def __enter__(self) -> WorkerProcesses:
        for kind, n in self.counts.items():
            for i in range(n):
                env = {
                    **os.environ,
                    "YIDI_LOG_LEVEL": "warning",
                    # the same ids every run: a new bench takes the last one's static
                    # memberships over at once instead of waiting out their sessions
                    "YIDI_INSTANCE_ID": f"bench-{i}",
                    **self.env,
                    "YIDI_TRANSACTIONS": "1" if self.transactions else "0",
                    # metrics on, as in production; each worker on a port of its own
                    "YIDI_METRICS_PORT": str(_free_port()),
                }
                self.procs.append(
                    subprocess.Popen(
                        [YIDI, "worker", kind],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        preexec_fn=_die_with_parent,  # noqa: PLW1509 (started before any thread)
                    )
                )
        return self

    async def ready(self, settings: Settings, timeout_s: float = 60) -> None:
        """Until each worker group is stable with exactly this bench's members, so no run
        pays for a rebalance (and the partition restores that follow it)."""
        groups = {"adjudication": ADJUDICATION_GROUP, "ledger": LEDGER_GROUP} | EXTRA_GROUPS
        groups = {k: g + settings.group_suffix if k in SUFFIXED else g for k, g in groups.items()}
        want = {groups[kind]: n for kind, n in self.counts.items()}
        admin = clients.admin(settings.kafka(), client_id="yidi-bench")
        await admin.start()
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    seen = {group: await describe_group(admin, group) for group in want}
                except (CoordinatorNotAvailableError, CoordinatorLoadInProgressError) as exc:
                    seen = {"coordinator": (type(exc).__name__, 0)}  # a fresh broker: not yet
                if all(seen.get(g) == ("Stable", n) for g, n in want.items()):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker groups not stable: {seen} (want {want})")
                await asyncio.sleep(0.5)
        finally:
            await admin.close()

    def pids(self) -> dict[str, list[int]]:
        kinds = [k for k, n in self.counts.items() for _ in range(n)]
        out: dict[str, list[int]] = {}
        for kind, proc in zip(kinds, self.procs, strict=True):
            out.setdefault(kind, []).append(proc.pid)
        return out

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def unsecured(settings: Settings, bootstrap: str) -> tuple[Settings, dict[str, str]]:
    """The same bench against an unsecured broker (``YIDI_LOCAL_KAFKA_SECURITY=off``): its
    settings and the workers' environment. Its own group suffix: the sinks keep positions in
    PostgreSQL per group, and the other broker's offsets are not this one's."""
    suffix = f"{settings.group_suffix}-unsecured"
    env = {
        "YIDI_KAFKA_BOOTSTRAP": bootstrap,
        "YIDI_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
        "YIDI_GROUP_SUFFIX": suffix,
    }
    update = {"kafka_bootstrap": bootstrap, "kafka_security_protocol": "PLAINTEXT",
              "group_suffix": suffix}  # fmt: skip
    return settings.model_copy(update=update), env


async def prepare_topics(settings: Settings) -> None:
    """The catalog on the comparison broker (``make up`` prepared only the secured one)."""
    from events.admin import apply
    from services.entry.bootstrap import catalog_with_acks

    await apply(settings.kafka(), catalog_with_acks(build_runtime(settings)), settings.env)


async def baseline(settings: Settings, visit_msgs: list[Built]) -> float:
    records = [m.record for m in visit_msgs]
    result = await produce_consume(
        settings.kafka(principals.SIMULATOR), records, f"bench.raw.{uuid.uuid4().hex[:8]}"
    )
    return result.per_second


def meter(settings: Settings, workers: WorkerProcesses) -> CpuMeter:
    """The workers, and the broker and PostgreSQL serving ``settings`` (not other stacks')."""
    return CpuMeter(
        workers.pids(),
        bootstrap_ports(settings.kafka_bootstrap),
        database_port(settings.database_url.get_secret_value()),
    )


async def java_ceiling(
    settings: Settings, visit_msgs: list[Built], records: int
) -> dict[str, object]:
    """Kafka's own producer and consumer perf tools on the same broker and security, the
    run's visit messages as payloads (``java_perf.py``); why not, when they cannot run."""
    try:
        found = await measure(
            settings.kafka(principals.SIMULATOR), [m.record[1] for m in visit_msgs], records
        )
    except (JavaPerfUnavailable, subprocess.TimeoutExpired) as exc:
        return {"unavailable": str(exc)[:300]}
    return found.as_dict()


def ratios(achieved: float, raw: float, java: dict[str, object]) -> dict[str, float | None]:
    """Our best visit messages/s over each baseline's messages/s."""

    def of(base: object) -> float | None:
        return round(achieved / float(str(base)), 3) if base else None

    return {
        "to_raw_aiokafka": of(raw),
        "to_java_producer": of(java.get("producer_msgs_per_s")),
        "to_java_consumer": of(java.get("consumer_msgs_per_s")),
    }


async def baselines(
    settings: Settings,
    visit_msgs: list[Built],
    runs: int,
    levels: list[dict[str, object]],
    java_records: int,
) -> dict[str, object]:
    """After the levels, on the same broker: the raw aiokafka produce -> consume of the last
    run's visit messages (median of ``runs``), Kafka's Java perf tools (unless
    ``java_records`` is 0), and the best level's visit messages/s over each."""
    from services.runtime.stats import median

    raw = median([await baseline(settings, visit_msgs) for _ in range(runs)])
    best = max(levels, key=lambda lv: float(str(lv["achieved_msgs_per_s"])))
    per_settlement = float(str(best["messages_per_settlement"]))
    achieved = float(str(best["achieved_msgs_per_s"]))
    java: dict[str, object] = {"skipped": "--java-records 0"}
    if java_records:
        java = await java_ceiling(settings, visit_msgs, java_records)
    return {
        "messages_per_settlement": per_settlement,
        "raw_baseline_msgs_per_s": round(raw),
        "raw_baseline_client": "aiokafka, the engine's producer and consumer settings",
        "ratio_best_to_raw": round(achieved / raw, 3),
        "raw_ceiling_settlements_per_s": round(raw / per_settlement) if per_settlement else 0,
        "java_ceiling": java,
        "ratios_best_to": ratios(achieved, raw, java),
    }


def summarize(offered: float, results: list[Level]) -> dict[str, object]:
    """One offered rate's runs: medians of the rates and percentiles, CPU as a share of
    one core over all the runs' publishing time, and the message mix."""
    from services.runtime.stats import median

    window = sum(x.window_s for x in results)
    cpu: dict[str, float] = {}
    for x in results:
        for name, seconds in x.cpu_s.items():
            cpu[name] = cpu.get(name, 0.0) + seconds
    settlements = sum(x.settlements for x in results)
    return {
        "offered_msgs_per_s": offered or "max",
        "achieved_msgs_per_s": round(median([x.messages_per_s for x in results])),
        "settlements_per_s": round(median([x.settlements_per_s for x in results])),
        "ack_p50_ms": round(median([x.p50_ms for x in results]), 1),
        "ack_p95_ms": round(median([x.p95_ms for x in results]), 1),
        "ack_p99_ms": round(median([x.p99_ms for x in results]), 1),
        "missing_acks": sum(x.missing_acks for x in results),
        "messages_per_settlement": (
            round(sum(x.messages for x in results) / settlements, 2) if settlements else 0.0
        ),
        "cpu_pct_of_core": {
            k: round(100 * v / window) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])
        }
        if window
        else {},
        "cpu_us_per_settlement": per_settlement_us(cpu, settlements),
    }
