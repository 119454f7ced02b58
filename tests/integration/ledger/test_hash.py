"""`yidi ledger hash` on real PostgreSQL: two databases holding the same settlements, landed in
different orders from different source offsets at different times, hash equal; one fen apart,
they do not."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import asyncpg
import orjson

from events.settlement_feed import decode_settlement
from events.stream.types import InputRecord
from events.wire.codec import Codec
from services.adjudication.offline import run as offline_run
from services.adjudication.reference import load_reference
from services.ledger.adapters.pg_sink import LEDGER_COLUMNS
from services.ledger.rows import ledger_row
from services.ops.core.digest import Period
from services.ops.ledger_hash import ledger_digest
from services.runtime.settings import Settings
from services.testing.sample_events import events
from tests.fresh_db import fresh_database

CODEC = Codec()


def ledger_rows() -> list[tuple[object, ...]]:
    """Real settlements and reversals: the sample traffic through the offline adjudicator."""
    outputs, _ = offline_run(events(2), load_reference())
    rows = []
    for i, line in enumerate(outputs):
        doc = orjson.loads(line)
        if not doc["headers"]["ce_type"].startswith("cn.yidi.settlement."):
            continue
        if doc["body"].get("pre_settlement"):
            continue
        value = orjson.dumps(doc["body"], option=orjson.OPT_SORT_KEYS)
        headers = [(k, str(v).encode()) for k, v in doc["headers"].items()]
        record = InputRecord("yidi.settlement.v1", 0, i, doc["key"].encode(), value, headers, 0)
        decoded = decode_settlement(CODEC, record, "test")
        assert isinstance(decoded, tuple), decoded
        rows.append(ledger_row(decoded[0], decoded[1], value, record))
    return rows


def relocated(row: tuple[object, ...], partition: int, offset: int) -> tuple[object, ...]:
    """The same row as if it had come from another partition and offset."""
    at = {c: i for i, c in enumerate(LEDGER_COLUMNS)}
    out = list(row)
    out[at["src_partition"]], out[at["src_offset"]] = partition, offset
    return tuple(out)


async def land(url: str, rows: list[tuple[object, ...]], per_transaction: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        for start in range(0, len(rows), per_transaction):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "settlements", records=rows[start : start + per_transaction],
                    columns=list(LEDGER_COLUMNS),
                )  # fmt: skip
                await conn.execute(
                    """INSERT INTO clearing_entries (setl_id, period, natural_period, scope, late,
                           kind, home, treatment, payer, payee, medfee_sumamt, fund_pay_sumamt,
                           hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay, maf_pay,
                           oth_pay, src_partition, src_offset)
                       SELECT setl_id, to_char(setl_date, 'YYYY-MM'), to_char(setl_date, 'YYYY-MM'),
                              'national', false, kind, insuplc_admdvs, mdtrtarea_admvs,
                              insuplc_admdvs, mdtrtarea_admvs, medfee_sumamt, fund_pay_sumamt,
                              hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay, maf_pay,
                              oth_pay, src_partition, src_offset
                       FROM settlements WHERE setl_id = ANY($1::text[])""",
                    [r[0] for r in rows[start : start + per_transaction]],
                )
            await asyncio.sleep(0.01)  # landed_at differs from the other database's
    finally:
        await conn.close()


async def digest(
    url: str, period: Period | None = None, *, in_sql: bool = True
) -> tuple[str, dict[str, int]]:
    conn = await asyncpg.connect(url)
    try:
        d = await ledger_digest(conn, period, in_sql=in_sql)
    finally:
        await conn.close()
    return d.sha256, {t.name: t.rows for t in d.tables}


async def test_same_content_same_digest_one_fen_changes_it(settings: Settings) -> None:
    rows = ledger_rows()
    assert len(rows) > 10 and any(r[1] == "reversal" for r in rows)
    shuffled = [relocated(r, 7, 10_000 + i) for i, r in enumerate(rows)]
    random.Random(3).shuffle(shuffled)
    async with fresh_database(settings) as a, fresh_database(settings) as b:
        await land(a, rows, per_transaction=len(rows))
        await land(b, shuffled, per_transaction=3)

        digest_a, counts_a = await digest(a)
        digest_b, counts_b = await digest(b)
        assert digest_a == digest_b
        python_side, _ = await digest(a, in_sql=False)
        assert python_side == digest_a, "the server renders values exactly as core.canonical"
        assert counts_a == counts_b
        assert counts_a["settlements"] == counts_a["clearing_entries"] == len(rows)

        month = Period.parse(str(rows[0][LEDGER_COLUMNS.index("setl_date")])[:7])
        month_a, month_counts = await digest(a, month)
        assert month_a == (await digest(b, month))[0] != digest_a
        assert 0 < month_counts["settlements"] <= len(rows)

        conn = await asyncpg.connect(b)
        try:
            await conn.execute(
                "UPDATE settlements SET fulamt_ownpay_amt = fulamt_ownpay_amt + $1 "
                "WHERE setl_id = (SELECT min(setl_id) FROM settlements)",
                Decimal("0.01"),
            )
        finally:
            await conn.close()
        changed, _ = await digest(b)
        assert changed != digest_a
