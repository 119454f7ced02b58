"""Agency-signed confirmations on the real broker and PostgreSQL (issue 17 acceptance):
the clearing command consumer, connected as its own database role, reads four
confirmations of a closed statement from ``yidi.clearing.v1``: one signed with a key the
agency does not own, one altered after signing, one made with the hub's own HMAC material,
and a valid one. The first three each leave exactly one DLQ record with their code and
nothing in ``clearing_confirmations``; the valid one is acknowledged and recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import orjson
import pytest
from aiokafka import TopicPartition

from contracts.ack import Ack
from contracts.clearing import ClearingConfirmed
from contracts.codes import AckStatus
from events import catalog
from events.dlq import DLQ_TOPIC, DlqRecord, parse_dlq
from events.stream import clients
from events.stream.clients import KafkaConnection, idempotent_producer
from events.wire.agency_signing import SigningKey, SigningKeys
from events.wire.codec import Codec
from events.wire.demo_keys import DEMO_NOT_BEFORE, demo_key, demo_signing_key
from events.wire.envelope import Envelope, build_headers, parse_headers
from events.wire.signing import compute_mac
from services.clearing.adapters.postgres import PgClearingUnitOfWork, PgPoolClearingUnitOfWork
from services.clearing.commands import GROUP, CommandConsumer, CommandHandler
from services.clearing.service_layer.periods import close_period
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.bench.clearing_close import PERIOD, load
from tests.fresh_db import fresh_database

TOPIC = catalog.CLEARING
STATEMENT = f"STMT-{PERIOD}-N"
WHEN = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
async def closed_db(settings: Settings) -> AsyncIterator[str]:
    """A database with the national statement of ``PERIOD`` issued (CLOSED)."""
    async with fresh_database(settings) as url:
        conn = await asyncpg.connect(url)
        try:
            await load(conn, 300)
            await close_period(PgClearingUnitOfWork(conn), Codec(), PERIOD, "national")
        finally:
            await conn.close()
        yield url


async def _ends(bootstrap: KafkaConnection, topics: list[str]) -> dict[TopicPartition, int]:
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        if not tps:
            await consumer._client.force_metadata_update()  # first use of these topics
            tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def _commit_at_end(bootstrap: KafkaConnection, group: str) -> None:
    """The new group starts at the topic's end: it reads only this test's records."""
    ends = await _ends(bootstrap, [TOPIC])
    consumer = clients.consumer(bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(ends))
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


async def _read_since(
    bootstrap: KafkaConnection, start: dict[TopicPartition, int], want: int, timeout_s: float = 60
) -> list[tuple[str, bytes]]:
    consumer = clients.consumer(bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[tuple[str, bytes]] = []
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout_s
        while len(out) < want and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                out += [(tp.topic, r.value) for r in records if r.value is not None]
        return out
    finally:
        await consumer.stop()


def _encode(codec: Codec, message: ClearingConfirmed, ce_id: str) -> tuple[bytes, bytes, list]:  # type: ignore[type-arg]
    key, value, headers = codec.encode(message, ce_id=ce_id, sender="AG330000", ce_time=WHEN)
    assert key is not None
    return key, value, headers


def _four_confirmations(
    codec: Codec, message: ClearingConfirmed, tag: str
) -> dict[str, tuple[bytes, bytes, list]]:  # type: ignore[type-arg]
    """Signed with AG310000's key claiming AG330000; altered after signing; a MAC made with
    the hub's HMAC key of AG330000; valid."""
    other = demo_signing_key("AG310000")
    foreign = Codec(signing_keys=SigningKeys([SigningKey(other.kid, "AG330000", other.seed,
                                                         DEMO_NOT_BEFORE)]))  # fmt: skip
    records = {"foreign": _encode(foreign, message, f"c-foreign-{tag}")}
    key, value, headers = _encode(codec, message, f"c-altered-{tag}")
    body = orjson.loads(value)
    body["memo"] = "altered"
    records["altered"] = (key, orjson.dumps(body, option=orjson.OPT_SORT_KEYS), headers)
    key, value, headers = _encode(codec, message, f"c-hmac-{tag}")
    env = parse_headers(headers)
    mac = demo_key("AG330000")
    hmac_env = Envelope(*env[:5], kid=mac.kid, mac=compute_mac(mac.secret, env, value))
    records["hmac"] = (key, value, build_headers(hmac_env))
    records["valid"] = _encode(codec, message, f"c-valid-{tag}")
    return records


async def test_forged_and_altered_confirmations_are_dead_lettered_a_valid_one_confirms(
    settings: Settings, closed_db: str
) -> None:
    bootstrap = settings.kafka()
    clearing_url = Settings(database_url=closed_db).service_database_url("clearing")  # type: ignore[arg-type]
    async with asyncpg.create_pool(clearing_url, min_size=1, max_size=2) as pool:
        assert await pool.fetchval("SELECT current_user") == "yidi_clearing"
        net = await pool.fetchval(
            "SELECT net FROM clearing_statement_nets WHERE statement_id = $1 "
            "AND participant = '330000'",
            STATEMENT,
        )
        assert net is not None and net != 0
        runtime = build_runtime(settings)
        tag = uuid.uuid4().hex[:8]
        message = ClearingConfirmed(participant="330000", period=PERIOD, scope="national",
                                    statement_id=STATEMENT, net=Decimal(net), confirmed_at=WHEN)  # fmt: skip
        records = _four_confirmations(runtime.codec, message, tag)

        group = f"{GROUP}-t{tag}"
        await _commit_at_end(bootstrap, group)
        dlq_start = await _ends(bootstrap, [DLQ_TOPIC, catalog.ack_topic("AG330000")])
        producer = idempotent_producer(bootstrap, client_id=f"test-signoffs-{tag}")
        await producer.start()
        handler = CommandHandler(runtime.codec, PgPoolClearingUnitOfWork(pool), ledger_wait_s=0)

        async def no_outbox() -> None:
            return None

        consumer = CommandConsumer(bootstrap, handler, producer, no_outbox, group_id=group)
        await consumer.start()
        stop = asyncio.Event()
        running = asyncio.create_task(consumer.run(stop))
        try:
            offsets = {}
            for name, (key, value, headers) in records.items():
                meta = await producer.send_and_wait(TOPIC, value, key=key, headers=headers)
                offsets[(meta.partition, meta.offset)] = name
            out = await _read_since(bootstrap, dlq_start, want=4)
        finally:
            stop.set()
            await running
            await consumer.stop()
            await producer.stop()

        dead: dict[str, DlqRecord] = {}
        acks: list[Ack] = []
        for topic, raw in out:
            if topic == DLQ_TOPIC:
                d = parse_dlq(raw)
                name = offsets.get((d.source.partition, d.source.offset))
                if d.source.topic == TOPIC and name is not None:
                    assert name not in dead, f"{name}: one DLQ record, not two"
                    dead[name] = d
            else:
                acks.append(Ack.model_validate_json(raw))
        assert {n: (d.reason.code, d.stage, d.authentic) for n, d in dead.items()} == {
            "foreign": ("E_AUTH_FOREIGN", "clearing", False),
            "altered": ("E_AUTH_SIGNATURE", "clearing", False),
            "hmac": ("E_AUTH_SIGNATURE_REQUIRED", "clearing", False),
        }
        mine = [a for a in acks if a.ack_for.startswith("c-") and tag in a.ack_for]
        assert [(a.ack_for, a.status) for a in mine] == [(f"c-valid-{tag}", AckStatus.ACCEPTED)]
        rows = await pool.fetch(
            "SELECT participant, net, ce_id FROM clearing_confirmations WHERE statement_id = $1",
            STATEMENT,
        )
        assert [(r["participant"], r["net"], r["ce_id"]) for r in rows] == [
            ("330000", net, f"c-valid-{tag}")
        ]
