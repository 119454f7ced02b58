"""Faults under simulated traffic (duplicates and bad input mixed in), each a scenario:

- a zombie: an adjudication worker stops itself (SIGSTOP) with a computed batch in hand, stays
  stopped past the session timeout while a second adjudicator takes its partitions over, then
  is resumed (SIGCONT): the broker must refuse its late batch;
- PostgreSQL stopped for 30 s mid-run and started again: the sinks, the registration
  projection and clearing back off and catch up, no worker exits;
- kill -9 of workers at random moments, cycling adjudication, registration, ledger, clearing.

After each: every request acked exactly once (no ack record twice: read_committed readers see
a transaction's outputs once), the ledger equals `yidi adjudicate` on the same event file byte
for byte, clearing positions equal the ledger, `yidi ledger hash` equals a fault-free pass of
the sinks over the same settlements into a second database, and the DLQ holds bad inputs only.
Each scenario runs on a database of its own. ``make test`` runs a small version;
``make e2e-faults`` the full size (YIDI_FAULTS_VISITS, YIDI_FAULTS_KILLS, YIDI_FAULTS_SECONDS).
Run with ``YIDI_TRANSACTIONS=0`` to see the zombie scenario fail without transactions.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiokafka import TopicPartition

from events.dlq import DLQ_TOPIC
from events.stream import clients
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.simulator.report import Report
from services.tools.simulator.run import Built, plan_messages, publish, write_jsonl
from tests.e2e.conftest import Workers, yidi_cli
from tests.e2e.pipeline_check import ledger_rows, offline_settlements
from tests.e2e.test_bad_input import _dlq_since, _each_bad_input_once, _ends
from tests.e2e.test_clearing import _flow
from tests.fresh_db import fresh_database, seed_sink_positions_at_end

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "deploy" / "reference"
VISITS = int(os.environ.get("YIDI_FAULTS_VISITS", "400"))
KILLS = int(os.environ.get("YIDI_FAULTS_KILLS", "10"))
SECONDS = float(os.environ.get("YIDI_FAULTS_SECONDS", "18"))
"""How long the visits are spread over (the faults happen while they flow)."""
PG_OUTAGE_S = float(os.environ.get("YIDI_FAULTS_PG_OUTAGE_S", "12"))
SESSION_TIMEOUT_S = 10
SETTLEMENT_TOPIC = "yidi.settlement.v1"
SINK_GROUPS = ("yidi-ledger", "yidi-clearing")
PROCESSORS = ("registration", "adjudication", "ledger", "clearing")


@dataclass
class Scenario:
    name: str
    messages: list[Built]
    events: Path
    db_url: str
    env: dict[str, str]
    sink_start: dict[int, int]
    faults: list[str] = field(default_factory=list)
    fault_end: float = 0.0


Faults = Callable[[Workers, Scenario], Awaitable[None]]


async def _run(
    workers: Workers, tmp_path: Path, name: str, seed: int, start: list[tuple[str, str]],
    faults: Faults, extra_env: dict[str, dict[str, str]] | None = None,
) -> tuple[Scenario, Report]:  # fmt: skip
    """Plan, start ``start`` (worker name, kind), publish while ``faults`` runs, check all."""
    settings = Settings()
    runtime = build_runtime(settings)
    run_id = f"flt{name[:3]}-{uuid.uuid4().hex[:8]}"
    messages = plan_messages(REFERENCE, runtime.codec, VISITS, seed=seed, run_id=run_id)
    events = tmp_path / "events.jsonl"
    write_jsonl(messages, events)
    offline = offline_settlements(events)
    visit_msgs = sum(1 for b in messages if b.topic != "yidi.registration.v1")
    rate = visit_msgs / SECONDS
    dlq_start = await _ends(settings.kafka(), DLQ_TOPIC)
    async with fresh_database(settings) as db_url:
        suffix = f"-{run_id}"
        env = {"YIDI_DATABASE_URL": db_url, "YIDI_GROUP_SUFFIX": suffix}
        sink_start: dict[int, int] = {}
        for group in SINK_GROUPS:
            sink_start = await seed_sink_positions_at_end(
                settings.kafka(), db_url, group + suffix, SETTLEMENT_TOPIC
            )
        sc = Scenario(name, messages, events, db_url, env, sink_start)
        for worker, kind in start:
            workers.start(worker, kind, {**env, **(extra_env or {}).get(worker, {})})
        await _all_started(workers)
        started = time.monotonic()
        sender = asyncio.create_task(
            publish(settings.kafka(), messages, rate, "yidi-adjudication", 600)
        )
        await asyncio.sleep(3.0)
        await faults(workers, sc)
        if not sc.fault_end:
            sc.fault_end = time.monotonic()
        report = await sender
        landed = await ledger_rows(db_url, run_id, len(offline), timeout_s=300)
        recovered = time.monotonic()
        dead = await _dlq_since(settings.kafka(), dlq_start)
        exited = {n: p.poll() for n, p in workers.procs.items() if p.poll() is not None}
        assert exited == {}, f"a worker exited: {exited}: " + "".join(
            sorted(workers.log_dir.glob(f"{n}-*.log"))[-1]
            .read_bytes()[-4000:]
            .decode("utf-8", "replace")
            for n in exited
        )
        await _clearing_caught_up(db_url, len(offline))
        digest = _ledger_hash(env)
        workers.stop_all()

        assert report.missing == [], f"requests without an ack: {report.missing[:5]}"
        assert report.extra_acks == 0, "an input got two different acks"
        assert report.repeated_acks == 0, f"an ack record was published twice: {report.repeated}"
        assert set(landed) == set(offline), (len(landed), len(offline))
        assert [s for s in offline if landed[s] != offline[s]] == [], "ledger != yidi adjudicate"
        conflicts = await _fetchval(db_url, "SELECT count(*) FROM settlement_conflicts")
        assert conflicts == 0, "a replay produced different bytes for a settlement id"
        await _positions_equal_ledger(db_url)
        by_source: dict[tuple[str, int, int], list] = defaultdict(list)  # type: ignore[type-arg]
        for d in dead:
            by_source[(d.source.topic, d.source.partition, d.source.offset)].append(d)
        _each_bad_input_once(report.positions, by_source)
        assert digest == await _fault_free_hash(workers, settings, sc, len(offline)), (
            "yidi ledger hash differs from a fault-free pass over the same settlements"
        )
    print(
        f"\nfaults {name}: {report.sent} messages sent ({report.sent_bad} bad), "
        f"{len(offline)} settlements, {len(sc.faults)} faults {sc.faults}, lost 0, doubled 0, "
        f"recovered {recovered - sc.fault_end:.1f} s after the last fault "
        f"(run {recovered - started:.0f} s)"
    )
    return sc, report


async def _all_started(workers: Workers, timeout_s: float = 120) -> None:
    """Every worker process has started all its parts (its log says so for the last one)."""
    deadline = time.monotonic() + timeout_s
    for name, proc in workers.procs.items():
        log = sorted(workers.log_dir.glob(f"{name}-*.log"))[-1]
        while b"worker_started" not in log.read_bytes():
            assert proc.poll() is None, f"{name} exited at start"
            assert time.monotonic() < deadline, f"{name} did not start"
            await asyncio.sleep(0.2)


async def _fetchval(db_url: str, sql: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def _clearing_caught_up(db_url: str, settlements: int, timeout_s: float = 120) -> None:
    """Clearing has an entry or a skip for every settlement its sink read: its positions in
    ``sink_offsets`` reached the ledger's."""
    sql = (
        "SELECT coalesce(sum(next_offset) FILTER (WHERE group_id LIKE 'yidi-clearing%'), 0)"
        " - coalesce(sum(next_offset) FILTER (WHERE group_id LIKE 'yidi-ledger%'), 0)"
        " FROM sink_offsets WHERE topic = 'yidi.settlement.v1'"
    )
    deadline = time.monotonic() + timeout_s
    while await _fetchval(db_url, sql) < 0:
        assert time.monotonic() < deadline, "clearing did not catch up with the ledger"
        await asyncio.sleep(0.5)
    assert settlements > 0


async def _positions_equal_ledger(db_url: str) -> None:
    """Per scope, clearing's positions sum to the ledger's cross-pool settlements."""
    conn = await asyncpg.connect(db_url)
    try:
        from_ledger: dict[str, Decimal] = defaultdict(Decimal)
        for r in await conn.fetch(
            "SELECT insuplc_admdvs, mdtrtarea_admvs, fund_pay_sumamt FROM settlements"
        ):
            flow = _flow(r["insuplc_admdvs"], r["mdtrtarea_admvs"])
            if flow is not None:
                from_ledger[flow[0]] += r["fund_pay_sumamt"]
        cleared = {
            r["scope"]: r["total"]
            for r in await conn.fetch(
                "SELECT scope, sum(fund_pay_sumamt) AS total FROM clearing_positions GROUP BY scope"
            )
        }
    finally:
        await conn.close()
    assert from_ledger, "no cross-pool settlement: nothing to compare"
    for scope in set(from_ledger) | set(cleared):
        assert from_ledger.get(scope, Decimal(0)) == cleared.get(scope, Decimal(0)), scope


def _ledger_hash(env: dict[str, str]) -> str:
    return str(json.loads(yidi_cli(["ledger", "hash", "--json"], env))["digest"])


async def _fault_free_hash(
    workers: Workers, settings: Settings, sc: Scenario, settlements: int
) -> str:
    """The sinks (ledger, clearing) once more, undisturbed, from the same start positions into
    a second database: the digest a fault-free run of the same settlements gives."""
    async with fresh_database(settings) as ref_url:
        suffix = f"-ref{uuid.uuid4().hex[:8]}"
        env = {"YIDI_DATABASE_URL": ref_url, "YIDI_GROUP_SUFFIX": suffix}
        conn = await asyncpg.connect(ref_url)
        try:
            await conn.executemany(
                "INSERT INTO sink_offsets (group_id, topic, partition, next_offset) "
                "VALUES ($1, $2, $3, $4)",
                [
                    (group + suffix, SETTLEMENT_TOPIC, p, offset)
                    for group in SINK_GROUPS
                    for p, offset in sc.sink_start.items()
                ],
            )
        finally:
            await conn.close()
        workers.start("ref-ledger", "ledger", env)
        workers.start("ref-clearing", "clearing", env)
        deadline = time.monotonic() + 180
        while await _fetchval(ref_url, "SELECT count(*) FROM settlements") < settlements:
            if time.monotonic() > deadline:
                raise AssertionError(
                    "the fault-free pass did not finish: "
                    + await _stall_evidence(settings, ref_url, sc.sink_start, settlements)
                    + "; the reference workers' stall watch: "
                    + _watch_lines(workers, ("ref-ledger", "ref-clearing"))
                )
            await asyncio.sleep(0.5)
        await _clearing_caught_up(ref_url, settlements)
        digest = _ledger_hash(env)
        workers.stop_all()
        return digest


async def _stall_evidence(
    settings: Settings, db_url: str, start: dict[int, int], settlements: int
) -> str:
    """What a stalled reference pass leaves to read: per partition of the settlement topic its
    start, the reference sinks' stored positions, the last stable offset (what a read_committed
    reader may read to) and the high watermark; a last stable offset short of the high
    watermark is a transaction still open (or hanging) there."""
    bootstrap = settings.kafka()
    ends: dict[str, dict[int, int]] = {}
    for isolation in ("read_committed", "read_uncommitted"):
        consumer = clients.consumer(bootstrap, enable_auto_commit=False, isolation_level=isolation)
        await consumer.start()
        try:
            tps = [TopicPartition(SETTLEMENT_TOPIC, p) for p in sorted(start)]
            ends[isolation] = {
                tp.partition: o for tp, o in (await consumer.end_offsets(tps)).items()
            }
        finally:
            await consumer.stop()
    conn = await asyncpg.connect(db_url)
    try:
        stored = {
            (r["group_id"], r["partition"]): r["next_offset"]
            for r in await conn.fetch("SELECT group_id, partition, next_offset FROM sink_offsets")
        }
        landed = await conn.fetchval("SELECT count(*) FROM settlements")
    finally:
        await conn.close()
    rows = [
        f"p{p}: start {start[p]}, stored "
        f"{sorted(o for (g, q), o in stored.items() if q == p)}, "
        f"LSO {ends['read_committed'][p]}, HW {ends['read_uncommitted'][p]}"
        for p in sorted(start)
    ]
    return f"{landed} of {settlements} landed; " + "; ".join(rows)


def _watch_lines(workers: Workers, names: tuple[str, ...]) -> str:
    """What the workers' stall watch logged (``batch_slow``, ``partition_stalled``: where a
    batch waited, or what the client's fetcher held for a partition it did not fetch)."""
    lines = [
        f"{name}: {line.strip()}"
        for name in names
        for log in sorted(workers.log_dir.glob(f"{name}-*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if '"batch_slow"' in line or '"partition_stalled"' in line
    ]
    return " | ".join(lines[-12:]) or "nothing"


def _postgres_script_env(db_url: str) -> dict[str, str]:
    """deploy/local/postgres.sh for this stack's server: its port from the database URL (the
    script's default is the default stack's), as /work/tools/stack.sh runs it."""
    port = urlsplit(db_url).port
    assert port is not None
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("YIDI_DATABASE_URL", "YIDI_KAFKA_BOOTSTRAP")
    }
    return {**env, "YIDI_LOCAL_PG_PORT": str(port)}


def _stopped(pid: int) -> bool:
    """Whether the process is in the stopped state (it sent itself SIGSTOP)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


@pytest.mark.timeout(900)
async def test_a_zombie_adjudicator_is_fenced(workers: Workers, tmp_path: Path) -> None:
    transactions = os.environ.get("YIDI_TRANSACTIONS", "1").lower() not in ("0", "false")

    async def zombie(workers: Workers, sc: Scenario) -> None:
        proc = workers.procs["adjudication-a"]
        # a slow start-up (a loaded box) is not the claim under test
        deadline = time.monotonic() + 240
        while not _stopped(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, "never paused"
            await asyncio.sleep(0.1)
        stopped_at = time.monotonic()
        sc.faults.append("SIGSTOP adjudication-a")
        await asyncio.sleep(SESSION_TIMEOUT_S + 8)  # expelled; b restores and carries on
        proc.send_signal(signal.SIGCONT)
        sc.faults.append(f"SIGCONT after {time.monotonic() - stopped_at:.0f} s")
        sc.fault_end = time.monotonic()

    await _run(
        workers, tmp_path, "zombie", 41,
        [("registration", "registration"), ("adjudication-a", "adjudication"),
         ("adjudication-b", "adjudication"), ("ledger", "ledger"), ("clearing", "clearing")],
        zombie, extra_env={"adjudication-a": {"YIDI_FAULT_PAUSE_BEFORE_PUBLISH": "6"}},
    )  # fmt: skip
    logs = b"".join(p.read_bytes() for p in workers.log_dir.glob("adjudication-a-*.log"))
    if transactions:
        assert b"batch_fenced" in logs, "the zombie's batch was refused by the broker"


@pytest.mark.timeout(900)
async def test_postgres_stopped_mid_run(workers: Workers, tmp_path: Path) -> None:
    async def outage(workers: Workers, sc: Scenario) -> None:
        script = str(ROOT / "deploy" / "local" / "postgres.sh")
        env = _postgres_script_env(sc.db_url)
        # stop it once the ledger is writing, so the outage meets its writes (a loaded box
        # can be seconds from the first send to the first settlement)
        deadline = time.monotonic() + 120
        while await _fetchval(sc.db_url, "SELECT count(*) FROM settlements") == 0:
            assert time.monotonic() < deadline, "no settlement landed before the outage"
            await asyncio.sleep(0.2)
        await asyncio.to_thread(subprocess.run, [script, "stop"], check=True, timeout=60, env=env)
        stopped = time.monotonic()
        sc.faults.append("postgres stop")
        await asyncio.sleep(PG_OUTAGE_S)
        await asyncio.to_thread(subprocess.run, [script, "start"], check=True, timeout=120, env=env)
        sc.faults.append(f"postgres start after {time.monotonic() - stopped:.0f} s")
        sc.fault_end = time.monotonic()

    await _run(workers, tmp_path, "postgres", 43, [(p, p) for p in PROCESSORS], outage)
    logs = b"".join(p.read_bytes() for p in workers.log_dir.glob("ledger-*.log"))
    assert b"database_unavailable_backing_off" in logs, "the ledger waited the outage out"
    assert workers.starts == len(PROCESSORS) + 2, "no worker restarted"


@pytest.mark.timeout(900)
async def test_kill9_workers_at_random_moments(workers: Workers, tmp_path: Path) -> None:
    async def kills(workers: Workers, sc: Scenario) -> None:
        rng = random.Random(sc.events.read_bytes()[:64])
        for i in range(KILLS):
            await asyncio.sleep(rng.uniform(0.5, 1.8))
            victim = PROCESSORS[i % len(PROCESSORS)]
            workers.kill9(victim)
            sc.faults.append(victim)
            await asyncio.sleep(rng.uniform(0.1, 0.8))
            workers.start(victim, victim, sc.env)

    sc, _report = await _run(workers, tmp_path, "kill9", 47, [(p, p) for p in PROCESSORS], kills)
    assert len(sc.faults) >= KILLS
