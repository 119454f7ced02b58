"""kill -9 the adjudication and ledger workers at random moments during a run.

The final ledger must equal the offline runner exactly, with no settlement id
twice and no request without an ack. ``make test`` runs a small version;
``make e2e-crash`` runs the full size (YIDI_CRASH_VISITS=20000, 5+ kills).
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from pathlib import Path

import asyncpg
import pytest

from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.simulator.run import plan_messages, publish, write_jsonl
from tests.e2e.conftest import Workers
from tests.e2e.pipeline_check import ledger_rows, offline_settlements, salt_of

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
VISITS = int(os.environ.get("YIDI_CRASH_VISITS", "1500"))
KILLS = int(os.environ.get("YIDI_CRASH_KILLS", "5"))
RATE = float(os.environ.get("YIDI_CRASH_RATE", "800"))


async def _killer(
    workers: Workers, rng: random.Random, kills: int, log: list[str], done: asyncio.Event
) -> None:
    for i in range(kills):
        await asyncio.sleep(rng.uniform(0.8, 2.0))
        victim = "adjudication" if i % 2 == 0 else "ledger"
        workers.kill9(victim)
        log.append(victim)
        await asyncio.sleep(rng.uniform(0.1, 0.8))
        workers.start(victim, victim)
    done.set()


@pytest.mark.timeout(600 + VISITS // 10)
async def test_kill9_during_run_gives_exact_ledger(workers: Workers, tmp_path: Path) -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    run_id = f"crash-{uuid.uuid4().hex[:8]}"
    messages = plan_messages(REFERENCE, runtime.codec, VISITS, seed=23, run_id=run_id)
    events = tmp_path / "events.jsonl"
    write_jsonl(messages, events)
    workers.start("adjudication", "adjudication")
    workers.start("ledger", "ledger")

    kills: list[str] = []
    killed = asyncio.Event()
    sender = asyncio.create_task(
        publish(
            settings.kafka(),
            messages,
            rate=RATE,
            adjudication_group="yidi-adjudication",
            ack_timeout_s=300,
        )
    )
    await asyncio.sleep(1.0)
    await _killer(workers, random.Random(run_id), KILLS, kills, killed)
    report = await sender

    assert len(kills) >= KILLS
    assert report.missing == [], (
        f"requests without an ack after {len(kills)} kills: {report.missing[:5]}"
    )
    assert report.extra_acks == 0, "an input got two different acks"
    offline = offline_settlements(events)
    landed = await ledger_rows(
        settings.database_url.get_secret_value(), run_id, len(offline), timeout_s=180
    )
    assert set(landed) == set(offline), (len(landed), len(offline))
    assert all(landed[s] == offline[s] for s in offline), (
        "a settlement differs from the offline result"
    )
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        conflicts = await conn.fetchval(
            "SELECT count(*) FROM settlement_conflicts c JOIN settlements s USING (setl_id) "
            "WHERE substr(s.psn_no, 7, 6) = $1",
            salt_of(run_id),
        )
    finally:
        await conn.close()
    assert conflicts == 0, "a replay produced different bytes for a settlement id"
    print(
        f"kills={kills} acks={report.as_dict()['acks_by_status']} repeated_acks={report.repeated_acks}"
    )
