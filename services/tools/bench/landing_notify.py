"""What the dashboard's landing notification costs the ledger: the time of one ledger batch
(``write_batch``, the sink's own insert) with the statement trigger of
deploy/migrations/0013_settlements_notify.sql enabled and a dashboard listening, against the
same batch with the trigger disabled, alternating, in a scratch database.

Why alternate in one run: the box is shared; interleaving the two modes exposes both to the
same neighbours, and the median of each mode is compared."""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import orjson

from events import catalog
from services.ledger.adapters.pg_sink import LEDGER_COLUMNS, write_batch
from services.runtime.settings import Settings
from services.testing.scratch_db import fresh_database

D = Decimal
HOMES = ("330900", "310000", "320500", "430100", "650000", "230100")
TREATMENTS = ("310104", "330902", "320509", "430102", "650102", "230102")


def _row(setl_id: str, i: int) -> tuple[object, ...]:
    total, fund = D("1000.00"), D("600.00")
    person = total - fund
    payload = setl_id.encode()
    values = {
        "setl_id": setl_id, "kind": "settlement", "orig_setl_id": None, "refd_setl_flag": 0,
        "ce_id": f"ce-{setl_id}", "mdtrt_id": f"M-{setl_id}", "medins_setl_id": f"H-{setl_id}",
        "psn_no": f"P{i:013d}", "fixmedins_code": "H31010400001",
        "insuplc_admdvs": HOMES[i % 6], "mdtrtarea_admvs": TREATMENTS[(i // 6) % 6],
        "insutype": "310", "psn_type": "11", "med_type": "21", "clr_type": "21", "clr_way": "01",
        "clr_optins": "310000", "setl_time": datetime(2026, 11, 2, 3, 0, tzinfo=UTC),
        "setl_date": date(2026, 11, 2), "medfee_sumamt": total, "fulamt_ownpay_amt": D("100.00"),
        "overlmt_selfpay": D("0.00"), "preselfpay_amt": D("50.00"), "inscp_scp_amt": D("850.00"),
        "act_pay_dedc": D("0.00"), "hifp_pay": fund, "cvlserv_pay": D("0"), "hifes_pay": D("0"),
        "hifmi_pay": D("0"), "hifob_pay": D("0"), "maf_pay": D("0"), "oth_pay": D("0"),
        "fund_pay_sumamt": fund, "psn_part_amt": person, "acct_pay": D("0"),
        "psn_cash_pay": person, "hosp_part_amt": D("0.00"), "policy_version": "p",
        "catalog_version": "c", "payload": payload, "payload_sha256": hashlib.sha256(payload).digest(),
        "src_topic": catalog.SETTLEMENT, "src_partition": 0, "src_offset": i,
    }  # fmt: skip
    return tuple(values[c] for c in LEDGER_COLUMNS)


@dataclass(frozen=True, slots=True)
class NotifyCost:
    rows: int
    batches: int
    off_ms: float
    on_ms: float
    heard: int
    trigger_ms: float
    """The trigger's own time in one batch's INSERT (EXPLAIN ANALYZE, median)."""
    insert_ms: float
    """That INSERT's whole execution time, trigger included (same statements)."""

    @property
    def ratio(self) -> float:
        return self.on_ms / self.off_ms


async def run(settings: Settings, rows: int, batches: int) -> NotifyCost:
    async with fresh_database(settings) as url:
        conn = await asyncpg.connect(url)
        listener = await asyncpg.connect(url)
        heard: list[str] = []
        await listener.add_listener("yidi_settlements", lambda *a: heard.append(a[3]))
        times: dict[bool, list[float]] = {True: [], False: []}
        offset = 0
        try:
            for n in range(2 * batches + 2):
                on = n % 2 == 0
                await conn.execute(f"ALTER TABLE settlements {'ENABLE' if on else 'DISABLE'} "
                                   "TRIGGER settlements_landed")  # fmt: skip
                batch = [_row(f"B{offset + i:09d}", offset + i) for i in range(rows)]
                offset += rows
                started = time.perf_counter()
                async with conn.transaction():
                    await write_batch(
                        conn, "bench-notify", batch, {(catalog.SETTLEMENT, 0): offset}
                    )
                elapsed = (time.perf_counter() - started) * 1000
                if n >= 2:  # the first of each mode warms the caches
                    times[on].append(elapsed)
            await asyncio.sleep(0.2)
            trigger_ms, insert_ms = await _explained(conn, rows, batches, offset)
        finally:
            await listener.close()
            await conn.close()
    return NotifyCost(rows, batches, statistics.median(times[False]),
                      statistics.median(times[True]), len(heard), trigger_ms, insert_ms)  # fmt: skip


async def _explained(
    conn: asyncpg.Connection, rows: int, batches: int, offset: int
) -> tuple[float, float]:
    """The trigger's share measured inside PostgreSQL: EXPLAIN ANALYZE of the ledger's kind of
    INSERT ... SELECT reports each trigger's time apart from the insert's, so the share is
    not swamped by what the neighbours on a shared box do to the wall clock."""
    await conn.execute("ALTER TABLE settlements ENABLE TRIGGER settlements_landed")
    await conn.execute("CREATE TEMP TABLE bench_stage (LIKE settlements INCLUDING DEFAULTS)")
    trigger, total = [], []
    for n in range(batches):
        await conn.execute("TRUNCATE bench_stage")
        start = offset + n * rows
        await conn.copy_records_to_table(
            "bench_stage", records=[_row(f"E{start + i:09d}", start + i) for i in range(rows)],
            columns=list(LEDGER_COLUMNS),
        )  # fmt: skip
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, FORMAT JSON) INSERT INTO settlements SELECT * FROM bench_stage"
        )
        doc = orjson.loads(plan)[0]
        trigger.append(sum(t["Time"] for t in doc.get("Triggers", [])))
        total.append(doc["Execution Time"])
    return statistics.median(trigger), statistics.median(total)
