"""The whole pipeline: simulated hospitals -> workers -> acks and ledger == offline runner."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.simulator.run import plan_messages, publish, write_jsonl
from tests.e2e.conftest import Workers
from tests.e2e.pipeline_check import (
    ledger_fund_total,
    ledger_rows,
    offline_fund_total,
    offline_settlements,
)

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
# `make test` runs 400 visits, `make e2e-full` 10,000
VISITS = int(os.environ.get("YIDI_E2E_VISITS", "400"))


async def test_every_request_acked_once_and_ledger_equals_offline(
    workers: Workers, tmp_path: Path
) -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    run_id = f"e2e-{uuid.uuid4().hex[:8]}"
    messages = plan_messages(REFERENCE, runtime.codec, VISITS, seed=11, run_id=run_id)
    events = tmp_path / "events.jsonl"
    write_jsonl(messages, events)
    workers.start("all", "all")

    report = await publish(
        settings.kafka(),
        messages,
        rate=0,
        adjudication_group="yidi-adjudication",
        ack_timeout_s=180,
    )

    assert report.missing == [], f"requests without an ack: {report.missing[:5]}"
    assert report.extra_acks == 0, "an input was acked twice with different acks"
    assert report.acks["accepted"] > VISITS, report.as_dict()
    assert report.rejected.get("E_AUTH_MAC", 0) == 0, "bad messages are DLQ'd without an ack"
    # a complete run's time (what the pipeline bench divides by) ends at its last ack, which
    # is no earlier than any request's first ack
    assert report.seconds == report.last_ack - report.visits_started
    assert max(report.latencies_ms + report.warmup_latencies_ms) <= report.seconds * 1000

    offline = offline_settlements(events)
    assert len(offline) > VISITS // 2
    landed = await ledger_rows(settings.database_url.get_secret_value(), run_id, len(offline))
    assert set(landed) == set(offline), (len(landed), len(offline))
    differing = [s for s in offline if landed[s] != offline[s]]
    assert not differing, f"settlement bytes differ from the offline runner: {differing[:3]}"
    assert await ledger_fund_total(
        settings.database_url.get_secret_value(), run_id
    ) == offline_fund_total(offline)
