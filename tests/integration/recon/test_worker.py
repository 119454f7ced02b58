"""Hospital reconciliation end to end: simulated settlements adjudicated and landed in a fresh
ledger, the recon worker on the real broker, a hospital reconciling through the SDK."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import orjson
import pytest

from contracts.codes import AckStatus, ClrType, RefdSetlFlag, StmtRslt
from contracts.recon import (
    ReconDetailRow,
    ReconResult,
    ReconSummary,
    ReconVerdict,
    TotalsReconRequested,
)
from events.admin import apply, delete_topics
from events.catalog import Topic, ack_topic, ack_topic_spec
from events.dlq import DLQ_TOPIC, parse_dlq
from events.stream import clients
from events.stream.clients import to_input
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.reference import load_reference
from services.entry.bootstrap import sender_ids
from services.recon.worker import ReconWorker
from services.runtime.settings import Settings
from services.sdk.client import HospitalClient
from services.sdk.recon import ReconRejected, ReconSlice
from tests.fresh_db import fresh_database
from tests.integration.recon_support import (
    CST,
    REFERENCE,
    Published,
    Slice,
    Tail,
    books_from_ledger,
    land_simulated_ledger,
    totals_of,
)

NORMAL, REFUND = RefdSetlFlag.NORMAL, RefdSetlFlag.REFUND
SDK_E2E_HOSPITALS = {"H31010400001", "H33090200001"}
"""Hospitals whose SDK consumer group the e2e suite uses: not ours to share."""
OCTOBER = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))


async def _busiest_slice(db_url: str) -> Slice:
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow(
            """SELECT fixmedins_code, insutype, clr_type, count(*) AS n,
                      count(*) FILTER (WHERE kind = 'reversal') AS reversals
               FROM settlements WHERE NOT (fixmedins_code = ANY($1::text[]))
               GROUP BY 1, 2, 3
               ORDER BY count(*) FILTER (WHERE kind = 'reversal') > 0 DESC, n DESC LIMIT 1""",
            sorted(SDK_E2E_HOSPITALS),
        )
    finally:
        await conn.close()
    assert row["n"] >= 12, "the simulation should give a slice worth reconciling"
    return Slice(row["fixmedins_code"], row["insutype"], row["clr_type"], *OCTOBER)


class Setup:
    def __init__(self, settings: Settings, db_url: str, unique: str, s: Slice) -> None:
        self.settings, self.db_url, self.slice = settings, db_url, s
        self.recon_topic, self.clearing_topic = f"it.recon.{unique}", f"it.clearing.{unique}"
        self.codec = Codec(demo_registry(sender_ids(load_reference(REFERENCE))))
        self.worker = ReconWorker(
            settings.kafka(), db_url, self.codec, topic=self.recon_topic,
            clearing_topic=self.clearing_topic, group_id=f"it-recon-{unique}",
        )  # fmt: skip
        self.hospital = HospitalClient(settings.kafka(), s.fixmedins_code, self.codec)
        self.seq = 0
        self.when = dt.datetime.now(CST).replace(microsecond=0)

    def msgid(self) -> str:
        self.seq += 1
        return f"{self.slice.fixmedins_code}{self.when:%Y%m%d%H%M%S}{self.seq:04d}"

    def totals_request(
        self, rows: list[ReconDetailRow], flag: RefdSetlFlag
    ) -> TotalsReconRequested:
        s = self.slice
        return TotalsReconRequested(
            msgid=self.msgid(), infno="3201", fixmedins_code=s.fixmedins_code,
            mdtrtarea_admvs=self.mdtrtarea, inf_time=self.when, setl_optins="310000",
            insutype=s.insutype, clr_type=s.clr_type, stmt_begndate=s.begin, stmt_enddate=s.end,
            refd_setl_flag=flag, totals=totals_of(rows, flag),
        )  # fmt: skip

    @property
    def mdtrtarea(self) -> str:
        return load_reference(REFERENCE).institutions[self.slice.fixmedins_code].admdvs

    def scope(self) -> ReconSlice:
        s = self.slice
        return ReconSlice(self.mdtrtarea, "310000", s.insutype, s.clr_type, s.begin, s.end)  # type: ignore[arg-type]


@pytest.fixture
async def setup(settings: Settings, unique: str) -> AsyncIterator[Setup]:
    async with fresh_database(settings) as db_url:
        codec = Codec(demo_registry(sender_ids(load_reference(REFERENCE))))
        landed = await land_simulated_ledger(db_url, codec, f"recon-{unique}", visits=600)
        assert landed > 300
        s = await _busiest_slice(db_url)
        it = Setup(settings, db_url, unique, s)
        await apply(
            settings.kafka(),
            (Topic(it.recon_topic, "{fixmedins_code}", "test", 3),
             Topic(it.clearing_topic, "{participant}", "test", 3), ack_topic_spec(s.fixmedins_code)),
            "test",
        )  # fmt: skip
        await it.worker.start()
        await it.hospital.start()
        stop = asyncio.Event()
        runner = asyncio.create_task(it.worker.run(stop))
        try:
            yield it
        finally:
            stop.set()
            await runner
            await it.hospital.stop()
            await it.worker.stop()
            await delete_topics(settings.kafka(), [it.recon_topic, it.clearing_topic])


def _summaries(records: list[Published]) -> list[ReconSummary]:
    return [
        ReconSummary.model_validate_json(r.value)
        for r in records
        if r.ce_type == ReconSummary.ce_type
    ]


async def test_matching_books_balance_and_books_that_differ_get_exactly_their_rows(
    setup: Setup,
) -> None:
    it = setup
    books = await books_from_ledger(it.db_url, it.slice)
    assert any(r.refd_setl_flag == REFUND for r in books), "a reversal in the slice"
    clearing = Tail(it.settings.kafka(), [it.clearing_topic])
    await clearing.mark()
    try:
        # Matching books: both totals slices and the details balance.
        for flag in (NORMAL, REFUND):
            answer = await it.hospital.reconcile_totals(
                it.totals_request(books, flag), timeout_s=30, topic=it.recon_topic
            )
            assert answer.stmt_rslt == StmtRslt.BALANCED, answer.stmt_rslt_dscr
            no_deductions = {"deduction_sumamt": Decimal("0.00")}  # the ledger states them
            assert answer.ledger_totals == totals_of(books, flag).model_copy(update=no_deductions)
            assert answer.stmt_rslt_dscr.startswith("balanced: ")
        details = await it.hospital.reconcile_details(
            it.scope(), books, inf_time=it.when, first_seq=100, timeout_s=30, topic=it.recon_topic
        )
        assert details.stmt_rslt == StmtRslt.BALANCED, details.stmt_rslt_dscr
        assert list(details.rows()) == []
        assert details.diff_cnts is not None
        assert details.diff_cnts.hosp_row_cnt == details.diff_cnts.ledger_row_cnt == len(books)

        # Books missing 3 of our settlements, adding 1 we never saw, differing on 2 amounts.
        normal = [r for r in books if r.refd_setl_flag == NORMAL]
        gone, (fund_off, fee_off) = normal[:3], normal[3:5]
        unknown = normal[5].model_copy(
            update={"setl_id": f"SX{uuid.uuid4().hex[:20].upper()}", "mdtrt_id": "MX1"}
        )
        cent = Decimal("0.01")
        wrong = {
            fund_off.setl_id: fund_off.model_copy(
                update={"fund_pay_sumamt": fund_off.fund_pay_sumamt + cent}
            ),
            fee_off.setl_id: fee_off.model_copy(
                update={"medfee_sumamt": fee_off.medfee_sumamt + 1}
            ),
        }
        mine = [wrong.get(r.setl_id, r) for r in books if r not in gone] + [unknown]
        totals = await it.hospital.reconcile_totals(
            it.totals_request(mine, NORMAL), timeout_s=30, topic=it.recon_topic
        )
        assert totals.stmt_rslt == StmtRslt.UNBALANCED
        ours = totals_of(books, NORMAL)
        assert totals.stmt_rslt_dscr.startswith(
            f"unbalanced (yours/ledger): fixmedins_setl_cnt {ours.fixmedins_setl_cnt - 2}/"
            f"{ours.fixmedins_setl_cnt}; medfee_sumamt "
        )
        answer = await it.hospital.reconcile_details(
            it.scope(), mine, inf_time=it.when, first_seq=200, rows_per_part=5,
            timeout_s=30, topic=it.recon_topic,
        )  # fmt: skip
        assert len(answer.parts) == 1 and answer.parts[0].batch_id is not None, "5 rows a part"
        assert answer.stmt_rslt == StmtRslt.UNBALANCED
        rows = {r.setl_id: r for r in answer.rows()}
        assert {k: r.verdict for k, r in rows.items()} == {
            **{g.setl_id: ReconVerdict.MISSING_IN_HOSPITAL for g in gone},
            unknown.setl_id: ReconVerdict.MISSING_IN_LEDGER,
            fund_off.setl_id: ReconVerdict.AMOUNT_MISMATCH,
            fee_off.setl_id: ReconVerdict.AMOUNT_MISMATCH,
        }
        for g in gone:
            assert rows[g.setl_id].memo.startswith("not in your rows: settled 2026-10-12, ")
            assert f"medfee_sumamt {g.medfee_sumamt:.2f}" in rows[g.setl_id].memo
            assert rows[g.setl_id].mdtrt_id == g.mdtrt_id and rows[g.setl_id].medins_setl_id
        assert rows[unknown.setl_id].memo == "not in the ledger"
        f, m = fund_off.fund_pay_sumamt, fee_off.medfee_sumamt
        assert rows[fund_off.setl_id].memo == (
            f"amounts differ (yours/ledger): fund_pay_sumamt {f + cent:.2f}/{f:.2f}"
        )
        assert rows[fee_off.setl_id].memo == (
            f"amounts differ (yours/ledger): medfee_sumamt {m + 1:.2f}/{m:.2f}"
        )
        assert answer.stmt_rslt_dscr.startswith(
            "unbalanced: 6 rows differ (missing_in_ledger 1, missing_in_hospital 3, "
            "amount_mismatch 2)"
        )

        # The clearing center heard of each reconciliation once, without any rows.
        seen = await clearing.until(lambda rs: len(_summaries(rs)) >= 5, timeout_s=15)
        summaries = _summaries(seen)
        assert [(s.request_infno, s.stmt_rslt) for s in summaries] == [
            ("3201", StmtRslt.BALANCED), ("3201", StmtRslt.BALANCED), ("3202", StmtRslt.BALANCED),
            ("3201", StmtRslt.UNBALANCED), ("3202", StmtRslt.UNBALANCED),
        ]  # fmt: skip
        assert {s.participant for s in summaries} == {it.mdtrtarea}
        assert summaries[-1].diff_cnts == answer.diff_cnts
        assert all(r.headers["ce_source"] == b"urn:yidi:sender:yidi-recon" for r in seen)
    finally:
        await clearing.stop()


async def test_answered_once_answered_identically_and_conflicts_refused(setup: Setup) -> None:
    it = setup
    books = await books_from_ledger(it.db_url, it.slice)
    code = it.slice.fixmedins_code
    acks = Tail(it.settings.kafka(), [ack_topic(code), it.clearing_topic])
    await acks.mark()
    requests = Tail(it.settings.kafka(), [it.recon_topic])
    await requests.mark()
    try:
        request = it.totals_request(books, NORMAL)
        first = await it.hospital.reconcile_totals(request, topic=it.recon_topic)

        # The same message sent again: a duplicate ack and the very same answer.
        again = await it.hospital.send(request, timeout_s=30, topic=it.recon_topic)
        assert again.status == AckStatus.DUPLICATE
        kinds = ("cn.yidi.ack.result.v1", ReconResult.ce_type, ReconSummary.ce_type)
        seen = await acks.until(lambda rs: [r.ce_type for r in rs].count(kinds[0]) >= 2
                                and [r.ce_type for r in rs].count(kinds[1]) >= 2
                                and [r.ce_type for r in rs].count(kinds[2]) >= 1)  # fmt: skip
        results = [r for r in seen if r.ce_type == ReconResult.ce_type]
        assert len(results) == 2 and results[0].value == results[1].value
        assert results[0].ce_id == results[1].ce_id
        assert ReconResult.model_validate_json(results[0].value) == first

        # The same record delivered again (a crash before the commit): the same outputs.
        (delivered,) = [
            r for r in await requests.until(lambda rs: len(rs) >= 2) if r.ce_id != again.ack_for
        ]
        before = len(acks.records)
        consumed = await _record_at(it, delivered)
        await it.worker.handle(consumed)
        redone = (await acks.until(lambda rs: len(rs) >= before + 3))[before:]
        originals = {r.ce_id: r.value for r in acks.records[:before]}
        assert sorted(r.ce_type for r in redone) == sorted(kinds)
        for r in redone:
            assert originals.get(r.ce_id) == r.value, f"{r.ce_type} differs on re-delivery"
        assert len(_summaries(acks.records)) == 2, "the summary once, and once more for the replay"

    finally:
        await acks.stop()
        await requests.stop()


async def test_conflicting_requests_are_refused_and_change_nothing(setup: Setup) -> None:
    it = setup
    books = await books_from_ledger(it.db_url, it.slice)
    request = it.totals_request(books, NORMAL)
    assert (await it.hospital.reconcile_totals(request, topic=it.recon_topic)).stmt_rslt == "0"
    # The msgid reused for another body: refused, the first answer stands.
    changed = request.model_copy(update={"setl_optins": "310100"})
    with pytest.raises(ReconRejected) as refused:
        await it.hospital.reconcile_totals(changed, timeout_s=30, topic=it.recon_topic)
    assert refused.value.ack.error is not None
    assert refused.value.ack.error.code == "E_RECON_MSGID_REUSED"

    # A part of a batch that disagrees with its first part is refused; the batch is not
    # answered until its missing part comes.
    parts = list(_parts(it, books[:6], batch="B-" + uuid.uuid4().hex[:8]))
    assert len(parts) == 3
    ack1 = await it.hospital.send(parts[0], timeout_s=30, topic=it.recon_topic)
    odd = parts[1].model_copy(
        update={"clr_type": ClrType.OTHER if it.slice.clr_type != "99" else ClrType.OUTPATIENT}
    )
    ack2 = await it.hospital.send(odd, timeout_s=30, topic=it.recon_topic)
    assert (ack1.status, ack2.status) == (AckStatus.ACCEPTED, AckStatus.REJECTED)
    assert ack2.error is not None and ack2.error.code == "E_RECON_BATCH_MISMATCH"
    dup_row = parts[2].model_copy(update={"rows": (parts[0].rows[0], *parts[2].rows[1:])})
    ack3 = await it.hospital.send(dup_row, timeout_s=30, topic=it.recon_topic)
    assert ack3.error is not None and ack3.error.code == "E_RECON_ROW_TWICE"
    assert parts[0].rows[0].setl_id in ack3.error.message
    waiting = it.hospital.answers.expect(f"b:{parts[0].batch_id}")
    for part in parts[1:]:
        assert (await it.hospital.send(part, topic=it.recon_topic)).status == AckStatus.ACCEPTED
    answer = await asyncio.wait_for(waiting, 30)
    assert answer.stmt_rslt == StmtRslt.UNBALANCED, "6 rows of the books: the rest missing"
    assert answer.diff_cnts is not None and answer.diff_cnts.hosp_row_cnt == 6
    counts = answer.diff_cnts
    assert counts.missing_in_hospital + counts.refund_mismatch == len(books) - 6
    assert counts.diff_cnt == len(books) - 6


async def test_bad_input_goes_to_the_dlq_with_an_error_ack_for_an_authentic_sender(
    setup: Setup,
) -> None:
    it = setup
    dlq = Tail(it.settings.kafka(), [DLQ_TOPIC])
    await dlq.mark()
    try:
        books = await books_from_ledger(it.db_url, it.slice)
        other = next(
            c
            for c in sorted(load_reference(REFERENCE).institutions)
            if c != it.slice.fixmedins_code
        )
        forged = it.totals_request(books, NORMAL).model_copy(update={"fixmedins_code": other})
        ack = await it.hospital.send(forged, timeout_s=30, topic=it.recon_topic)
        assert ack.status == AckStatus.REJECTED and ack.error is not None
        assert ack.error.code == "E_IDENTITY"
        producer_value = orjson.dumps({"msgid": "garbage"})
        await it.hospital._producer.send_and_wait(  # type: ignore[union-attr]
            it.recon_topic, producer_value, key=b"x",
            headers=[("ce_specversion", b"1.0"), ("ce_id", b"it-garbage-" + uuid.uuid4().hex.encode()),
                     ("ce_type", TotalsReconRequested.ce_type.encode()),
                     ("ce_source", b"urn:yidi:sender:" + it.slice.fixmedins_code.encode()),
                     ("ce_time", it.when.isoformat().encode())],
        )  # fmt: skip
        records = await dlq.until(
            lambda rs: sum(parse_dlq(r.value).source.topic == it.recon_topic for r in rs) >= 2
        )
        reasons = {
            parse_dlq(r.value).reason.code: parse_dlq(r.value).authentic
            for r in records
            if parse_dlq(r.value).source.topic == it.recon_topic
        }
        assert reasons == {"E_IDENTITY": True, "E_AUTH": False}
    finally:
        await dlq.stop()


def _parts(it: Setup, rows: list[ReconDetailRow], batch: str) -> list:  # type: ignore[type-arg]
    from services.sdk.recon import detail_parts

    return list(
        detail_parts(
            it.slice.fixmedins_code, it.scope(), rows, inf_time=it.when, first_seq=300,
            batch_id=batch, rows_per_part=2,
        )
    )  # fmt: skip


async def _record_at(it: Setup, published: Published):  # type: ignore[no-untyped-def]
    """The request as the worker's consumer would fetch it again (same topic, partition, offset)."""
    from aiokafka import TopicPartition

    consumer = clients.consumer(it.settings.kafka(), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(it.recon_topic, p) for p in range(3)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:
            batch = await consumer.getmany(timeout_ms=1000)
            assert batch, "the request is on the topic"
            for records in batch.values():
                for rec in records:
                    if dict(rec.headers)["ce_id"].decode() == published.ce_id:
                        return to_input(rec)
    finally:
        await consumer.stop()
