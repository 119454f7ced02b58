"""DLQ redrive against the real broker and a fresh database: the original bytes go back to the
source partition once, the journal records it, a second redrive is refused (or, forced, sent as
attempt 2), and a crash on either side of the send leaves a journal that converges to the truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
import pytest
from aiokafka import TopicPartition

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.dlq import dlq_output
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.stream.types import InputRecord
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.reference import load_reference
from services.entry.bootstrap import sender_ids
from services.ops import journal
from services.ops.core.dlq import DlqEntry, DlqFilter, DlqPosition
from services.ops.core.errors import NotFound
from services.ops.core.redrive import REDRIVE_HEADER
from services.ops.kafka import read_dlq, read_one
from services.ops.redrive import redriver
from services.runtime.settings import Settings
from services.tools.simulator.run import plan_messages
from tests.fresh_db import fresh_database

REFERENCE = Path(__file__).resolve().parents[3] / "deploy" / "reference"
SOURCE_PARTITION = 2

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def signed_visits(run_id: str) -> list[Record]:
    codec = Codec(demo_registry(sender_ids(load_reference(REFERENCE))))
    built = plan_messages(REFERENCE, codec, 3, seed=9, run_id=run_id)
    return [b.record for b in built if b.topic == "yidi.visit.v1" and b.bad is None]


async def dead_letter(
    bootstrap: KafkaConnection, dlq: str, src: str, rejected: list[tuple[int, Record]]
) -> None:
    """What a processor writes for inputs it rejected at (source offset, record)."""
    producer = clients.producer(bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for offset, (key, value, headers) in rejected:
            rec = InputRecord(src, SOURCE_PARTITION, offset, key, value, headers, 1_700_000_000_000)
            out = dlq_output(rec, stage="adjudication", code="E_UNKNOWN_INSTITUTION",
                             message="H00000000000", authentic=True)  # fmt: skip
            await producer.send_and_wait(dlq, out.value, key=out.key, headers=out.headers)
    finally:
        await producer.stop()


async def source_records(bootstrap: KafkaConnection, src: str) -> list[tuple[int, Record]]:
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(src, SOURCE_PARTITION)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, 0)
        got: list[tuple[int, Record]] = []
        while len(got) < end:
            for recs in (await consumer.getmany(tp, timeout_ms=1000)).values():
                got += [(r.offset, (r.key, r.value, list(r.headers))) for r in recs]
        return got
    finally:
        await consumer.stop()


async def test_redrive_once_refuse_again_force_and_crash_recovery(
    settings: Settings, unique: str
) -> None:
    bootstrap = settings.kafka()
    src, dlq = f"it-redrive-src-{unique}", f"it-redrive-dlq-{unique}"
    await apply(bootstrap, (Topic(src, "k", "test", 3), Topic(dlq, "k", "test", 2)), "local")
    visits = signed_visits(f"it-{unique}")
    try:
        # Rejected at source offsets 30, 10, 20 (DLQ order is not source order); 10 was
        # dead-lettered twice (a processor replay writes the same DLQ record again).
        await dead_letter(bootstrap, dlq, src, [(30, visits[2]), (10, visits[0]),
                                                (20, visits[1]), (10, visits[0])])  # fmt: skip
        async with fresh_database(settings) as url:
            conn = await asyncpg.connect(url)
            try:
                entries = (await read_dlq(bootstrap, DlqFilter(), topic=dlq)).entries
                assert len(entries) == 4
                async with redriver(bootstrap, conn, "it") as r:
                    await _once_then_refused_then_forced(r, conn, entries, bootstrap, src, visits)
                    await _crash_between_send_and_journal(r, conn, bootstrap, dlq, src, visits)
                with pytest.raises(NotFound):
                    await read_one(bootstrap, DlqPosition(0, 10_000), topic=dlq)
                one = await read_one(bootstrap, entries[0].position, topic=dlq)
                assert one.record == entries[0].record
            finally:
                await conn.close()
    finally:
        await delete_topics(bootstrap, [src, dlq])


async def _once_then_refused_then_forced(
    r: object, conn: asyncpg.Connection, entries: list[DlqEntry], bootstrap: KafkaConnection, src: str,
    visits: list[Record],
) -> None:  # fmt: skip
    from services.ops.redrive import Redriver

    assert isinstance(r, Redriver)
    plan = await r.plan(entries)
    assert len(plan.send) == 3 and len(plan.copies) == 1
    result = await r.execute(plan)
    assert len(result.sent) == 3 and not result.failed and not result.lost_race

    landed = await source_records(bootstrap, src)
    assert [rec for _, rec in landed] == [
        (key, value, [*headers, (REDRIVE_HEADER, o.marker.encode())])
        for (key, value, headers), o in zip(visits[:3], plan.send, strict=True)
    ], "original key, value and headers, in source order, plus the marker"
    rows = await conn.fetch("SELECT status, sent_offset, attempt FROM dlq_redrives ORDER BY 2")
    assert [(x["status"], x["sent_offset"], x["attempt"]) for x in rows] == [
        ("sent", off, 1) for off, _ in landed
    ]

    again = await r.plan(entries)
    assert again.send == [] and len(again.already) == 4, "the copy counts as redriven too"

    forced = await r.plan(entries, force=True)
    assert [(o.attempt, o.forced) for o in forced.send] == [(2, True)] * 3
    assert len((await r.execute(forced)).sent) == 3
    assert len(await source_records(bootstrap, src)) == 6


async def _crash_between_send_and_journal(
    r: object, conn: asyncpg.Connection, bootstrap: KafkaConnection, dlq: str, src: str,
    visits: list[Record],
) -> None:  # fmt: skip
    from services.ops.redrive import Redriver

    assert isinstance(r, Redriver)
    await dead_letter(bootstrap, dlq, src, [(40, visits[0]), (41, visits[1])])
    fresh = [
        e for e in (await read_dlq(bootstrap, DlqFilter(), topic=dlq)).entries
        if e.source.offset in (40, 41)
    ]  # fmt: skip
    plan = await r.plan(fresh)
    sent_then_crashed, claimed_then_crashed = plan.send
    tps = [TopicPartition(src, SOURCE_PARTITION)]
    scan_from = {(src, SOURCE_PARTITION): (await r.consumer.end_offsets(tps))[tps[0]]}
    claimed = await journal.claim(conn, plan.send, scan_from, "it")
    assert claimed == {sent_then_crashed.marker, claimed_then_crashed.marker}
    assert await journal.claim(conn, plan.send, scan_from, "other") == set(), "one claim wins"
    o = sent_then_crashed
    meta = await r.producer.send_and_wait(
        o.topic, o.value, key=o.key, partition=o.partition, headers=o.headers
    )

    in_doubt = await r.plan(fresh)
    assert in_doubt.send == [] and len(in_doubt.in_doubt) == 2
    assert (await r.reconcile(grace=dt.timedelta(minutes=5))).sent == {}, "too young to judge"
    reconciled = await r.reconcile(grace=dt.timedelta(0))
    assert reconciled.sent == {o.marker: meta.offset}
    assert reconciled.not_sent == [claimed_then_crashed.marker]

    after = await r.plan(fresh)
    assert [e.source.offset for e in after.already] == [40]
    assert [(x.entry.source.offset, x.attempt) for x in after.send] == [(41, 2)]
    assert len((await r.execute(after)).sent) == 1
