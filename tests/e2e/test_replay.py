"""Replay without double counting, against the real workers, broker and a fresh database.

Simulate -> close the month -> hash H. Drop the ledger and the clearing positions,
rebuild both from the log -> H. Replay the same range into production twice (the
settlement feed through the sinks, the visits through a rewound adjudicator) -> H, and
not one new ack. Shadow the range with Zhoushan's critical-illness ratio at 62 % instead
of 60 % -> exactly the settlements the offline runner says change, with their totals,
and production still H.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import TopicPartition

from events.catalog import ACK_PARTITIONS, ACK_TOPIC_PREFIX
from events.stream import clients
from events.stream.clients import KafkaConnection
from services.entry.bootstrap import build_runtime
from services.registration import task as registration
from services.runtime.settings import Settings
from services.tools.simulator.run import (
    plan_costly_stays,
    plan_messages,
    publish,
    wait_consumed,
    write_jsonl,
)
from tests.e2e.conftest import Workers, yidi_cli
from tests.e2e.pipeline_check import offline_settlements, salt_of
from tests.fresh_db import fresh_database, seed_sink_positions_at_end

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
# `make test` replays 250 visits (plus the costly Zhoushan stays the shadow needs); `make
# e2e-replay` 10,000
VISITS = int(os.environ.get("YIDI_E2E_REPLAY_VISITS", "250"))
SETTLEMENTS, VISIT = "yidi.settlement.v1", "yidi.visit.v1"
SINKS = ("yidi-ledger", "yidi-clearing")
ZHOUSHAN = "330900"
MONEY = ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "psn_cash_pay")


def _yidi(args: list[str], env: dict[str, str]) -> Any:
    return json.loads(_cli(args, env))


def _cli(args: list[str], env: dict[str, str]) -> str:
    return yidi_cli(args, env)


State = dict[str, str]
"""The ledger digest and each table's rows and hash: a mismatch names the tables that moved."""


def _hash(env: dict[str, str]) -> State:
    out = _yidi(["ledger", "hash", "--json"], env)
    tables = {t["table"]: f"{t['rows']} rows {t['sha256'][:16]}" for t in out["tables"]}
    return {"digest": out["digest"], **tables}


async def _shadow_topics(bootstrap: KafkaConnection, name: str) -> list[str]:
    consumer = clients.consumer(bootstrap)
    await consumer.start()
    try:
        return [t for t in await consumer.topics() if t.startswith(f"yidi.shadow.{name}.")]
    finally:
        await consumer.stop()


async def _acks_since(bootstrap: KafkaConnection, since: str, run: str) -> dict[str, set[bytes]]:
    """Every ack of this run's requests (``ack_for`` starting ``rpl-<run>``) on every
    hospital's ack topic since ``since``: ack ce_id -> the values sent. Acks of other traffic
    on a shared stack (a benchmark, another test) are not this test's claim."""
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = [t for t in await consumer.topics() if t.startswith(ACK_TOPIC_PREFIX)]
        tps = [TopicPartition(t, p) for t in topics for p in range(ACK_PARTITIONS)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        ms = int(dt.datetime.fromisoformat(since).timestamp() * 1000)
        for tp, hit in (await consumer.offsets_for_times(dict.fromkeys(tps, ms))).items():
            consumer.seek(tp, ends[tp] if hit is None else hit.offset)
        out: dict[str, set[bytes]] = defaultdict(set)
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    if f'"ack_for":"rpl-{run}'.encode() in r.value:
                        out[dict(r.headers)["ce_id"].decode()].add(r.value)
        return dict(out)
    finally:
        await consumer.stop()


def _zhoushan_at_62(dest: Path) -> Path:
    """deploy/reference with Zhoushan's (330900) first critical-illness segment at 62 %."""
    shutil.copytree(REFERENCE, dest)
    path = dest / "policies" / f"{ZHOUSHAN}-2026.json"
    policy = json.loads(path.read_text("utf-8"))
    segment = policy["critical_illness"]["segments"][0]
    assert segment["ratio_pct"] == "60"
    segment["ratio_pct"] = "62"
    path.write_text(json.dumps(policy, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return dest


def _amounts(body: bytes) -> tuple[Decimal, ...]:
    info = orjson.loads(body)["setlinfo"]
    return tuple(Decimal(info[c]) for c in MONEY)


async def _drop_projections(db_url: str, suffix: str) -> None:
    tables = ["settlements", "settlement_conflicts", "clearing_entries", "clearing_positions"]
    groups = SINKS
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(f"TRUNCATE {', '.join(tables)}")
        await conn.execute(
            "DELETE FROM sink_offsets WHERE group_id = ANY($1::text[])",
            [g + suffix for g in groups],
        )
    finally:
        await conn.close()


async def _caught_up(bootstrap: KafkaConnection, suffix: str) -> None:
    await wait_consumed(bootstrap, "yidi-adjudication", VISIT)
    for group in SINKS:
        await wait_consumed(bootstrap, group + suffix, SETTLEMENTS)


_FILINGS = """
    SELECT count(*), md5(string_agg(row(filing_id, psn_no, insuplc_admdvs, filing_type,
        mdtrtarea_admvs, begndate, enddate, revoked_on, channel, registrant, certno_masked,
        src_partition, src_offset)::text, '|' ORDER BY filing_id))
    FROM filings WHERE substr(psn_no, 7, 6) = ANY($1::text[])"""
_PERSONS = """
    SELECT count(*), md5(string_agg(row(insuplc_admdvs, psn_no, insutypes, status, poor,
        src_partition, src_offset)::text, '|' ORDER BY insuplc_admdvs, psn_no))
    FROM insured_persons WHERE substr(psn_no, 7, 6) = ANY($1::text[])"""


async def _filings_rebuilt(db_url: str, env: dict[str, str], since: str, salts: list[str]) -> None:
    """Filings and person status dropped and rebuilt from the registration log: this run's
    rows come back the same (registrations an earlier run left unread were filed here before
    the range and are not in it)."""
    conn = await asyncpg.connect(db_url)
    try:
        before = [tuple(await conn.fetchrow(q, salts)) for q in (_FILINGS, _PERSONS)]
        assert before[0][0] > 0 and before[1][0] > 0
        await conn.execute("TRUNCATE filings, insured_persons")
        args = ["--projection", "filings", "--since", since, "--yes", "--json"]
        report = _yidi(["replay", "rebuild", *args], env)
        assert report["inserted"] >= before[0][0]
        assert [tuple(await conn.fetchrow(q, salts)) for q in (_FILINGS, _PERSONS)] == before
    finally:
        await conn.close()


async def _replay_into_production_twice(
    workers: Workers, env: dict[str, str], since: str, h: State, acks: dict[str, set[bytes]]
) -> None:
    """The settlement feed through the sinks, the visits through a rewound adjudicator."""
    bootstrap, suffix = Settings().kafka(), env["YIDI_GROUP_SUFFIX"]
    run = suffix.removeprefix("-t")
    for _ in range(2):
        again = _yidi(["replay", "production", "--topic", SETTLEMENTS, "--since", since,
                       "--json"], env)  # fmt: skip
        assert again["records"] > 0 and again["inserted"] == 0
        rewound = _yidi(["replay", "production", "--topic", VISIT, "--since", since,
                         "--json"], env)  # fmt: skip
        assert rewound["records"] > 0, "the adjudicator reads the range again"
        workers.start("all", "all", env)
        await _caught_up(bootstrap, suffix)
        workers.stop_all()
        assert _hash(env) == h
        # Inputs that never reached a person's state (unreadable, unsigned) are acked again
        # on a replay: with the same ack id and the same bytes. No other ack appears.
        assert await _acks_since(bootstrap, since, run) == acks, "only identical re-acks"


async def _shadow_of_zhoushan_at_62(
    tmp_path: Path,
    events: Path,
    run: str,
    env: dict[str, str],
    since: str,
    h: State,
    acks: dict[str, set[bytes]],
) -> tuple[Any, set[str], Decimal]:
    """The policy change touches exactly the settlements the offline runner says."""
    bootstrap = Settings().kafka()
    ref62 = _zhoushan_at_62(tmp_path / "ref62")
    before, after = offline_settlements(events), offline_settlements(events, ref62)
    assert before.keys() == after.keys()
    changed = {s for s in before if _amounts(before[s]) != _amounts(after[s])}
    assert len(changed) >= 6, "the costly Zhoushan stays cross the critical-illness deductible"
    delta = sum((_amounts(after[s])[1] - _amounts(before[s])[1] for s in changed), Decimal(0))
    name = f"t{run}"
    try:
        args = ["--name", name, "--reference", str(ref62), "--since", since, "--json"]
        shadow = _yidi(["replay", "shadow", *args], env)
        runs = _yidi(["replay", "runs", "--json"], env)
        assert {r["run_id"] for r in runs} >= {f"shadow:{name}", "rebuild:ledger"}
    finally:
        _cli(["replay", "drop-shadow", "--name", name], env)
    assert not await _shadow_topics(bootstrap, name), "drop-shadow removes its topics"
    diff = shadow["diff"]
    assert {c["setl_id"] for c in diff["changed"]} == changed
    assert diff["only_production"] == [] and diff["only_shadow"] == []
    assert diff["compared"] == len(before)
    assert Decimal(diff["totals_delta"]["fund_pay_sumamt"]) == delta
    assert _hash(env) == h, "a shadow replay leaves production untouched"
    assert await _acks_since(bootstrap, since, run) == acks
    return shadow, changed, delta


async def test_rebuild_replay_twice_and_shadow(workers: Workers, tmp_path: Path) -> None:
    settings = Settings()
    bootstrap = settings.kafka()
    runtime = build_runtime(settings)
    run = uuid.uuid4().hex[:8]
    suffix = f"-t{run}"
    messages = [
        *plan_messages(REFERENCE, runtime.codec, VISITS, seed=41, run_id=f"rpl-{run}"),
        *plan_costly_stays(REFERENCE, runtime.codec, f"rpl-{run}", ZHOUSHAN),
    ]
    events = tmp_path / "events.jsonl"
    write_jsonl(messages, events)

    async with fresh_database(settings) as db_url:
        env = {"YIDI_DATABASE_URL": db_url, "YIDI_GROUP_SUFFIX": suffix}
        for group in SINKS:
            await seed_sink_positions_at_end(bootstrap, db_url, group + suffix, SETTLEMENTS)
        workers.start("all", "all", env)
        # registrations an earlier run left unread (a benchmark runs no registration worker)
        # are filed into this database first: the range starts after them
        await wait_consumed(bootstrap, registration.GROUP, registration.INPUTS[0])
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
        report = await publish(bootstrap, messages, rate=0, adjudication_group="yidi-adjudication",
                               ack_timeout_s=180)  # fmt: skip
        assert report.missing == [], report.as_dict()
        await _caught_up(bootstrap, suffix)
        closed = _yidi(["clearing", "close", "--period", "2026-10", "--json"], env)
        assert closed["newly_closed"]
        h = _hash(env)
        workers.stop_all()
        acks = await _acks_since(bootstrap, since, run)
        differing = {k: sorted(v) for k, v in acks.items() if len(v) != 1}
        assert acks and not differing, f"re-acks that differ: {differing}"

        # Lose the ledger and the clearing positions; rebuild both from the log.
        await _drop_projections(db_url, suffix)
        assert _hash(env) != h
        rebuilt = {
            p: _yidi(
                ["replay", "rebuild", "--projection", p, "--since", since, "--yes", "--json"], env
            )
            for p in ("ledger", "clearing")
        }
        assert rebuilt["ledger"]["inserted"] > 0 and not rebuilt["ledger"]["resumed"]
        assert _hash(env) == h, "rebuilt from the log: the same ledger and clearing state"
        # Again through the trusted paths (the feed as published, worker processes): the
        # same state, late items in the same months
        await _drop_projections(db_url, suffix)
        rebuild_trusted = ["replay", "rebuild", "--since", since, "--trusted", "--yes", "--json"]
        trusted = {
            p: _yidi([*rebuild_trusted, "--projection", p], env) for p in ("ledger", "clearing")
        }
        assert trusted["ledger"]["inserted"] == rebuilt["ledger"]["inserted"]
        assert trusted["clearing"]["inserted"] == rebuilt["clearing"]["inserted"]
        assert _hash(env) == h, "the trusted rebuilds land exactly what the validating ones did"

        await _filings_rebuilt(
            db_url, env, since, [salt_of(f"rpl-{run}"), salt_of(f"costly|rpl-{run}")]
        )
        await _replay_into_production_twice(workers, env, since, h, acks)

        shadow, changed, delta = await _shadow_of_zhoushan_at_62(
            tmp_path, events, run, env, since, h, acks
        )
        print(f"\nreplay {VISITS} visits: rebuild ledger {rebuilt['ledger']['events_per_s']}/s "
              f"(trusted {trusted['ledger']['events_per_s']}/s), "
              f"clearing {rebuilt['clearing']['events_per_s']}/s "
              f"(trusted {trusted['clearing']['events_per_s']}/s), shadow "
              f"{shadow['events_per_s']}/s; {len(changed)} settlements change, fund delta {delta}")  # fmt: skip
