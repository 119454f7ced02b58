"""The trusted ledger rebuild (PostgreSQL builds the rows) lands exactly what the validating
one does — also when the feed holds a record the contract refuses: that batch falls back
to the validating path, which skips the record as the live sink dead-lettered it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from contracts.settlement import Reversed, Settled
from events.admin import apply, delete_topics
from events.catalog import Topic
from events.codec import Codec
from services.adjudication.offline import run as offline_run
from services.adjudication.reference import load_reference
from services.bootstrap import build_runtime
from services.ops.ledger_hash import ledger_digest
from services.ops.replay import rebuild
from services.runtime.settings import Settings
from services.simulator.run import plan_messages, write_jsonl
from tests.fresh_db import fresh_database

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
TYPES = {Settled.ce_type: Settled, Reversed.ce_type: Reversed}


def _feed(codec: Codec, events: Path) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    """The settlement feed the offline runner produces for ``events``, encoded as published."""
    out = []
    with events.open("rb") as lines:
        outputs, _runner = offline_run(lines, load_reference())
        for line in outputs:
            doc = orjson.loads(line)
            model = TYPES.get(doc["headers"]["ce_type"])
            if model is None or doc["body"].get("pre_settlement"):
                continue  # the adjudicator publishes no pre-settlement on the feed
            message = model.model_validate(doc["body"])
            out.append(
                codec.encode(
                    message,
                    ce_id=doc["headers"]["ce_id"],
                    sender="yidi-adjudication",
                    ce_time=dt.datetime.fromisoformat(doc["headers"]["ce_time"]),
                    sign=False,
                )
            )
    return out


async def test_trusted_rebuild_equals_the_validating_one(
    settings: Settings, unique: str, tmp_path: Path
) -> None:
    codec = build_runtime(settings).codec
    events = tmp_path / "events.jsonl"
    write_jsonl(plan_messages(REFERENCE, codec, 300, seed=9, run_id=f"tr-{unique}"), events)
    feed = _feed(codec, events)
    assert len(feed) > 100
    key, value, headers = feed[len(feed) // 2]
    broken = orjson.loads(value)
    broken["setlinfo"]["fund_pay_sumamt"] = "0.01"  # breaks the settlement's identities
    broken["setlinfo"]["setl_id"] = "SBROKEN" + broken["setlinfo"]["setl_id"][7:]
    feed.insert(len(feed) // 2, (key, orjson.dumps(broken), headers))

    topic = f"it.settlement.{unique}"
    await apply(settings.kafka_bootstrap, (Topic(topic, "person", "test", 3),), "test")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for k, v, h in feed:
            await producer.send(topic, v, key=k, headers=h)
        await producer.flush()
    finally:
        await producer.stop()

    digests = {}
    try:
        for trusted in (False, True):
            async with fresh_database(settings) as db:
                report = await rebuild(
                    settings.kafka_bootstrap, db, codec, "ledger", f"-{unique}",
                    trusted=trusted, source_topic=topic,
                )  # fmt: skip
                assert (report.records, report.skipped) == (len(feed), 1), report.as_dict()
                assert report.inserted == len(feed) - 1
                conn = await asyncpg.connect(db)
                try:
                    digests[trusted] = (await ledger_digest(conn)).sha256
                    assert not await conn.fetchval(
                        "SELECT count(*) FROM settlements WHERE setl_id LIKE 'SBROKEN%'"
                    )
                finally:
                    await conn.close()
    finally:
        await delete_topics(settings.kafka_bootstrap, [topic])
    assert digests[True] == digests[False]
