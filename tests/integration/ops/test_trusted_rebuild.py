"""The trusted rebuilds (ledger: COPY text from the payloads in worker processes; clearing:
facts straight from the JSON) land exactly what the validating ones do — also when the feed
holds a record the contract refuses: it falls back to the validating path, which skips it
as the live sink dead-lettered it."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import orjson
import pytest

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from services.entry.bootstrap import build_runtime
from services.ops.core.errors import WorkerFailed
from services.ops.core.replay import Span
from services.ops.ledger_hash import ledger_digest
from services.ops.replay import rebuild
from services.ops.trusted_rebuild import Workers
from services.runtime.settings import Settings
from services.tools.bench.replay import run as run_bench
from tests.fresh_db import fresh_database
from tests.settlement_feed import settlement_feed


async def test_trusted_rebuild_equals_the_validating_one(
    settings: Settings, unique: str, tmp_path: Path
) -> None:
    codec = build_runtime(settings).codec
    feed = settlement_feed(codec, tmp_path, 300, 9, f"tr-{unique}")
    assert len(feed) > 100
    key, value, headers = feed[len(feed) // 2]
    broken = orjson.loads(value)
    broken["setlinfo"]["fund_pay_sumamt"] = "0.01"  # breaks the settlement's identities
    broken["setlinfo"]["setl_id"] = "SBROKEN" + broken["setlinfo"]["setl_id"][7:]
    feed.insert(len(feed) // 2, (key, orjson.dumps(broken), headers))

    topic = f"it.settlement.{unique}"
    await apply(settings.kafka(), (Topic(topic, "person", "test", 3),), "test")
    producer = clients.producer(settings.kafka(), acks="all")
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
                    settings.kafka(), db, codec, "ledger", f"-{unique}",
                    trusted=trusted, source_topic=topic,
                )  # fmt: skip
                assert (report.records, report.skipped) == (len(feed), 1), report.as_dict()
                assert report.inserted == len(feed) - 1
                cleared = await rebuild(
                    settings.kafka(), db, codec, "clearing", f"-{unique}",
                    trusted=trusted, source_topic=topic,
                )  # fmt: skip
                assert cleared.records == len(feed) and cleared.inserted > 50
                conn = await asyncpg.connect(db)
                try:
                    digests[trusted] = (await ledger_digest(conn)).sha256
                    assert not await conn.fetchval(
                        "SELECT count(*) FROM settlements WHERE setl_id LIKE 'SBROKEN%'"
                    )
                finally:
                    await conn.close()
        # the bench at scale on this feed: every copy lands as a settlement of its own
        bench = await run_bench(
            settings, codec, 1, ("ledger:trusted", "clearing:trusted"), copies=2, feed=topic
        )
        assert bench.records == 2 * len(feed)
        assert all(rate[0] > 0 for rate in bench.rebuild_per_s.values())
    finally:
        await delete_topics(settings.kafka(), [topic])
    assert digests[True] == digests[False]


async def test_a_worker_that_cannot_start_fails_the_rebuild_with_its_reason(
    settings: Settings,
) -> None:
    codec = build_runtime(settings).codec
    nowhere = "postgresql://yidi@127.0.0.1:9/nowhere"  # nothing listens on port 9
    workers = await Workers.start(settings.kafka(), nowhere, codec, 2)
    try:
        with pytest.raises(WorkerFailed) as failed:
            await workers.run("ledger", "yidi.settlement.v1", "g", [Span(0, 0, 10)], None, print)
    finally:
        await workers.close()
    assert failed.value.code == "E_OPS_WORKER"
    assert "nowhere" not in failed.value.message  # no connection string in the reason
