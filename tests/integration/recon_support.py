"""Helpers for the reconciliation tests: a ledger landed from simulated traffic or made up in
bulk, the hospital's books read back from it, and a tail of what the worker published."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import overload

import asyncpg
import orjson
from aiokafka import TopicPartition

from contracts.codes import RefdSetlFlag
from contracts.recon import ReconDetailRow, ReconTotals
from contracts.settlement import Reversed, Settled
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.stream.types import InputRecord
from events.wire.codec import Codec
from services.adjudication.offline import run as offline_run
from services.adjudication.reference import load_reference
from services.ledger.adapters.pg_sink import LEDGER_COLUMNS, write_batch
from services.ledger.rows import ledger_row
from services.tools.simulator.run import plan_messages

CST = dt.timezone(dt.timedelta(hours=8))
REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
D = Decimal


async def land_simulated_ledger(db_url: str, codec: Codec, run_id: str, visits: int) -> int:
    """Simulated hospital traffic, adjudicated offline and landed exactly as the ledger sink
    lands the settlement feed; returns the rows landed."""
    lines = []
    for built in plan_messages(REFERENCE, codec, visits, seed=11, run_id=run_id):
        if built.bad is not None:
            continue
        key, value, headers = built.record
        lines.append(
            orjson.dumps(
                {"key": key.decode() if key else None,
                 "headers": {k: v.decode() for k, v in headers}, "body": orjson.loads(value)}
            )
        )  # fmt: skip
    outputs, _ = offline_run(lines, load_reference(REFERENCE))
    rows = []
    for offset, line in enumerate(outputs):
        doc = orjson.loads(line)
        headers = [(k, str(v).encode()) for k, v in doc["headers"].items()]
        value = orjson.dumps(doc["body"], option=orjson.OPT_SORT_KEYS)
        message = codec.decode(None, value, headers, authenticate=False).message
        if not isinstance(message, (Settled, Reversed)) or message.pre_settlement:
            continue
        record = InputRecord("yidi.settlement.v1", 0, offset, None, value, headers, 0)
        rows.append(ledger_row(message, doc["headers"]["ce_id"], value, record))
    conn = await asyncpg.connect(db_url)
    try:
        await write_batch(conn, "it-recon-ledger", rows, {})
    finally:
        await conn.close()
    return len(rows)


@dataclass(frozen=True, slots=True)
class Slice:
    fixmedins_code: str
    insutype: str
    clr_type: str
    begin: dt.date
    end: dt.date


async def books_from_ledger(db_url: str, s: Slice) -> list[ReconDetailRow]:
    """The hospital's detail rows for a slice when its books agree with the ledger: refunds
    positive with ``refd_setl_flag`` 1, as hospitals count them."""
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            """SELECT setl_id, psn_no, mdtrt_id, refd_setl_flag, kind, setl_time,
                      medfee_sumamt, fund_pay_sumamt, acct_pay
               FROM settlements WHERE fixmedins_code = $1 AND insutype = $2 AND clr_type = $3
               AND setl_date BETWEEN $4 AND $5 ORDER BY setl_id""",
            s.fixmedins_code, s.insutype, s.clr_type, s.begin, s.end,
        )  # fmt: skip
    finally:
        await conn.close()
    sign = {"settlement": 1, "reversal": -1}
    return [
        ReconDetailRow(
            psn_no=r["psn_no"],
            mdtrt_id=r["mdtrt_id"],
            setl_id=r["setl_id"],
            msgid=f"{s.fixmedins_code}{r['setl_time'].astimezone(CST):%Y%m%d%H%M%S}{i % 10000:04d}",
            medfee_sumamt=sign[r["kind"]] * r["medfee_sumamt"],
            fund_pay_sumamt=sign[r["kind"]] * r["fund_pay_sumamt"],
            acct_pay=sign[r["kind"]] * r["acct_pay"],
            refd_setl_flag=str(r["refd_setl_flag"]),
        )
        for i, r in enumerate(rows)
    ]


def totals_of(rows: Sequence[ReconDetailRow], flag: RefdSetlFlag) -> ReconTotals:
    mine = [r for r in rows if r.refd_setl_flag == flag]
    return ReconTotals(
        fixmedins_setl_cnt=len(mine),
        medfee_sumamt=sum((r.medfee_sumamt for r in mine), D(0)),
        fund_pay_sumamt=sum((r.fund_pay_sumamt for r in mine), D(0)),
        acct_pay=sum((r.acct_pay for r in mine), D(0)),
    )


# -- a large ledger made up in bulk --------------------------------------------------------


def bulk_setl_id(n: int) -> str:
    return "S" + hashlib.sha256(f"bulk|{n}".encode()).hexdigest()[:24].upper()


def bulk_amounts(n: int) -> tuple[Decimal, Decimal, Decimal]:
    medfee = D(10_000 + (n * 7919) % 900_000) / 100
    fund = (medfee * D("0.6")).quantize(D("0.01"))
    acct = D(n % 50)
    return medfee, fund, acct


def bulk_ledger_rows(code: str, n: int, day: dt.date) -> Iterator[tuple[object, ...]]:
    """``n`` settlements of ``code`` (every 97th reversed by its successor's row) satisfying
    the ledger's identities, in ``LEDGER_COLUMNS`` order."""
    at = dt.datetime.combine(day, dt.time(10), CST)
    for i in range(n):
        medfee, fund, acct = bulk_amounts(i)
        reversal = i % 97 == 96
        sign = D(-1) if reversal else D(1)
        person = medfee - fund
        values = {
            "setl_id": bulk_setl_id(i), "kind": "reversal" if reversal else "settlement",
            "orig_setl_id": bulk_setl_id(i - 1) if reversal else None,
            "refd_setl_flag": 1 if reversal else 0, "ce_id": f"bulk-{i}", "mdtrt_id": f"M{i:012d}",
            "medins_setl_id": f"H{i:012d}", "psn_no": f"P{i:012d}", "fixmedins_code": code,
            "insuplc_admdvs": "320509", "mdtrtarea_admvs": "310118", "insutype": "310",
            "psn_type": "11", "med_type": "11", "clr_type": "11", "clr_way": "01",
            "clr_optins": "310000", "setl_time": at, "setl_date": day,
            "medfee_sumamt": sign * medfee, "fulamt_ownpay_amt": D(0), "overlmt_selfpay": D(0),
            "preselfpay_amt": D(0), "inscp_scp_amt": sign * medfee, "act_pay_dedc": D(0),
            "hifp_pay": sign * fund, "cvlserv_pay": D(0), "hifes_pay": D(0), "hifmi_pay": D(0),
            "hifob_pay": D(0), "maf_pay": D(0), "oth_pay": D(0), "fund_pay_sumamt": sign * fund,
            "psn_part_amt": sign * person, "acct_pay": sign * acct,
            "psn_cash_pay": sign * (person - acct), "hosp_part_amt": D(0),
            "policy_version": "p-bulk", "catalog_version": "c-bulk", "payload": b"{}",
            "payload_sha256": hashlib.sha256(b"{}").digest(), "src_topic": "yidi.settlement.v1",
            "src_partition": 0, "src_offset": i,
        }  # fmt: skip
        yield tuple(values[c] for c in LEDGER_COLUMNS)


async def land_bulk_ledger(db_url: str, code: str, n: int, day: dt.date) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        batch: list[tuple[object, ...]] = []
        for row in bulk_ledger_rows(code, n, day):
            batch.append(row)
            if len(batch) == 20_000:
                await write_batch(conn, "it-recon-bulk", batch, {})
                batch.clear()
        await write_batch(conn, "it-recon-bulk", batch, {})
    finally:
        await conn.close()


class BulkBooks(Sequence[ReconDetailRow]):
    """A hospital's books over the bulk ledger, made row by row on demand (so the hospital
    side of a 100,000-row test holds one part at a time): rows whose index is in
    ``missing`` are absent, ``extra`` rows the ledger never saw follow, and ``changed``
    rows carry one fen more ``fund_pay_sumamt``. Ordered by index, not by ``setl_id``: the
    worker must not rely on the hospital's order."""

    def __init__(self, code: str, n: int, missing: set[int], extra: int, changed: set[int]):
        self.code, self.n, self.extra, self.changed = code, n, extra, changed
        self.index = [i for i in range(n) if i not in missing]

    def __len__(self) -> int:
        return len(self.index) + self.extra

    def _row(self, k: int) -> ReconDetailRow:
        if k >= len(self.index):
            e = k - len(self.index)
            return ReconDetailRow(
                psn_no=f"X{e:012d}", mdtrt_id=f"X{e:012d}", setl_id=f"X{e:012d}",
                msgid=f"{self.code}20261012100000{e % 10000:04d}", medfee_sumamt=D("10.00"),
                fund_pay_sumamt=D("6.00"), acct_pay=D(0), refd_setl_flag="0",
            )  # fmt: skip
        i = self.index[k]
        medfee, fund, acct = bulk_amounts(i)
        return ReconDetailRow(
            psn_no=f"P{i:012d}", mdtrt_id=f"M{i:012d}", setl_id=bulk_setl_id(i),
            msgid=f"{self.code}20261012100000{i % 10000:04d}", medfee_sumamt=medfee,
            fund_pay_sumamt=fund + (D("0.01") if i in self.changed else 0), acct_pay=acct,
            refd_setl_flag="1" if i % 97 == 96 else "0",
        )  # fmt: skip

    @overload
    def __getitem__(self, k: int) -> ReconDetailRow: ...
    @overload
    def __getitem__(self, k: slice) -> Sequence[ReconDetailRow]: ...
    def __getitem__(self, k: int | slice) -> ReconDetailRow | Sequence[ReconDetailRow]:
        if isinstance(k, slice):
            return [self._row(j) for j in range(*k.indices(len(self)))]
        return self._row(k)


# -- what the worker published ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Published:
    topic: str
    headers: dict[str, bytes]
    value: bytes

    @property
    def ce_id(self) -> str:
        return self.headers["ce_id"].decode()

    @property
    def ce_type(self) -> str:
        return self.headers["ce_type"].decode()


class Tail:
    """Records appended to ``topics`` after ``mark()``; read with ``until``."""

    def __init__(self, bootstrap: KafkaConnection, topics: list[str]) -> None:
        self.bootstrap, self.topics = bootstrap, topics
        self.consumer = clients.consumer(bootstrap, enable_auto_commit=False)
        self.records: list[Published] = []

    async def mark(self) -> None:
        admin = clients.admin(self.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics(self.topics)
        finally:
            await admin.close()
        tps = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
        ]
        await self.consumer.start()
        self.consumer.assign(tps)
        for tp, end in (await self.consumer.end_offsets(tps)).items():
            self.consumer.seek(tp, end)

    async def until(
        self, done: Callable[[list[Published]], bool], timeout_s: float = 30
    ) -> list[Published]:
        """Read until ``done(records)`` holds or the timeout passes."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not done(self.records) and asyncio.get_running_loop().time() < deadline:
            batch = await self.consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    self.records.append(Published(r.topic, dict(r.headers or ()), r.value))
        return self.records

    async def stop(self) -> None:
        await self.consumer.stop()
