"""End-to-end pipeline benchmark: offered load vs achieved settlements/s and ack latency.

The workers run as real ``yidi worker`` processes. For each offered rate a
fresh simulated run (its own persons and visits) is published; settlements/s
counts accepted settlement requests acked per second from the first visit
message to the last ack. The raw baseline produces the same visit messages to
a scratch topic and consumes them back with no processing, in the same run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from services.bench.raw_kafka import produce_consume
from services.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.simulator.build import Built
from services.simulator.run import plan_messages, publish

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
YIDI = str(Path(sys.executable).with_name("yidi"))


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

    @property
    def settlements_per_s(self) -> float:
        return self.settlements / self.seconds if self.seconds else 0.0

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


async def run_level(
    settings: Settings, visits: int, rate: float, seed: int
) -> tuple[Level, list[Built]]:
    runtime = build_runtime(settings)
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    messages = plan_messages(
        settings.reference_dir or REFERENCE, runtime.codec, visits, seed, run_id
    )
    report = await publish(
        settings.kafka_bootstrap, messages, rate, "yidi-adjudication", ack_timeout_s=300
    )
    settle_acks = report.settle_acks
    from services.bench.stats import percentile

    lat = report.latencies_ms
    visit_msgs = [m for m in messages if m.topic == "yidi.visit.v1"]
    level = Level(
        rate, len(visit_msgs), settle_acks, report.seconds,
        percentile(lat, 50), percentile(lat, 95), percentile(lat, 99), len(report.missing),
    )  # fmt: skip
    return level, visit_msgs


class WorkerProcesses:
    def __init__(self, adjudicators: int = 1, ledgers: int = 1) -> None:
        self.counts = {"adjudication": adjudicators, "ledger": ledgers}
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> WorkerProcesses:
        tag = uuid.uuid4().hex[:6]
        for kind, n in self.counts.items():
            for i in range(n):
                env = {
                    **os.environ,
                    "YIDI_LOG_LEVEL": "warning",
                    "YIDI_INSTANCE_ID": f"bench-{tag}-{i}",
                }
                self.procs.append(
                    subprocess.Popen([YIDI, "worker", kind], env=env, stdout=subprocess.DEVNULL)
                )
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


async def baseline(settings: Settings, visit_msgs: list[Built]) -> float:
    records = [m.record for m in visit_msgs]
    result = await produce_consume(
        settings.kafka_bootstrap, records, f"bench.raw.{uuid.uuid4().hex[:8]}"
    )
    return result.per_second
