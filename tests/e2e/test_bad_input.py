"""Acceptance (issue 15): a simulated day with 1 % bad input against the live workers.

Each bad input class of ``services/tools/simulator/bad.py`` (wrong topic both ways, null and
foreign keys, repeated headers, a repeated JSON key, ``NaN`` in a newer minor's extra field,
an ID number as a field name, garbage bytes, and the older truncated / unsigned /
foreign-signed / bad-amount / unknown-code variants) is published among good traffic, and
some good messages carry an unknown header. Asserted:

- no worker process exits (each of the five was started once and is still running);
- every bad input has exactly one DLQ record, from its topic's owner, with its kind's code,
  ``authentic`` exactly when the sender is, and an error ack exactly then;
- every good input is acked once and has no DLQ record;
- nothing bad was applied: the ledger holds exactly what the offline runner computes from
  the good messages alone, and no forged filing has a row.

``make test`` runs ~2,000 messages; ``make e2e-bad-input`` 100,000 (``YIDI_BAD_INPUT_VISITS``).
``YIDI_BAD_INPUT_KINDS`` picks the kinds (``all`` by default: every class of issue 15,
oversized bodies, calendar-edge dates, long field names and ``ce_id``s included; ``safe``
leaves those out).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import orjson
from aiokafka import TopicPartition

from events.catalog import INPUT_TOPICS, by_name
from events.dlq import DLQ_TOPIC, DlqRecord, parse_dlq
from events.stream import clients
from events.stream.clients import KafkaConnection
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.simulator.bad import ID_NUMBER, KINDS, kinds_named
from services.tools.simulator.plan import Mix
from services.tools.simulator.report import Sent
from services.tools.simulator.run import plan_messages, publish, wait_consumed, write_jsonl
from tests.e2e.conftest import Workers
from tests.e2e.pipeline_check import ledger_rows, offline_settlements

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
VISITS = int(os.environ.get("YIDI_BAD_INPUT_VISITS", "450"))
BAD_RATE = float(os.environ.get("YIDI_BAD_INPUT_RATE", "0.015"))
"""Of visit-topic steps: about 1 % of all messages (registrations are never sent bad)."""
BAD_KINDS = kinds_named(os.environ.get("YIDI_BAD_INPUT_KINDS", "all"))
SEND_RATE = float(os.environ.get("YIDI_BAD_INPUT_SEND_RATE", "0"))
PROCESSORS = ("registration", "adjudication", "ledger", "clearing", "recon")
INPUTS = ("yidi.registration.v1", "yidi.visit.v1")
T = TypeVar("T")


async def test_one_percent_bad_input_stops_nothing_and_each_ends_once(
    workers: Workers, tmp_path: Path
) -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    run_id = f"bad-{uuid.uuid4().hex[:8]}"
    mix = Mix(bad_share=BAD_RATE, bad_kinds=BAD_KINDS, extra_header_share=0.01)
    messages = plan_messages(REFERENCE, runtime.codec, VISITS, seed=23, run_id=run_id, mix=mix)
    sent_kinds = Counter(b.bad for b in messages if b.bad is not None)
    assert set(sent_kinds) == set(BAD_KINDS), f"every kind at least once: {sent_kinds}"
    events = tmp_path / "events.jsonl"
    write_jsonl(messages, events)
    forged_filings = {
        str(orjson.loads(b.record[1])["filing_id"]) for b in messages if b.bad == "filing_on_visit"
    }
    assert forged_filings or "filing_on_visit" not in BAD_KINDS

    dlq_start = await _ends(settings.kafka(), DLQ_TOPIC)
    for name in PROCESSORS:
        workers.start(name, name)
    started = time.monotonic()
    report = await _unless_a_worker_exits(
        workers,
        publish(settings.kafka(), messages, SEND_RATE, "yidi-adjudication", ack_timeout_s=300),
    )
    for group in ("yidi-adjudication", "yidi-registration"):
        for topic in INPUTS if group == "yidi-adjudication" else INPUTS[:1]:
            await wait_consumed(settings.kafka(), group, topic, timeout_s=300)
    seconds = time.monotonic() - started

    alive = {name: proc.poll() for name, proc in workers.procs.items()}
    assert alive == dict.fromkeys(PROCESSORS), f"a worker exited: {alive}"
    assert workers.starts == len(PROCESSORS), "no restarts"

    assert report.missing == [], f"inputs without their ack: {report.missing[:5]}"
    assert report.extra_acks == 0, "an input was acked more than once"
    for kind, n in sent_kinds.items():
        bad = KINDS[kind]
        if bad.acked and bad.codes and len(bad.codes) == 1:
            assert report.rejected[next(iter(bad.codes))] >= n, (kind, report.as_dict())

    dead = await _dlq_since(settings.kafka(), dlq_start)
    by_source: dict[tuple[str, int, int], list[DlqRecord]] = defaultdict(list)
    for d in dead:
        by_source[(d.source.topic, d.source.partition, d.source.offset)].append(d)
    _each_bad_input_once(report.positions, by_source)

    offline = offline_settlements(events)
    landed = await ledger_rows(settings.database_url.get_secret_value(), run_id, len(offline))
    assert set(landed) == set(offline), "a bad input changed what settled"
    assert [s for s in offline if landed[s] != offline[s]] == []
    assert await _filing_rows(settings.database_url.get_secret_value(), forged_filings) == 0
    print(  # the numbers `make e2e-bad-input` reports
        f"\nbad-input run: {report.sent} messages ({report.sent_bad} bad, "
        f"{100 * report.sent_bad / report.sent:.2f} %: {dict(sent_kinds)}), "
        f"{len(dead)} DLQ records, {sum(report.acks.values())} acks, {seconds:.0f} s, 0 exits"
    )


async def _unless_a_worker_exits(workers: Workers, run: Coroutine[Any, Any, T]) -> T:
    """``run``'s result; fails at once, with the worker's last log lines, when one exits."""
    task = asyncio.ensure_future(run)
    while not task.done():
        exited = {n: p.poll() for n, p in workers.procs.items() if p.poll() is not None}
        if exited:
            task.cancel()
            name = next(iter(exited))
            logs = sorted(workers.log_dir.glob(f"{name}-*.log"))
            tail = logs[-1].read_bytes()[-3000:].decode("utf-8", "replace") if logs else ""
            raise AssertionError(f"worker exited {exited}; {name}'s log ends:\n{tail}")
        await asyncio.wait([task], timeout=0.5)
    return task.result()


def _each_bad_input_once(
    positions: list[Sent], by_source: dict[tuple[str, int, int], list[DlqRecord]]
) -> None:
    wrong: list[str] = []
    for sent in positions:
        found = by_source.get((sent.topic, sent.partition, sent.offset), [])
        owner = (INPUT_TOPICS[sent.topic].owner or "").removeprefix("yidi-")
        if sent.bad is None:
            allowed = {"E_UNKNOWN_INSTITUTION", "E_NO_POLICY", "E_NO_CATALOG"}
            if any(d.reason.code not in allowed for d in found) or len(found) > 1:
                wrong.append(f"good {sent}: {[d.reason.code for d in found]}")
            continue
        kind = KINDS[sent.bad]
        if kind.dead_lettered is None and not found:
            continue
        if len(found) != 1:
            wrong.append(f"{sent.bad} {sent}: {len(found)} DLQ records")
            continue
        d = found[0]
        if (kind.codes and d.reason.code not in kind.codes) or d.stage != owner:
            wrong.append(f"{sent.bad}: {d.reason.code} from {d.stage}")
        if d.authentic != kind.acked:
            wrong.append(f"{sent.bad}: authentic={d.authentic}")
        if ID_NUMBER in d.reason.model_dump_json():
            wrong.append(f"{sent.bad}: an ID number in clear in the DLQ reason")
    assert wrong == [], wrong[:20]


async def _ends(bootstrap: KafkaConnection, topic: str) -> dict[TopicPartition, int]:
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(by_name()[topic].partitions)]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def _dlq_since(
    bootstrap: KafkaConnection, start: dict[TopicPartition, int]
) -> list[DlqRecord]:
    """Every DLQ record written after ``start``, once two seconds pass without a new one
    (every processor has committed past its inputs: their DLQ records landed before)."""
    consumer = clients.consumer(
        bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    found: list[DlqRecord] = []
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 2.0:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                found += [parse_dlq(r.value) for r in records if r.value is not None]
                quiet_since = time.monotonic()
            await asyncio.sleep(0)
        return found
    finally:
        await consumer.stop()


async def _filing_rows(db_url: str, filing_ids: set[str]) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM filings WHERE filing_id = ANY($1::text[])", list(filing_ids)
            )
        )
    finally:
        await conn.close()
