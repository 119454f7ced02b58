"""Two adjudication and two ledger workers share the partitions; one of each stops mid-run.

The rebalance hands the stopped members' partitions to the survivors, and the
final ledger still equals the offline runner exactly.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.simulator.run import plan_messages, publish, write_jsonl
from tests.e2e.conftest import Workers
from tests.e2e.pipeline_check import (
    ledger_rows,
    offline_rejections,
    offline_settlements,
    state_rejections,
)

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"


async def test_rebalance_mid_run_keeps_exact_ledger(workers: Workers, tmp_path: Path) -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    run_id = f"scale-{uuid.uuid4().hex[:8]}"
    messages = plan_messages(REFERENCE, runtime.codec, 1200, seed=31, run_id=run_id)
    events = tmp_path / "events.jsonl"
    write_jsonl(messages, events)
    for name in ("adjudication-a", "adjudication-b"):
        workers.start(name, "adjudication")
    for name in ("ledger-a", "ledger-b"):
        workers.start(name, "ledger")

    sender = asyncio.create_task(
        publish(
            settings.kafka(),
            messages,
            rate=700,
            adjudication_group="yidi-adjudication",
            ack_timeout_s=240,
        )
    )
    await asyncio.sleep(4)
    workers.terminate("adjudication-b")  # graceful: its batch in flight completes
    workers.terminate("ledger-b")
    report = await sender

    assert report.missing == [] and report.extra_acks == 0
    assert state_rejections(report.rejected) == state_rejections(offline_rejections(events))
    offline = offline_settlements(events)
    landed = await ledger_rows(
        settings.database_url.get_secret_value(), run_id, len(offline), timeout_s=120
    )
    assert set(landed) == set(offline)
    assert all(landed[s] == offline[s] for s in offline)
