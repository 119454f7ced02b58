"""The whole pipeline: simulated hospitals -> workers -> acks and ledger == offline runner."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

from aiokafka import TopicPartition

from events import catalog
from events.stream import clients
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.simulator.build import Built
from services.tools.simulator.report import Sent
from services.tools.simulator.run import plan_messages, publish, write_jsonl
from tests.e2e.conftest import Workers
from tests.e2e.pipeline_check import (
    ledger_fund_total,
    ledger_rows,
    offline_fund_total,
    offline_settlements,
)


async def _positions_hold(settings: Settings, messages: list[Built], positions: list[Sent]) -> None:
    """Where the run says each message landed is where it is (a sample of 150): the batched
    sends compute every offset from their batch's first."""
    registrations = [m for m in messages if m.topic == catalog.REGISTRATION and m.bad is None]
    first = {id(m) for m in registrations}
    in_order = registrations + [m for m in messages if id(m) not in first]
    assert len(positions) == len(in_order)
    consumer = clients.consumer(settings.kafka(), enable_auto_commit=False)
    await consumer.start()
    try:
        for i in random.Random(5).sample(range(len(in_order)), 150):
            at = positions[i]
            tp = TopicPartition(at.topic, at.partition)
            consumer.assign([tp])
            consumer.seek(tp, at.offset)
            rec = await consumer.getone()
            assert (at.topic, rec.offset, rec.value) == (
                in_order[i].topic, at.offset, in_order[i].record[1]
            )  # fmt: skip
    finally:
        await consumer.stop()


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
        batched=True,  # as the pipeline bench sends: aiokafka batches a thousand at a time
    )

    assert report.missing == [], f"requests without an ack: {report.missing[:5]}"
    assert report.extra_acks == 0, "an input was acked twice with different acks"
    assert report.acks["accepted"] > VISITS, report.as_dict()
    assert report.rejected.get("E_AUTH_MAC", 0) == 0, "bad messages are DLQ'd without an ack"
    # a complete run's time (what the pipeline bench divides by) ends at its last ack, which
    # is no earlier than any request's first ack
    assert report.seconds == report.last_ack - report.visits_started
    assert max(report.latencies_ms + report.warmup_latencies_ms) <= report.seconds * 1000
    await _positions_hold(settings, messages, report.positions)

    offline = offline_settlements(events)
    assert len(offline) > VISITS // 2
    landed = await ledger_rows(settings.database_url.get_secret_value(), run_id, len(offline))
    assert set(landed) == set(offline), (len(landed), len(offline))
    differing = [s for s in offline if landed[s] != offline[s]]
    assert not differing, f"settlement bytes differ from the offline runner: {differing[:3]}"
    assert await ledger_fund_total(
        settings.database_url.get_secret_value(), run_id
    ) == offline_fund_total(offline)
