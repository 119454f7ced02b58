"""Broker faults on the local three-node cluster (``make up BROKERS=3``), under simulated traffic
with duplicates and bad input mixed in, each a scenario:

- kill -9 the broker leading the most partitions of ``yidi.visit.v1`` (the busiest input) mid-run,
  start it again a little later: leaders and coordinators move to the two others and back;
- kill -9 all three brokers at once, start them again: every worker waits the outage out.

After each, the checks of ``tests/e2e/test_faults.py``: every request acked exactly once, the
ledger equals ``yidi adjudicate`` on the same event file byte for byte, clearing positions equal
the ledger, ``yidi ledger hash`` equals a fault-free pass, the DLQ holds bad inputs only, and no
worker exited.

They need the cluster: used when it runs, started here (and stopped afterwards) when
``YIDI_FAULTS_CLUSTER=1`` (``make test`` and ``make e2e-cluster`` at the small size, ``make
e2e-faults`` at full size), skipped otherwise. The leader scenario's reference pass once
stalled on a consumer that never fetched some partitions after the restart; the batch loop's
stall watch now replaces such a consumer (docs/guarantees.md, "Broker faults").
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.stream import clients
from services.runtime.settings import Settings
from tests.e2e.conftest import Workers, yidi_cli
from tests.e2e.pipeline_check import salt_of
from tests.e2e.test_faults import PROCESSORS, ROOT, Scenario, _fetchval, _run

CLUSTER = str(ROOT / "deploy" / "local" / "kafka-cluster.sh")
NODES = (1, 2, 3)
LEADER_DOWN_S = float(os.environ.get("YIDI_FAULTS_LEADER_DOWN_S", "10"))
ALL_DOWN_S = float(os.environ.get("YIDI_FAULTS_ALL_DOWN_S", "5"))
BUSIEST = "yidi.visit.v1"


def _cluster(*args: str, timeout_s: float = 300) -> str:
    done = subprocess.run(
        [CLUSTER, *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    assert done.returncode == 0 or args[0] in ("status", "pid"), done.stderr[-3000:]
    return done.stdout.strip()


def _running() -> set[int]:
    return {n for n in NODES if _cluster("pid", str(n)).isdigit()}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The cluster's bootstrap list, the catalog's topics (replication 3) and the ACLs applied."""
    before = _running()
    if before != set(NODES) and os.environ.get("YIDI_FAULTS_CLUSTER") != "1":
        pytest.skip(
            "the three-broker cluster is not up: `make up BROKERS=3` first, or run "
            "`make e2e-cluster` / `make e2e-faults` (YIDI_FAULTS_CLUSTER=1 starts and stops it)"
        )
    _cluster("start")
    bootstrap = _cluster("bootstrap")
    env = {"YIDI_KAFKA_BOOTSTRAP": bootstrap}
    yidi_cli(["topics", "apply"], env)
    yidi_cli(["security", "apply"], env)
    asyncio.run(_fully_replicated(bootstrap))
    try:
        yield bootstrap
    finally:
        if not before:
            _cluster("stop")


@pytest.fixture
def on_cluster(cluster: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This test's clients and its workers' go to the cluster."""
    monkeypatch.setenv("YIDI_KAFKA_BOOTSTRAP", cluster)
    return cluster


def _kill9(*nodes: int) -> None:
    """SIGKILL ``nodes`` at once (not our children: wait for their pids to go)."""
    pids = [int(_cluster("pid", str(n))) for n in nodes]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.05)


async def _busiest_leader() -> tuple[int, list[int]]:
    """The broker leading the most partitions of the busiest input, and those partitions."""
    admin = clients.admin(Settings().kafka(), client_id="yidi-test-leaders")
    await admin.start()
    try:
        (topic,) = await admin.describe_topics([BUSIEST])
    finally:
        await admin.close()
    leaders = {p["partition"]: p["leader"] for p in topic["partitions"]}
    node, _count = Counter(leaders.values()).most_common(1)[0]
    return node, sorted(p for p, leader in leaders.items() if leader == node)


async def _settling(sc: Scenario, timeout_s: float = 300) -> None:
    """Mid-run: visits flow (the registrations are in, this run's first settlements landed;
    the ledger also lands other runs' records that follow its start positions)."""
    salt = salt_of(sc.messages[0].ce_id.rsplit("-", 1)[0])
    sql = f"SELECT count(*) FROM settlements WHERE substr(psn_no, 7, 6) = '{salt}'"
    deadline = time.monotonic() + timeout_s
    while not await _fetchval(sc.db_url, sql):
        assert time.monotonic() < deadline, "no settlement landed before the fault"
        await asyncio.sleep(0.2)


async def _fully_replicated(bootstrap: str, timeout_s: float = 300) -> None:
    """Every partition (the internal topics too) has a leader and three in-sync replicas: a
    scenario starts on a healthy cluster, not on one still catching up from the last."""
    settings = Settings(kafka_bootstrap=bootstrap)
    admin = clients.admin(settings.kafka(), client_id="yidi-test-isr")
    await admin.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            short = [
                (t["topic"], p["partition"])
                for t in await admin.describe_topics(list(await admin.list_topics()))
                for p in t["partitions"]
                if p["leader"] < 0 or len(p["isr"]) < len(NODES)
            ]
            if not short:
                return
            assert time.monotonic() < deadline, f"under-replicated after {timeout_s} s: {short[:5]}"
            await asyncio.sleep(1.0)
    finally:
        await admin.close()


def _start(*nodes: int) -> None:
    for n in nodes:
        _cluster("start-node", str(n))


@pytest.mark.timeout(1200)
async def test_kill9_the_busiest_partitions_leader(
    on_cluster: str, workers: Workers, tmp_path: Path
) -> None:
    async def leader_down(workers: Workers, sc: Scenario) -> None:
        await _settling(sc)
        node, partitions = await _busiest_leader()
        await asyncio.to_thread(_kill9, node)
        down = time.monotonic()
        sc.faults.append(f"kill -9 broker {node} (leader of {BUSIEST} {partitions})")
        await asyncio.sleep(LEADER_DOWN_S)
        await asyncio.to_thread(_start, node)
        sc.faults.append(f"broker {node} back after {time.monotonic() - down:.0f} s")
        sc.fault_end = time.monotonic()

    sc, _report = await _run(
        workers, tmp_path, "leader", 53, [(p, p) for p in PROCESSORS], leader_down
    )
    assert _running() == set(NODES)
    assert sc.faults[0].startswith("kill -9 broker")


@pytest.mark.timeout(1200)
async def test_kill9_all_three_brokers(on_cluster: str, workers: Workers, tmp_path: Path) -> None:
    async def all_down(workers: Workers, sc: Scenario) -> None:
        await _settling(sc)
        await asyncio.to_thread(_kill9, *NODES)
        down = time.monotonic()
        sc.faults.append("kill -9 brokers 1, 2, 3")
        await asyncio.sleep(ALL_DOWN_S)
        await asyncio.to_thread(_cluster, "start")
        sc.faults.append(f"cluster back after {time.monotonic() - down:.0f} s")
        sc.fault_end = time.monotonic()

    await _run(workers, tmp_path, "allbrokers", 59, [(p, p) for p in PROCESSORS], all_down)
    assert _running() == set(NODES)
