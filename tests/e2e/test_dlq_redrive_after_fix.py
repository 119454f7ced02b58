"""Acceptance (issue 7): visits of an institution the reference data does not know yet are
dead-lettered with E_UNKNOWN_INSTITUTION; once it is added (workers restarted with the full
reference data), `yidi dlq redrive` settles each exactly once, byte-identical to the offline
runner; redriving again is refused, and forced it changes nothing (re-acks only)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import TopicPartition

from contracts.ack import Ack
from events.catalog import ACK_PARTITIONS, ack_topic
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.reference import load_reference
from services.entry.bootstrap import sender_ids
from services.runtime.settings import Settings
from services.tools.simulator.build import Built
from services.tools.simulator.plan import Mix
from services.tools.simulator.run import plan_messages, publish, write_jsonl
from tests.cli_zygote import run_yidi
from tests.e2e.conftest import Workers
from tests.e2e.pipeline_check import ledger_rows, offline_settlements
from tests.fresh_db import fresh_database, seed_sink_positions_at_end
from tests.reference_copy import REFERENCE, reference_copy

HOSPITAL = "H33042100001"
REASON = "E_UNKNOWN_INSTITUTION"
SETTLE = "cn.yidi.visit.settlement_requested.v1"
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")
SETTLE_TYPES = {SETTLE, "cn.yidi.visit.presettle_requested.v1"}


def yidi(*args: str, env: dict[str, str], exit_code: int = 0) -> dict[str, object] | list[object]:
    done = run_yidi(list(args), env, timeout_s=120)
    assert done.returncode == exit_code, (args, done.returncode, done.stderr[-2000:])
    return json.loads(done.stdout)  # type: ignore[no-any-return]


class AckWatch:
    """The institution's acks from "now" on."""

    def __init__(self, bootstrap: KafkaConnection) -> None:
        self.consumer = clients.consumer(bootstrap, enable_auto_commit=False)
        self.acks: list[Ack] = []

    async def start(self) -> None:
        await self.consumer.start()
        tps = [TopicPartition(ack_topic(HOSPITAL), p) for p in range(ACK_PARTITIONS)]
        self.consumer.assign(tps)
        for tp, end in (await self.consumer.end_offsets(tps)).items():
            self.consumer.seek(tp, end)

    async def until(self, ce_ids: set[str], count: int, timeout_s: float = 90) -> list[Ack]:
        """The acks of ``ce_ids`` seen so far, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout_s
        while sum(a.ack_for in ce_ids for a in self.acks) < count:
            assert time.monotonic() < deadline, f"{len(self.acks)} acks, wanted {count}"
            batch = await self.consumer.getmany(timeout_ms=300)
            self.acks += [Ack.model_validate_json(r.value) for rs in batch.values() for r in rs]
        return [a for a in self.acks if a.ack_for in ce_ids]

    async def stop(self) -> None:
        await self.consumer.stop()


@dataclass
class Run:
    """One scenario's traffic, its expectations, and the environment of its processes."""

    messages: list[Built]
    settle_ids: set[str]
    expected: dict[str, bytes]
    env: dict[str, str] = field(default_factory=dict)
    filters: tuple[str, ...] = ()

    @property
    def run_id(self) -> str:
        return self.messages[0].ce_id.rsplit("-", 1)[0]


def plan(tmp_path: Path, keys: Path) -> Run:
    full = load_reference(REFERENCE)
    demo_registry(sender_ids(full)).save(keys)  # registered, but not in the reference data yet
    only = reference_copy(tmp_path / "only", lambda i: i["fixmedins_code"] == HOSPITAL)
    codec = Codec(demo_registry(sender_ids(full)))
    plain = Mix(reversal_share=0, duplicate_share=0, bad_share=0)
    run_id = f"dlq-{uuid.uuid4().hex[:8]}"
    messages = plan_messages(only, codec, 8, seed=17, run_id=run_id, mix=plain)
    events = tmp_path / "events.jsonl"
    write_jsonl(messages, events)
    settle_ids = {b.ce_id for b in messages if b.ce_type in SETTLE_TYPES}
    return Run(messages, settle_ids, offline_settlements(events))  # with the full reference


async def test_unknown_institution_redriven_after_it_is_added_settles_once(
    workers: Workers, tmp_path: Path
) -> None:
    settings = Settings()
    keys = tmp_path / "keys.json"
    run = plan(tmp_path, keys)
    assert run.expected and run.settle_ids
    without = reference_copy(tmp_path / "without", lambda i: i["fixmedins_code"] != HOSPITAL)
    async with fresh_database(settings) as db:
        suffix = f"-{run.run_id}"
        for group in ("yidi-ledger", "yidi-clearing"):
            await seed_sink_positions_at_end(
                settings.kafka(), db, group + suffix, "yidi.settlement.v1"
            )
        run.env = {"YIDI_DATABASE_URL": db, "YIDI_GROUP_SUFFIX": suffix,
                   "YIDI_KEY_REGISTRY": str(keys)}  # fmt: skip
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
        run.filters = ("--reason", REASON, "--since", since)
        workers.start("all", "all", {**run.env, "YIDI_REFERENCE_DIR": str(without)})
        await dead_lettered(run, settings.kafka(), db)

        workers.terminate("all")
        workers.start("all", "all", {**run.env, "YIDI_REFERENCE_DIR": str(REFERENCE)})
        watch = AckWatch(settings.kafka())
        await watch.start()
        try:
            outcome = await redriven_settle_once(run, db, watch)
            await redriven_again_changes_nothing(run, db, watch, outcome)
        finally:
            await watch.stop()


async def dead_lettered(run: Run, bootstrap: KafkaConnection, db: str) -> None:
    report = await publish(bootstrap, run.messages, 0, "yidi-adjudication", ack_timeout_s=120)
    assert report.missing == [], report.as_dict()
    assert report.rejected[REASON] == len(run.settle_ids), report.as_dict()
    listed = yidi("dlq", "list", *run.filters, "--format", "json", "--limit", "1000", env=run.env)
    assert isinstance(listed, list)
    mine = {r["ce_id"] for r in listed if str(r["ce_id"]).startswith(run.run_id)}  # type: ignore[index]
    assert mine == run.settle_ids
    assert await ledger_rows(db, run.run_id, 0, timeout_s=1) == {}


Outcome = dict[str, tuple[str, str | None, str | None]]


async def redriven_settle_once(run: Run, db: str, watch: AckWatch) -> Outcome:
    first = yidi("dlq", "redrive", *run.filters, "--yes", "--json", env=run.env)
    assert isinstance(first, dict)
    assert {s["ce_id"] for s in first["sent"]} == run.settle_ids  # type: ignore[attr-defined]
    landed = await ledger_rows(db, run.run_id, len(run.expected), timeout_s=120)
    assert landed == run.expected, "each settles once, exactly as the offline runner"
    shown = yidi("dlq", "show", first["sent"][0]["position"], env=run.env)  # type: ignore[index]
    assert isinstance(shown, dict) and REASON in json.dumps(shown)
    assert not ID_NUMBER.search(json.dumps(shown, ensure_ascii=False)), "ID numbers masked"
    acks = await watch.until(run.settle_ids, len(run.settle_ids))
    settled = [a for a in acks if a.status == "accepted" and a.ack_for_type == SETTLE]
    assert len(acks) == len(run.settle_ids) and len(settled) == len(run.expected)
    return {a.ack_for: (str(a.status), a.setl_id, a.error.code if a.error else None) for a in acks}


async def redriven_again_changes_nothing(
    run: Run, db: str, watch: AckWatch, outcome: Outcome
) -> None:
    # refused: exit 1 (docs/ops.md), so a script can tell (issue 15, finding 9)
    again = yidi("dlq", "redrive", *run.filters, "--yes", "--json", env=run.env, exit_code=1)
    assert isinstance(again, dict) and again["to_send"] == 0
    assert len(again["already_redriven"]) == len(run.settle_ids)  # type: ignore[arg-type]

    before = yidi("ledger", "hash", "--json", env=run.env)
    forced = yidi("dlq", "redrive", *run.filters, "--force", "--yes", "--json", env=run.env)
    assert isinstance(forced, dict) and len(forced["sent"]) == len(run.settle_ids)  # type: ignore[arg-type]
    later = (await watch.until(run.settle_ids, 2 * len(run.settle_ids)))[len(outcome) :]
    assert sorted(a.ack_for for a in later) == sorted(outcome), "one re-ack each"
    for ack in later:
        status, setl_id, code = outcome[ack.ack_for]
        if status == "rejected":
            assert (ack.status, ack.error.code if ack.error else None) == (status, code)
        elif ack.ack_for_type == SETTLE:
            assert (ack.status, ack.setl_id) == ("duplicate", setl_id)
        else:
            assert ack.status == "duplicate"
    await asyncio.sleep(2)
    assert await ledger_rows(db, run.run_id, 0, timeout_s=1) == run.expected
    history = yidi("dlq", "history", "--format", "json", "--limit", "1000", env=run.env)
    attempts = Counter(
        (h["attempt"], h["status"])  # type: ignore[index]
        for h in history
        if str(h["ce_id"]).startswith(run.run_id)  # type: ignore[index]
    )
    assert attempts == {(1, "sent"): len(run.settle_ids), (2, "sent"): len(run.settle_ids)}
    after = yidi("ledger", "hash", "--json", env=run.env)
    assert isinstance(before, dict) and isinstance(after, dict)
    assert before["tables"][0] == after["tables"][0], "settlements unchanged"  # type: ignore[index]
