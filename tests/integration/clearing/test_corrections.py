"""A month closed under the old rule, then the clearing projection rebuilt under the pool rule.

Issue 14: statements were issued by raw division (``310000 -> 310104`` for settlements
inside Shanghai's pool). The closed statement must stay as issued; the rebuild from the
feed gives today's figures for the month; ``yidi clearing report`` lists the difference
as a correction carried into the next open period, whose close records it once.

Real broker (the feed on a topic of its own, read by ``replay.rebuild``) and a fresh
PostgreSQL. The "old" statement is made the way the previous version made it: facts by
raw division (``_as_issue_14_found_it``) through the live batch write, then a real close.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import asyncpg
import orjson
import pytest

from contracts.clearing import ClearingStatement
from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from services.clearing.adapters.pg_sink import ClearingSink
from services.clearing.adapters.postgres import PgClearingUnitOfWork
from services.clearing.core.errors import RebuildNeeded
from services.clearing.feed import AMOUNT_FIELDS, Fact
from services.clearing.report import load_report
from services.clearing.service_layer.periods import close_period
from services.entry.bootstrap import build_runtime
from services.ops.replay import rebuild
from services.runtime.reference import load_pooling_regions
from services.runtime.settings import Settings
from tests.cli_zygote import run_yidi
from tests.fresh_db import fresh_database
from tests.settlement_feed import REFERENCE, settlement_feed

M1, M2, M3 = "2026-10", "2026-11", "2026-12"
SCOPES = ("national", "province:310000", "province:330000", "province:650000")
TODAY = dt.date(2026, 12, 3)


def _pools() -> frozenset[str]:
    """Independently of the code under test: the regions with a policy pack file."""
    return frozenset(p.name.split("-")[0] for p in (REFERENCE / "policies").glob("*.json"))


def _pool(division: str, pools: frozenset[str]) -> str:
    return next(
        (c for c in (division, division[:4] + "00", division[:2] + "0000") if c in pools),
        division,
    )


def _as_issue_14_found_it(value: bytes, partition: int, offset: int) -> Fact | None:
    """The previous version's mapping: scopes and participants by raw division code."""
    doc = orjson.loads(value)
    home, treatment = doc["insuplc_admdvs"], doc["mdtrtarea_admvs"]
    if home == treatment:
        return None
    national = home[:2] != treatment[:2]
    scope = "national" if national else f"province:{home[:2]}0000"
    payer, payee = (home[:2] + "0000", treatment[:2] + "0000") if national else (home, treatment)
    reversal = doc["refd_setl_flag"] == "1"
    amounts = tuple(Decimal(doc["setlinfo"][f]) * (-1 if reversal else 1) for f in AMOUNT_FIELDS)
    return Fact(
        doc["setlinfo"]["setl_id"], doc["setl_date"][:7], scope,
        "reversal" if reversal else "settlement", home, treatment, payer, payee, amounts,
        partition, offset,
    )  # fmt: skip


def _by_pool(values: list[bytes], scope: str) -> dict[tuple[str, str], Decimal]:
    """What the month gives by pool, from the feed, computed here (directed, each pair netted)."""
    pools = _pools()
    signed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for value in values:
        doc = orjson.loads(value)
        hp, tp = _pool(doc["insuplc_admdvs"], pools), _pool(doc["mdtrtarea_admvs"], pools)
        if hp == tp:
            assert doc["route"] == "local"
            continue
        if scope == "national":
            if hp[:2] == tp[:2]:
                continue
            pair = (hp[:2] + "0000", tp[:2] + "0000")
        elif hp[:2] == tp[:2] == scope[9:11]:
            pair = (hp, tp)
        else:
            continue
        sign = -1 if doc["refd_setl_flag"] == "1" else 1
        signed[pair] += sign * Decimal(doc["setlinfo"]["fund_pay_sumamt"])
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (a, b), v in signed.items():
        if v >= 0:
            out[(a, b)] += v
        else:
            out[(b, a)] -= v
    return {k: v for k, v in out.items() if v}


Encoded = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


async def _publish(
    bootstrap: KafkaConnection, topic: str, feed: list[Encoded]
) -> list[tuple[bytes, int, int]]:
    producer = clients.producer(bootstrap, acks="all")
    await producer.start()
    try:
        sent = [await producer.send(topic, v, key=k, headers=h) for k, v, h in feed]
        metas = [await f for f in sent]
    finally:
        await producer.stop()
    return [(v, m.partition, m.offset) for (_k, v, _h), m in zip(feed, metas, strict=True)]


async def _close_by_district(
    conn: asyncpg.Connection, codec: Codec, group: str, published: list[tuple[bytes, int, int]]
) -> dict[str, bytes]:
    """The previous version lands the feed by district and closes October in every scope."""
    facts = [f for v, p, o in published if (f := _as_issue_14_found_it(v, p, o))]
    ends: dict[tuple[str, int], int] = {}
    for _v, p, o in published:  # where the live group stood when October froze: the end
        key = ("yidi.settlement.v1", p)
        ends[key] = max(ends.get(key, 0), o + 1)
    await ClearingSink(codec, rebuild=True)(conn, group, facts, ends)
    # Today's close, given today's pools, refuses positions placed by district and issues
    # nothing: the period stays CLOSING (the previous version, below, then closes it).
    with pytest.raises(RebuildNeeded) as refused:
        await close_period(
            PgClearingUnitOfWork(conn),
            codec,
            M1,
            "province:310000",
            today=TODAY,
            pools=load_pooling_regions(),
        )
    assert "310000->310104: inside pool 310000" in refused.value.message
    assert await conn.fetchval("SELECT count(*) FROM clearing_statements") == 0
    assert await conn.fetchval("SELECT status FROM clearing_periods") == "CLOSING"
    issued = {}
    for scope in SCOPES:
        view = await close_period(PgClearingUnitOfWork(conn), codec, M1, scope, today=TODAY)
        issued[scope] = view.payload
    old = ClearingStatement.model_validate_json(issued["province:310000"])
    old_pairs = {(p.payer, p.payee) for p in old.pairs}
    assert old_pairs & {("310000", "310104"), ("310000", "310115")}, old_pairs
    assert ClearingStatement.model_validate_json(issued["province:650000"]).pairs
    return issued


async def _corrections_due(
    conn: asyncpg.Connection, issued: dict[str, bytes], values: list[bytes]
) -> dict[str, dict[tuple[str, str], Decimal]]:
    """After the rebuild: each October statement unchanged, its correction due in November
    equal to the month by pool minus the statement, to the fen, pair by pair."""
    due_by_scope = {}
    for scope in SCOPES:
        r = await load_report(PgClearingUnitOfWork(conn), M1, scope)
        stored = await conn.fetchval(
            "SELECT payload FROM clearing_statements WHERE period = $1 AND scope = $2", M1, scope
        )
        assert bytes(stored) == issued[scope], "a closed statement never changes"
        statement = ClearingStatement.model_validate_json(stored)
        pairs = {(p.payer, p.payee): p.fund_pay_sumamt for p in statement.pairs}
        assert {k: str(v) for k, v in r.nets.items()} == {
            n.participant: str(n.net) for n in statement.nets
        }
        due = {(c.payer, c.payee): c.amount for c in r.correction_due}
        want = _by_pool(values, scope)
        for pair in set(pairs) | set(due) | set(want):
            assert pairs.get(pair, 0) + due.get(pair, 0) == want.get(pair, 0), (scope, pair)
        if due:
            assert r.correction_due_into == M2
        due_by_scope[scope] = due
    assert due_by_scope["national"] == {}, "pools never change a province"
    assert due_by_scope["province:310000"] and due_by_scope["province:650000"]
    # Xinjiang's whole statement comes back: every pair of it was local
    assert all(v < 0 for v in due_by_scope["province:650000"].values())
    return due_by_scope


def _report_cli(db: str, period: str, scope: str, fmt: str) -> str:
    done = run_yidi(
        ["clearing", "report", "--period", period, "--scope", scope, "--format", fmt],
        {"YIDI_DATABASE_URL": db}, timeout_s=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


async def _carried_once(
    conn: asyncpg.Connection,
    codec: Codec,
    db: str,
    due_by_scope: dict[str, dict[tuple[str, str], Decimal]],
) -> None:
    """November's open report lists October's corrections (also as `yidi clearing report`
    prints them); its close records them once; December has nothing left to carry and
    October nothing left due."""
    for scope in SCOPES:
        r = await load_report(PgClearingUnitOfWork(conn), M2, scope)
        carried = {(c.origin_period, c.payer, c.payee): c.amount for c in r.corrections}
        assert carried == {(M1, *k): v for k, v in due_by_scope[scope].items()}
        assert sum(r.correction_nets.values(), start=Decimal(0)) == 0
        assert r.nets == {} and r.gross == 0  # November has no traffic of its own
    rows = csv.reader(io.StringIO(_report_cli(db, M2, "province:310000", "csv")))
    printed = {(x[1], x[2]): Decimal(x[3]) for x in rows if x[0] == "correction"}
    assert printed == due_by_scope["province:310000"]
    assert "carried into this period" in _report_cli(db, M2, "province:310000", "table")
    assert "correction, due in 2026-11" in _report_cli(db, M1, "province:650000", "table")
    for scope in SCOPES:
        view = await close_period(PgClearingUnitOfWork(conn), codec, M2, scope, today=TODAY)
        recorded = await conn.fetch(
            "SELECT payer, payee, amount, statement_id FROM clearing_corrections "
            "WHERE scope = $1 AND carried_into = $2 AND origin_period = $3",
            scope, M2, M1,
        )  # fmt: skip
        assert {(r["payer"], r["payee"]): r["amount"] for r in recorded} == due_by_scope[scope]
        assert {r["statement_id"] for r in recorded} <= {view.statement_id}
        closed = await load_report(PgClearingUnitOfWork(conn), M2, scope)
        assert {(c.payer, c.payee): c.amount for c in closed.corrections} == due_by_scope[scope]
        assert (await load_report(PgClearingUnitOfWork(conn), M3, scope)).corrections == []
        assert (await load_report(PgClearingUnitOfWork(conn), M1, scope)).correction_due == []


async def test_a_closed_month_keeps_its_statement_and_its_correction_is_carried_once(
    settings: Settings, unique: str, tmp_path: Path
) -> None:
    codec = build_runtime(settings).codec
    feed = settlement_feed(codec, tmp_path, 400, 14, f"corr-{unique}")
    values = [v for _k, v, _h in feed]
    assert {orjson.loads(v)["setl_date"][:7] for v in values} == {M1}
    topic = f"it.settlement.{unique}"
    await apply(settings.kafka(), (Topic(topic, "person", "test", 3),), "test")
    try:
        published = await _publish(settings.kafka(), topic, feed)
        async with fresh_database(settings) as db:
            await rebuild(settings.kafka(), db, codec, "ledger", f"-{unique}",
                          source_topic=topic)  # fmt: skip
            conn = await asyncpg.connect(db)
            try:
                issued = await _close_by_district(conn, codec, f"yidi-clearing-{unique}", published)
            finally:
                await conn.close()
            # the clearing projection rebuilt from the feed under the pool rule
            report = await rebuild(settings.kafka(), db, codec, "clearing", f"-{unique}",
                                   source_topic=topic)  # fmt: skip
            assert report.records == len(feed)
            conn = await asyncpg.connect(db)
            try:
                assert not await conn.fetchval(
                    "SELECT count(*) FROM clearing_entries WHERE period <> $1", M1
                ), "the rebuild put October's settlements back in October"
                due_by_scope = await _corrections_due(conn, issued, values)
                await _carried_once(conn, codec, db, due_by_scope)
            finally:
                await conn.close()
    finally:
        await delete_topics(settings.kafka(), [topic])
