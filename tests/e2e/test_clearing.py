"""Two months of traffic through the real workers into a fresh database, then clearing.

Month 1 is published except for a slice of persons held back; month 1 is
closed; the held-back slice (still dated month 1) and month 2 follow; month 2
is closed. Every statement must equal the offline runner's totals pair by
pair, nets sum to zero, the held-back settlements appear in month 2 flagged
late, closing again changes nothing, prepayment warnings fire once per
crossing, and confirmations move the period to CONFIRMED, then SETTLED.

Provincial statements are by pooling region (issue 14). The expected pairs are
computed here from the offline runner's settlements with the pool rule written out
again (``_pool``, from the policy pack files, not ``contracts.pools``): the traffic has
local settlements in districts of Shanghai's (310104, 310115) and Xinjiang's (650102,
650104) pools, none of which may be cleared, and Zhejiang pools treated in Zhoushan's
districts (330902, 330903), which are paid as 330900; Xinjiang's provincial statement
is empty and confirmed at close. Before month 2 is
closed, ``yidi clearing report`` shows the figures its statement then carries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import uuid
import zlib
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import asyncpg
import orjson
from aiokafka import TopicPartition

from contracts.clearing import ClearingStatement, PrepaymentWarning
from events.stream import clients
from events.stream.clients import KafkaConnection
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.simulator.build import Built
from services.tools.simulator.run import plan_messages, publish, wait_consumed, write_jsonl
from tests.e2e.conftest import Workers, yidi_cli
from tests.e2e.pipeline_check import offline_settlements
from tests.fresh_db import fresh_database, seed_sink_positions_at_end

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
# `make test` runs 250 visits a month, `make e2e-clearing` 500
VISITS = int(os.environ.get("YIDI_E2E_CLEARING_VISITS", "250"))
M1, M2 = "2026-08", "2026-09"
CLEARING_TOPIC = "yidi.clearing.v1"
SETTLEMENT_TOPIC = "yidi.settlement.v1"


def _pools() -> frozenset[str]:
    """The regions with a policy pack file: each is a pooling region."""
    return frozenset(p.name.split("-")[0] for p in (REFERENCE / "policies").glob("*.json"))


POOLS = _pools()


def _pool(division: str) -> str:
    """docs/adjudication.md: the most specific of itself, its city, its province with a pack."""
    return next(
        (c for c in (division, division[:4] + "00", division[:2] + "0000") if c in POOLS),
        division,
    )


def _flow(home: str, treatment: str) -> tuple[str, str, str] | None:
    """(scope, payer, payee) of a settlement, or None inside one pool."""
    hp, tp = _pool(home), _pool(treatment)
    if hp[:2] != tp[:2]:
        return "national", hp[:2] + "0000", tp[:2] + "0000"
    if hp != tp:
        return f"province:{hp[:2]}0000", hp, tp
    return None


Expected = dict[tuple[str, str], dict[tuple[str, str], list[Decimal]]]


def _held(b: Built) -> bool:
    """About one person in eight of month 1 sends their traffic after month 1 is closed."""
    key = b.record[0]
    return key is not None and zlib.crc32(key) % 8 == 0


def _expected(
    offline: dict[str, bytes], held_keys: set[bytes]
) -> dict[tuple[str, str], dict[tuple[str, str], list[Decimal]]]:
    """(period, scope) -> (payer, payee) -> [fund, count, late count], from the offline runner."""
    out: dict[tuple[str, str], dict[tuple[str, str], list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
    )
    for body in offline.values():
        doc = orjson.loads(body)
        home, treatment = doc["insuplc_admdvs"], doc["mdtrtarea_admvs"]
        flow = _flow(home, treatment)
        assert (flow is None) == (doc["route"] == "local"), (home, treatment, doc["route"])
        if flow is None:
            continue
        scope, payer, payee = flow
        natural = doc["setl_date"][:7]
        late = f"{home}:{doc['setlinfo']['psn_no']}".encode() in held_keys
        period = M2 if late else natural
        sign = -1 if doc["refd_setl_flag"] == "1" else 1
        line = out[(period, scope)][(payer, payee)]
        line[0] += sign * Decimal(doc["setlinfo"]["fund_pay_sumamt"])
        line[1] += 1
        line[2] += 1 if late else 0
    return _netted(out)


def _netted(out: Expected) -> Expected:
    """Each pair netted, as a statement carries it: a pair more reversed than settled pays
    the other way (its amount joins the opposite pair; its counts stay on its own line)."""
    result: Expected = defaultdict(lambda: defaultdict(lambda: [Decimal(0)] * 3))
    for key, pairs in out.items():
        for (payer, payee), (fund, count, late) in pairs.items():
            turned = result[key][(payer, payee) if fund >= 0 else (payee, payer)]
            turned[0] += abs(fund)
            own = result[key][(payer, payee)]
            own[1] += count
            own[2] += late
    return result


def _local_settlements(offline: dict[str, bytes]) -> set[str]:
    """The setl_ids the offline adjudicator routed ``local``. The traffic must have some in
    districts of Shanghai's and Xinjiang's pools, and settlements of another Zhejiang pool
    treated in Zhoushan's districts (the simulator sends nobody to their own city)."""
    docs = {k: orjson.loads(v) for k, v in offline.items()}
    local = {k for k, d in docs.items() if d["route"] == "local"}
    treated_locally = {docs[k]["mdtrtarea_admvs"] for k in local}
    for pool_districts in ({"310104", "310115"}, {"650102", "650104"}):
        assert treated_locally & pool_districts, (pool_districts, treated_locally)
    into_zhoushan = {
        d["insuplc_admdvs"]
        for d in docs.values()
        if d["mdtrtarea_admvs"] in ("330902", "330903") and d["insuplc_admdvs"][:2] == "33"
    }
    assert into_zhoushan - {"330900"}, into_zhoushan
    return local


def _cli(args: list[str], env: dict[str, str]) -> str:
    return yidi_cli(args, env)


async def _clearing_messages(
    bootstrap: KafkaConnection, start: dict[int, int]
) -> list[tuple[str, bytes]]:
    """(ce_type, value) of everything published on the clearing topic since ``start``."""
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(CLEARING_TOPIC, p) for p in start]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start[tp.partition])
        ends = await consumer.end_offsets(tps)
        out: list[tuple[str, bytes]] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    ce_type = dict(r.headers).get("ce_type", b"").decode()
                    out.append((ce_type, r.value))
        return out
    finally:
        await consumer.stop()


async def _check_statements(
    db_url: str,
    expected: Expected,
    closed_by_period: dict[str, dict[str, dict[str, object]]],
    scopes: list[str],
    local: set[str],
) -> None:
    """Each statement equals the offline totals pair by pair; positions equal the ledger."""
    conn = await asyncpg.connect(db_url)
    try:
        for period, closed in closed_by_period.items():
            for scope, c in closed.items():
                payload = await conn.fetchval(
                    "SELECT payload FROM clearing_statements WHERE statement_id = $1",
                    c["statement_id"],
                )
                statement = ClearingStatement.model_validate_json(payload)  # nets checked here
                assert sum(n.net for n in statement.nets) == 0
                want = expected.get((period, scope), {})
                got = {(p.payer, p.payee): (p.fund_pay_sumamt, p.setl_cnt) for p in statement.pairs}
                assert got == {k: (v[0], int(v[1])) for k, v in want.items()}, (period, scope)
                if scope != "national":  # provincial statements name only pools
                    named = {n.participant for n in statement.nets}
                    named |= {x for p in statement.pairs for x in (p.payer, p.payee)}
                    assert all(_pool(x) == x for x in named), (scope, named)
                if not want:  # no cross-pool flow: empty, confirmed as it closes
                    assert (statement.pairs, statement.nets) == ((), ()), (period, scope)
                    assert c["status"] == "CONFIRMED", (period, scope, c)
                late = await conn.fetchval(
                    "SELECT late_cnt FROM clearing_statements WHERE statement_id = $1",
                    c["statement_id"],
                )
                assert late == sum(int(v[2]) for v in want.values())
                if scope == "national":
                    assert (late > 0) == (period == M2), (period, late)
        # Everything cleared equals the ledger's cross-pool totals in this database, and no
        # settlement inside one pool (route local) has an entry.
        from_ledger: dict[str, Decimal] = defaultdict(Decimal)
        for r in await conn.fetch(
            "SELECT setl_id, insuplc_admdvs, mdtrtarea_admvs, fund_pay_sumamt FROM settlements"
        ):
            flow = _flow(r["insuplc_admdvs"], r["mdtrtarea_admvs"])
            if flow is not None:
                from_ledger[flow[0]] += r["fund_pay_sumamt"]
        for scope in scopes:
            cleared = await conn.fetchval(
                "SELECT coalesce(sum(fund_pay_sumamt), 0) FROM clearing_positions WHERE scope = $1",
                scope,
            )
            assert from_ledger.get(scope, Decimal(0)) == cleared, scope
        entries = {r["setl_id"] for r in await conn.fetch("SELECT setl_id FROM clearing_entries")}
        assert entries and not entries & local, "a local settlement reached clearing"
        late_rows = await conn.fetch(
            "SELECT period, natural_period FROM clearing_entries WHERE late"
        )
        assert late_rows and all((r["period"], r["natural_period"]) == (M2, M1) for r in late_rows)
    finally:
        await conn.close()


def _open_report_was_the_statement(
    open_reports: dict[str, dict[str, object]],
    closed: dict[str, dict[str, object]],
    scopes: list[str],
    env: dict[str, str],
) -> None:
    """The report read while the month was open (everything landed) shows the figures its
    statement carries once closed: gross, net volume, nets, late count and every pair."""
    for scope in scopes:
        issued = json.loads(
            _cli(["clearing", "report", "--period", M2, "--scope", scope, "--format", "json"],
                 env)
        )  # fmt: skip
        assert issued["statement_id"] == closed[scope]["statement_id"]
        for figure in ("gross", "net_volume", "nets", "late_cnt"):
            assert open_reports[scope][figure] == issued[figure], (scope, figure)
        pairs = {(p["payer"], p["payee"], p["fund_pay_sumamt"], p["setl_cnt"])
                 for p in issued["pairs"]}  # fmt: skip
        assert {(p["payer"], p["payee"], p["fund_pay_sumamt"], p["setl_cnt"])
                for p in open_reports[scope]["pairs"]} == pairs, scope  # fmt: skip


def _versions_published(published: list[tuple[str, bytes]], statement_id: str) -> ClearingStatement:
    """The statement went out once per status (APPLIED, ACCEPTED, SETTLED); its first version."""
    national = [
        st for t, v in published if t == ClearingStatement.ce_type
        and (st := ClearingStatement.model_validate_json(v)).statement_id == statement_id
    ]  # fmt: skip
    assert [s.status.value for s in national] == ["10", "20", "50"]
    return national[0]


def _agencies_read_their_statement(statement: ClearingStatement, env: dict[str, str]) -> None:
    """Each agency reads the statement on its own ack topic, logged in as its own principal
    (it may not read yidi.clearing.v1): settled, with its own net."""
    for net in statement.nets[:2]:
        seen = [json.loads(line) for line in _cli(
            ["clearing", "statements", "--participant", net.participant, "--json"], env
        ).splitlines()]  # fmt: skip
        mine = [s for s in seen if s["statement_id"] == statement.statement_id]
        assert mine and mine[0]["status"] == "50", (net.participant, seen)
        assert Decimal(mine[0]["net"]) == net.net, (net.participant, mine)


async def _confirm_and_settle(db_url: str, statement_id: str, env: dict[str, str]) -> None:
    """Every participant signs its net -> CONFIRMED; then the center settles -> SETTLED."""
    conn = await asyncpg.connect(db_url)
    try:
        nets = await conn.fetch(
            "SELECT participant, net FROM clearing_statement_nets WHERE statement_id = $1",
            statement_id,
        )
    finally:
        await conn.close()
    for r in nets:
        _cli(["clearing", "confirm", "--statement-id", statement_id, "--participant",
              r["participant"], "--net", str(r["net"]), "--period", M1], env)  # fmt: skip
    conn = await asyncpg.connect(db_url)
    try:
        for _ in range(120):
            status = await conn.fetchval(
                "SELECT status FROM clearing_periods WHERE period = $1 AND scope = 'national'",
                M1,
            )
            if status == "CONFIRMED":
                break
            await asyncio.sleep(0.5)
        assert status == "CONFIRMED"
    finally:
        await conn.close()
    _cli(["clearing", "settle", "--period", M1], env)


async def _publish_and_close(
    settings: Settings,
    batch: list[Built],
    period: str,
    scopes: list[str],
    env: dict[str, str],
    reports: dict[str, dict[str, object]] | None = None,
) -> dict[str, dict[str, object]]:
    """Publish, wait until both sinks caught up, then close ``period`` in every scope
    (``reports``: first keep each scope's open-period report, as JSON)."""
    report = await publish(settings.kafka(), batch, rate=0,
                           adjudication_group="yidi-adjudication", ack_timeout_s=180)  # fmt: skip
    assert report.missing == [], report.as_dict()
    suffix = env["YIDI_GROUP_SUFFIX"]
    for group in ("yidi-ledger", "yidi-clearing"):
        await wait_consumed(settings.kafka(), group + suffix, SETTLEMENT_TOPIC)
    for scope in scopes if reports is not None else ():
        assert reports is not None
        reports[scope] = json.loads(
            _cli(["clearing", "report", "--period", period, "--scope", scope, "--format", "json"],
                 env)
        )  # fmt: skip
        assert reports[scope]["status"] == "OPEN" and reports[scope]["statement_id"] is None
    return {
        s: json.loads(_cli(["clearing", "close", "--period", period, "--scope", s, "--json"], env))
        for s in scopes
    }


async def test_two_months_close_exactly(workers: Workers, tmp_path: Path) -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    run = uuid.uuid4().hex[:8]
    suffix = f"-t{run}"
    month1 = plan_messages(REFERENCE, runtime.codec, VISITS, seed=31, run_id=f"clr1-{run}",
                           day=dt.date(2026, 8, 14))  # fmt: skip
    month2 = plan_messages(REFERENCE, runtime.codec, VISITS, seed=32, run_id=f"clr2-{run}",
                           day=dt.date(2026, 9, 10))  # fmt: skip
    main1, held1 = [b for b in month1 if not _held(b)], [b for b in month1 if _held(b)]
    held_keys = {b.record[0] for b in held1 if b.record[0] is not None}
    assert held1 and main1
    events = tmp_path / "events.jsonl"
    write_jsonl([*main1, *held1, *month2], events)
    offline = offline_settlements(events)
    expected = _expected(offline, held_keys)
    local = _local_settlements(offline)
    national1 = expected[(M1, "national")]
    assert len(national1) >= 6, f"too few province pairs for a meaningful test: {national1}"

    async with fresh_database(settings) as db_url:
        env = {"YIDI_DATABASE_URL": db_url, "YIDI_GROUP_SUFFIX": suffix}
        for group in ("yidi-ledger", "yidi-clearing"):
            await seed_sink_positions_at_end(
                settings.kafka(), db_url, group + suffix, SETTLEMENT_TOPIC
            )
        clearing_start = await seed_sink_positions_at_end(
            settings.kafka(), db_url, "probe" + suffix, CLEARING_TOPIC
        )
        # Prepayments sized from the offline month-1 totals: pair A ends at 80 % usage (one
        # yellow warning), pair B at 100 % (yellow, then red, and an emergency top-up).
        (a, fund_a), (b, fund_b) = sorted(national1.items(), key=lambda kv: -kv[1][0])[:2]
        _cli(["clearing", "prepayment", "--year", "2026", "--payer", a[0], "--payee", a[1],
              "--amount", str((fund_a[0] / Decimal("0.8")).quantize(Decimal("0.01")))], env)  # fmt: skip
        _cli(["clearing", "prepayment", "--year", "2026", "--payer", b[0], "--payee", b[1],
              "--amount", str(fund_b[0])], env)  # fmt: skip

        workers.start("all", "all", env)
        provinces = {s for (p, s) in expected if s != "national"}
        assert {"province:310000", "province:330000"} <= provinces, provinces
        scopes = ["national", *sorted(provinces | {"province:650000"})]
        closed1 = await _publish_and_close(settings, main1, M1, scopes, env)
        assert all(c["newly_closed"] for c in closed1.values())
        open2: dict[str, dict[str, object]] = {}
        closed2 = await _publish_and_close(settings, [*held1, *month2], M2, scopes, env, open2)

        await _check_statements(db_url, expected, {M1: closed1, M2: closed2}, scopes, local)
        _open_report_was_the_statement(open2, closed2, scopes, env)

        # Closing again is a no-op that names the same statement.
        again = json.loads(_cli(["clearing", "close", "--period", M1, "--json"], env))
        assert again["statement_id"] == closed1["national"]["statement_id"]
        assert again["newly_closed"] is False
        report_json = json.loads(
            _cli(["clearing", "report", "--period", M2, "--format", "json"], env)
        )
        assert report_json["nets_sum"] in ("0", "0.00")
        assert report_json["late_cnt"] > 0

        statement_id = closed1["national"]["statement_id"]
        await _confirm_and_settle(db_url, statement_id, env)

        await asyncio.sleep(2.5)  # the worker publishes the outbox every second
        published = await _clearing_messages(settings.kafka(), clearing_start)
        warnings = Counter(
            (w.home, w.treatment, w.level)
            for ce_type, value in published
            if ce_type == PrepaymentWarning.ce_type
            and (w := PrepaymentWarning.model_validate_json(value)).period == M1
        )
        # Once per crossing: a reversal may take usage back under a line and re-arm it, but
        # never one warning per settlement.
        assert warnings[(*a, "yellow")] >= 1 and warnings[(*a, "red")] == 0, warnings
        assert warnings[(*b, "yellow")] >= 1 and warnings[(*b, "red")] >= 1, warnings
        assert warnings[(*a, "yellow")] <= 1 + fund_a[1] // 10, warnings
        _agencies_read_their_statement(_versions_published(published, statement_id), env)
