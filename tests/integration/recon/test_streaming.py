"""A multi-part detail reconciliation streams: 20,000 rows here (``make recon-100k`` runs
100,000), 3,000 rows a request part, thousands of unbalanced rows answered in parts — with
the time taken and the peak of Python memory while the worker staged, merged and answered.

Why tracemalloc and not only RSS: RSS holds the whole test process (pytest, both clients,
the allocator's high-water mark); the traced peak counts every Python allocation made
between the first part sent and the last answer part received, hospital side included.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import resource
import time
import tracemalloc

from contracts.codes import StmtRslt
from contracts.recon import ReconDiffCounts, ReconVerdict
from events.admin import apply, delete_topics
from events.catalog import Topic, ack_topic_spec
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.recon.worker import ReconWorker
from services.runtime.settings import Settings
from services.sdk.client import HospitalClient
from services.sdk.recon import ReconSlice
from tests.fresh_db import fresh_database
from tests.integration.recon_support import BulkBooks, bulk_setl_id, land_bulk_ledger

ROWS = int(os.environ.get("YIDI_RECON_ROWS", "20000"))
TRACE = os.environ.get("YIDI_RECON_TRACE", "1") != "0"
"""tracemalloc roughly doubles the run time: ``make recon-100k`` times an untraced run too."""
CODE = "H31011800001"
DAY = dt.date(2026, 10, 12)
PEAK_BOUND_MB = 64
"""The traced peak stays under this whatever ROWS is: parts, cursor pages and answer parts
are bounded; only the hospital's row index (8 bytes a row) grows with the request."""


async def test_multi_part_detail_reconciliation_streams_in_bounded_memory(
    settings: Settings, unique: str
) -> None:
    missing = set(range(5, ROWS, 13))
    changed = set(range(3, ROWS, 17)) - missing
    extra = ROWS // 50
    books = BulkBooks(CODE, ROWS, missing, extra, changed)
    recon_topic = f"it.recon.{unique}"
    codec = Codec(demo_registry([CODE]))
    async with fresh_database(settings) as db_url:
        await land_bulk_ledger(db_url, CODE, ROWS, DAY)
        await apply(
            settings.kafka(),
            (Topic(recon_topic, "{fixmedins_code}", "test", 3),
             Topic(f"it.clearing.{unique}", "{participant}", "test", 1), ack_topic_spec(CODE)),
            "test",
        )  # fmt: skip
        worker = ReconWorker(
            settings.kafka(), db_url, codec, topic=recon_topic,
            clearing_topic=f"it.clearing.{unique}", group_id=f"it-recon-{unique}",
        )  # fmt: skip
        hospital = HospitalClient(settings.kafka(), CODE, codec)
        await worker.start()
        await hospital.start()
        stop = asyncio.Event()
        runner = asyncio.create_task(worker.run(stop))
        try:
            scope = ReconSlice(
                "310118", "310000", "310", "11", dt.date(2026, 10, 1), dt.date(2026, 10, 31)
            )  # type: ignore[arg-type]
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            if TRACE:
                tracemalloc.start()
            started = time.perf_counter()
            answer = await hospital.reconcile_details(
                scope, books, inf_time=dt.datetime.now(dt.UTC), timeout_s=300, topic=recon_topic
            )
            seconds = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory() if TRACE else (0, 0)
            tracemalloc.stop()
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        finally:
            stop.set()
            await runner
            await hospital.stop()
            await worker.stop()
            await delete_topics(settings.kafka(), [recon_topic, f"it.clearing.{unique}"])

    refunds = {i for i in missing if i % 97 == 96}
    want = ReconDiffCounts(
        hosp_row_cnt=len(books), ledger_row_cnt=ROWS, missing_in_ledger=extra,
        missing_in_hospital=len(missing - refunds), refund_mismatch=len(refunds),
        amount_mismatch=len(changed),
    )  # fmt: skip
    rows = list(answer.rows())
    print(
        f"\nrecon {ROWS} ledger rows vs {len(books)} hospital rows in "
        f"{-(-len(books) // 3000)} parts: {seconds:.1f} s to the complete answer "
        f"({len(answer.parts)} parts, {len(rows)} unbalanced rows); "
        + (f"traced Python peak {peak / 2**20:.1f} MiB (tracing slows the run); " if TRACE else "")
        + f"max RSS {rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MiB"
    )
    assert answer.stmt_rslt == StmtRslt.UNBALANCED
    assert answer.diff_cnts == want
    assert len(answer.parts) == -(-want.diff_cnt // 2000) > 1
    assert [r.setl_id for r in rows] == sorted(r.setl_id for r in rows)
    by_verdict: dict[ReconVerdict, set[str]] = {}
    for r in rows:
        assert r.verdict is not None
        by_verdict.setdefault(r.verdict, set()).add(r.setl_id)
    assert by_verdict[ReconVerdict.AMOUNT_MISMATCH] == {bulk_setl_id(i) for i in changed}
    assert by_verdict[ReconVerdict.MISSING_IN_HOSPITAL] == {
        bulk_setl_id(i) for i in missing - refunds
    }
    assert by_verdict[ReconVerdict.REFUND_MISMATCH] == {bulk_setl_id(i) for i in refunds}
    assert len(by_verdict[ReconVerdict.MISSING_IN_LEDGER]) == extra
    assert peak < PEAK_BOUND_MB * 2**20, f"traced peak {peak / 2**20:.1f} MiB"
