"""Audit deductions (审核扣款) through the real workers into a fresh database.

Month 1's traffic is adjudicated, landed and cleared; treatment-side agencies deduct from
three settlements with ``yidi audit deduct`` (one refused for its amount, one for being
sent by the home side, one malformed message dead-lettered); month 1 closes with the
deductions in its statement; a deduction issued after the close lands in month 2 marked as
month 1's; month 2 closes. In every statement the pairs' funds equal the ledger, the
deductions equal what was accepted, and the nets (received - paid of the payables) sum to
zero. The hospitals' 3201 reconciliation states the deductions of its slice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import asyncpg
from aiokafka import TopicPartition

from contracts.ack import Ack
from contracts.clearing import AuditDeduction, ClearingStatement, DeductionReason
from contracts.codes import AckStatus, RefdSetlFlag, StmtRslt
from contracts.recon import ReconTotals, TotalsReconRequested
from events.catalog import ack_topic
from events.dlq import parse_dlq
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.wire import agency_signing
from events.wire.codec import Codec
from events.wire.envelope import build_headers, parse_headers
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.sdk.client import HospitalClient
from services.tools.simulator.build import Built
from services.tools.simulator.run import plan_messages, publish, wait_consumed
from tests.e2e.conftest import Workers, yidi_cli
from tests.e2e.test_clearing import _flow
from tests.fresh_db import fresh_database, seed_sink_positions_at_end

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
# `make test` runs 150 visits a month, `make e2e-clearing` 300
VISITS = int(os.environ.get("YIDI_E2E_DEDUCTIONS_VISITS", "150"))
M1, M2 = "2026-06", "2026-07"
CST = dt.timezone(dt.timedelta(hours=8))
SETTLEMENT_TOPIC, CLEARING_TOPIC, DLQ_TOPIC = (
    "yidi.settlement.v1",
    "yidi.clearing.v1",
    "yidi.dlq.v1",
)


async def _groups_at_end(bootstrap: KafkaConnection, groups: dict[str, str]) -> None:
    """Commit ``group`` at the end of ``topic``: a new group of this test reads only what this
    test sends (the shared topics hold other runs' commands and requests)."""
    for group, topic in groups.items():
        consumer = clients.consumer(bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            if not parts:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            await consumer.commit({tp: ends[tp] for tp in tps})
        finally:
            await consumer.stop()


async def _ends(bootstrap: KafkaConnection, topic: str) -> dict[int, int]:
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return {tp.partition: off for tp, off in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def _read(
    bootstrap: KafkaConnection, topic: str, start: dict[int, int]
) -> list[tuple[dict[str, bytes], bytes]]:
    """(headers, value) of everything on ``topic`` after ``start``."""
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in start]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start[tp.partition])
        ends = await consumer.end_offsets(tps)
        out: list[tuple[dict[str, bytes], bytes]] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out.extend((dict(r.headers), r.value) for r in records)
        return out
    finally:
        await consumer.stop()


async def _acks(
    bootstrap: KafkaConnection, agency: str, start: dict[int, int], want: int
) -> list[Ack]:
    """The first ``want`` acks on the agency's ack topic after ``start`` (waits up to 60 s)."""
    topic = ack_topic(f"AG{agency}")
    for _ in range(120):
        acks = [Ack.model_validate_json(v) for h, v in await _read(bootstrap, topic, start)
                if h.get("ce_type") == Ack.ce_type.encode()]  # fmt: skip
        if len(acks) >= want:
            return acks
        await asyncio.sleep(0.5)
    raise AssertionError(f"{len(acks)} of {want} acks on {topic}")


async def _wait_rows(db_url: str, n: int) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db_url)
    try:
        for _ in range(120):
            rows: list[asyncpg.Record] = await conn.fetch(
                "SELECT * FROM clearing_deductions ORDER BY applied_at"
            )
            if len(rows) >= n:
                return rows
            await asyncio.sleep(0.5)
        raise AssertionError(f"{len(rows)} of {n} deductions applied")
    finally:
        await conn.close()


def _deduct(env: dict[str, str], agency: str, setl_id: str, amount: Decimal, did: str) -> None:
    yidi_cli(["audit", "deduct", "--agency", agency, "--setl-id", setl_id, "--amount",
              str(amount), "--reason", "duplicate_billing", "--id", did], env)  # fmt: skip


async def _statement(db_url: str, period: str) -> tuple[ClearingStatement, bytes]:
    conn = await asyncpg.connect(db_url)
    try:
        payload = await conn.fetchval(
            "SELECT payload FROM clearing_statements WHERE period = $1 AND scope = 'national'",
            period,
        )
    finally:
        await conn.close()
    return ClearingStatement.model_validate_json(payload), bytes(payload)  # nets checked here


async def _ledger_pairs(db_url: str, period: str) -> dict[tuple[str, str], Decimal]:
    """The month's national pairs from the ledger's own rows, each netted (computed here)."""
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            """SELECT s.insuplc_admdvs, s.mdtrtarea_admvs, s.fund_pay_sumamt FROM settlements s
               JOIN clearing_entries e USING (setl_id) WHERE e.period = $1""",
            period,
        )
    finally:
        await conn.close()
    signed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        flow = _flow(r["insuplc_admdvs"], r["mdtrtarea_admvs"])
        if flow is not None and flow[0] == "national":
            signed[(flow[1], flow[2])] += r["fund_pay_sumamt"]
    return dict(signed)


def _check(statement: ClearingStatement, ledger: dict[tuple[str, str], Decimal],
           deducted: dict[tuple[str, str], Decimal]) -> None:  # fmt: skip
    """Pairs, deductions and nets as computed here: each flow's payable is its fund less its
    deductions; a negative payable pays the other way."""
    payable: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (a, b), fund in ledger.items():
        payable[(a, b)] += fund - deducted.get((a, b), Decimal(0))
    nets: dict[str, Decimal] = defaultdict(Decimal)
    for (a, b), v in payable.items():
        nets[a] -= v
        nets[b] += v
    got_nets = {n.participant: n.net for n in statement.nets}
    assert got_nets == {k: v for k, v in nets.items() if v}
    assert sum(got_nets.values()) == 0
    got = {(p.payer, p.payee): p.deduction for p in statement.pairs if p.deduction}
    assert got == {k: v for k, v in deducted.items() if v}
    for p in statement.pairs:
        if p.deduction:
            assert p.fund_pay_sumamt == ledger[(p.payer, p.payee)]


async def test_deductions_through_clearing_and_reconciliation(workers: Workers) -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    run = uuid.uuid4().hex[:8]
    suffix = f"-t{run}"
    month1 = plan_messages(REFERENCE, runtime.codec, VISITS, seed=41, run_id=f"ded1-{run}",
                           day=dt.date(2026, 6, 12))  # fmt: skip
    month2 = plan_messages(REFERENCE, runtime.codec, VISITS, seed=42, run_id=f"ded2-{run}",
                           day=dt.date(2026, 7, 9))  # fmt: skip
    bootstrap = settings.kafka()
    async with fresh_database(settings) as db_url:
        env = {"YIDI_DATABASE_URL": db_url, "YIDI_GROUP_SUFFIX": suffix}
        for group in ("yidi-ledger", "yidi-clearing"):
            await seed_sink_positions_at_end(bootstrap, db_url, group + suffix, SETTLEMENT_TOPIC)
        await _groups_at_end(bootstrap, {f"yidi-clearing-commands{suffix}": CLEARING_TOPIC,
                                         f"yidi-recon{suffix}": "yidi.recon.v1"})  # fmt: skip
        workers.start("all", "all", env)

        async def publish_month(batch: list[Built]) -> None:
            report = await publish(bootstrap, batch, rate=0,
                                   adjudication_group="yidi-adjudication", ack_timeout_s=180)  # fmt: skip
            assert report.missing == [], report.as_dict()
            for group in ("yidi-ledger", "yidi-clearing"):
                await wait_consumed(bootstrap, group + suffix, SETTLEMENT_TOPIC)

        await publish_month(month1)
        picked = await _pick(db_url)
        assert len(picked) == 3, "month 1 needs three national settlements"
        a, b, c = picked
        third = (a["fund_pay_sumamt"] / 3).quantize(Decimal("0.01"))

        ack_starts = {ag: await _ends(bootstrap, ack_topic(f"AG{ag}"))
                      for ag in {a["payee"], b["treatment"], c["payer"]}}  # fmt: skip
        dlq_start = await _ends(bootstrap, DLQ_TOPIC)
        _deduct(env, a["payee"], a["setl_id"], third, f"D1-{run}")  # the treatment province
        _deduct(
            env, b["treatment"], b["setl_id"], b["fund_pay_sumamt"], f"D2-{run}"
        )  # its district
        _deduct(env, a["payee"], a["setl_id"], a["fund_pay_sumamt"], f"D3-{run}")  # too much now
        _deduct(env, c["payer"], c["setl_id"], Decimal("1.00"), f"D4-{run}")  # the home side
        await _send_malformed(bootstrap, runtime.codec, a["payee"], a["setl_id"], run)

        rows = await _wait_rows(db_url, 2)
        assert {(r["deduction_id"], r["period"], r["late"]) for r in rows} == {
            (f"D1-{run}", M1, False), (f"D2-{run}", M1, False)}  # fmt: skip
        await _check_refusals(bootstrap, run, a, c, ack_starts, dlq_start)

        # The hospital's reconciliation states its slice's deductions.
        accepted = [(a, third), (b, b["fund_pay_sumamt"])]
        await _check_recon(bootstrap, runtime.codec, db_url, a, _in_slice(accepted, a))

        payload1 = await _close_month1(env, db_url, [(a, third), (b, b["fund_pay_sumamt"])])

        # After the close: into month 2, marked as month 1's; month 1's statement unchanged.
        late_amount = (c["fund_pay_sumamt"] / 2).quantize(Decimal("0.01"))
        _deduct(env, c["payee"], c["setl_id"], late_amount, f"D6-{run}")
        rows = await _wait_rows(db_url, 3)
        late = next(r for r in rows if r["deduction_id"] == f"D6-{run}")
        assert (late["period"], late["origin_period"], late["late"]) == (M2, M1, True)
        await publish_month(month2)
        report = json.loads(
            yidi_cli(["clearing", "report", "--period", M2, "--format", "json"], env)
        )
        assert [(d["setl_id"], d["origin_period"], d["late"]) for d in report["deductions"]] == [
            (c["setl_id"], M1, True)]  # fmt: skip
        yidi_cli(["clearing", "close", "--period", M2, "--json"], env)
        s2, _ = await _statement(db_url, M2)
        _check(s2, await _ledger_pairs(db_url, M2), {(c["payer"], c["payee"]): late_amount})
        assert (await _statement(db_url, M1))[1] == payload1, "a closed statement never changes"

        verdict, ledger, _ = await _reconcile_slice(
            bootstrap, runtime.codec, db_url, c, None, 3
        )  # a 1.0 hospital: not compared, still stated
        assert verdict == StmtRslt.BALANCED and ledger is not None
        assert ledger.deduction_sumamt == _in_slice([*accepted, (c, late_amount)], c)


async def _send_malformed(
    bootstrap: KafkaConnection, codec: Codec, agency: str, setl_id: str, run: str
) -> None:
    """A deduction with three places in its amount, signed by the agency: dead-lettered."""
    now = dt.datetime.now(dt.UTC)
    bad = AuditDeduction(participant=agency, deduction_id=f"D5-{run}", setl_id=setl_id,
                         amount=Decimal("1.00"), reason=DeductionReason.OTHER, issued_at=now)  # fmt: skip
    key, value, headers = codec.encode(bad, ce_id=f"bad-{run}", sender=f"AG{agency}", ce_time=now)
    broken = value.replace(b'"amount":"1.00"', b'"amount":"1.001"')
    env = parse_headers(headers)
    # authentically signed by the agency (Ed25519 over the broken body): refused for its amount
    signed = env._replace(
        sig=agency_signing.sign(codec.signing_keys.current(f"AG{agency}", now), env, broken)
    )
    producer = clients.producer(bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(CLEARING_TOPIC, broken, key=key, headers=build_headers(signed))
    finally:
        await producer.stop()


async def _check_refusals(bootstrap: KafkaConnection, run: str, a: asyncpg.Record, c: asyncpg.Record,
                          ack_starts: dict[str, dict[int, int]], dlq_start: dict[int, int]) -> None:  # fmt: skip
    """Each refusal is a rejected ack with its code; the malformed one is one DLQ record."""
    province_acks = await _acks(bootstrap, a["payee"], ack_starts[a["payee"]], 3)
    by_id = {x.ack_for: x for x in province_acks}
    assert by_id[f"deduct-{a['payee']}-D1-{run}"].status == AckStatus.ACCEPTED
    refused = by_id[f"deduct-{a['payee']}-D3-{run}"]
    assert refused.status == AckStatus.REJECTED and refused.error is not None
    assert refused.error.code == "E_DEDUCTION_AMOUNT"
    bad = by_id[f"bad-{run}"].error
    assert bad is not None and bad.code == "E_AMOUNT"
    (home_ack,) = await _acks(bootstrap, c["payer"], ack_starts[c["payer"]], 1)
    assert home_ack.error is not None and home_ack.error.code == "E_DEDUCTION_AGENCY"
    dead = [parse_dlq(v) for h, v in await _read(bootstrap, DLQ_TOPIC, dlq_start)]
    mine = [d for d in dead if d.stage == "clearing" and d.reason.code == "E_AMOUNT"]
    assert len(mine) == 1 and mine[0].reason.field == "amount"


async def _pick(db_url: str) -> list[asyncpg.Record]:
    """Three national settlements of month 1, never reversed, the largest first; the third's
    home province is not the first one's treatment province (each agency's acks are counted
    on its own ack topic: the home-side refusal must be the only ack on the third's)."""
    conn = await asyncpg.connect(db_url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(
            """SELECT e.setl_id, e.payer, e.payee, e.home, e.treatment, e.fund_pay_sumamt,
                      s.fixmedins_code, s.insutype, s.clr_type, s.setl_date
               FROM clearing_entries e JOIN settlements s USING (setl_id)
               WHERE e.scope = 'national' AND e.kind = 'settlement' AND e.period = $1
                 AND e.fund_pay_sumamt >= 3.00
                 AND NOT EXISTS (SELECT 1 FROM clearing_entries r WHERE r.orig_setl_id = e.setl_id)
               ORDER BY e.fund_pay_sumamt DESC, e.setl_id LIMIT 50""",
            M1,
        )
    finally:
        await conn.close()
    if len(rows) < 3:
        return rows
    a, b, *rest = rows
    return [a, b, *[r for r in rest if r["payer"] != a["payee"]][:1]]


async def _check_recon(bootstrap: KafkaConnection, codec: Codec, db_url: str, a: asyncpg.Record,
                       stated: Decimal) -> None:  # fmt: skip
    """Balanced when the hospital states the slice's deductions; unbalanced, naming them, when
    it states none."""
    verdict, ledger, _dscr = await _reconcile_slice(bootstrap, codec, db_url, a, stated, 1)
    assert verdict == StmtRslt.BALANCED and ledger is not None
    assert ledger.deduction_sumamt == stated
    verdict, _ledger, dscr = await _reconcile_slice(bootstrap, codec, db_url, a, Decimal("0.00"), 2)
    assert verdict == StmtRslt.UNBALANCED and f"deduction_sumamt 0.00/{stated}" in dscr


async def _close_month1(
    env: dict[str, str], db_url: str, accepted: list[tuple[asyncpg.Record, Decimal]]
) -> bytes:
    """Close month 1: its statement carries the accepted deductions; its payload."""
    closed = json.loads(yidi_cli(["clearing", "close", "--period", M1, "--json"], env))
    assert closed["newly_closed"] is True
    s1, payload1 = await _statement(db_url, M1)
    deducted: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r, amount in accepted:
        deducted[(r["payer"], r["payee"])] += amount
    _check(s1, await _ledger_pairs(db_url, M1), deducted)
    return payload1


def _in_slice(accepted: list[tuple[asyncpg.Record, Decimal]], setl: asyncpg.Record) -> Decimal:
    """What was deducted from settlements of ``setl``'s 3201 slice (all are month 1's)."""

    def key(r: asyncpg.Record) -> tuple[str, str, str]:
        return r["fixmedins_code"], r["insutype"], r["clr_type"]

    return sum((amount for r, amount in accepted if key(r) == key(setl)), start=Decimal("0.00"))


async def _reconcile_slice(bootstrap: KafkaConnection, codec: Codec, db_url: str, setl: asyncpg.Record,
                           stated: Decimal | None, seq: int) -> tuple[StmtRslt, ReconTotals | None, str]:  # fmt: skip
    """A 3201 by the settlement's hospital for its month, insutype and clr_type, normal
    settlements: the ledger's own totals (read here) and ``stated`` deductions."""
    code = setl["fixmedins_code"]
    begin = setl["setl_date"].replace(day=1)
    end = (begin + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    conn = await asyncpg.connect(db_url)
    try:
        t = await conn.fetchrow(
            """SELECT count(*) AS n, coalesce(sum(medfee_sumamt), 0) AS fee,
                      coalesce(sum(fund_pay_sumamt), 0) AS fund, coalesce(sum(acct_pay), 0) AS acct
               FROM settlements WHERE fixmedins_code = $1 AND insutype = $2 AND clr_type = $3
                 AND setl_date BETWEEN $4 AND $5 AND refd_setl_flag = 0""",
            code, setl["insutype"], setl["clr_type"], begin, end,
        )  # fmt: skip
    finally:
        await conn.close()
    now = dt.datetime.now(CST).replace(microsecond=0)
    request = TotalsReconRequested(
        msgid=f"{code}{now:%Y%m%d%H%M%S}{seq:04d}", infno="3201", fixmedins_code=code,
        mdtrtarea_admvs=setl["treatment"], inf_time=now, setl_optins=setl["payee"],
        insutype=setl["insutype"], clr_type=setl["clr_type"], stmt_begndate=begin,
        stmt_enddate=end, refd_setl_flag=RefdSetlFlag.NORMAL,
        totals=ReconTotals(fixmedins_setl_cnt=t["n"], medfee_sumamt=t["fee"],
                           fund_pay_sumamt=t["fund"], acct_pay=t["acct"], deduction_sumamt=stated),
    )  # fmt: skip
    hospital = HospitalClient(bootstrap, code, codec)
    await hospital.start()
    try:
        answer = await hospital.reconcile_totals(request, timeout_s=60)
    finally:
        await hospital.stop()
    return answer.stmt_rslt, answer.ledger_totals, answer.stmt_rslt_dscr
