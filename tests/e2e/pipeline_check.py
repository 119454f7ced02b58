"""Shared e2e checks: the ledger against the offline runner on the same event file."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import asyncpg
import orjson

from services.adjudication.offline import run as offline_run
from services.adjudication.reference import load_reference

ACK_TYPE = "cn.yidi.ack.result.v1"
SETTLEMENT_TYPES = {"cn.yidi.settlement.settled.v1", "cn.yidi.settlement.reversed.v1"}


STATE_CODES = frozenset({
    "E_NO_FILING", "E_NO_VALID_FILING", "E_VISIT_UNKNOWN", "E_VISIT_EXISTS", "E_VISIT_CLOSED",
    "E_SETTLEMENT_UNKNOWN",
})  # fmt: skip
"""Rejections that depend on what the adjudicator remembers of a person or a visit (a live
run answers a message it has seen (same ce_id) as a duplicate; the offline runner, E_ALREADY_*)."""


def state_rejections(rejected: Counter[str]) -> Counter[str]:
    """A state the live run lost shows here as a count that differs from the offline one."""
    return Counter({c: n for c, n in rejected.items() if c in STATE_CODES})


def offline_rejections(events: Path) -> Counter[str]:
    """Error code -> how many requests `yidi adjudicate` rejects."""
    with events.open("rb") as lines:
        outputs, _runner = offline_run(lines, load_reference(None))
        docs = (orjson.loads(line) for line in outputs)
        return Counter(
            d["body"]["error"]["code"]
            for d in docs
            if d["headers"]["ce_type"] == ACK_TYPE and d["body"]["status"] == "rejected"
        )


def offline_settlements(events: Path, reference: Path | None = None) -> dict[str, bytes]:
    """setl_id -> canonical bytes of every settlement / reversal `yidi adjudicate` produces."""
    with events.open("rb") as lines:
        outputs, _runner = offline_run(lines, load_reference(reference))
        found: dict[str, bytes] = {}
        for line in outputs:
            doc = orjson.loads(line)
            if doc["headers"]["ce_type"] in SETTLEMENT_TYPES and not doc["body"].get(
                "pre_settlement"
            ):
                found[doc["body"]["setlinfo"]["setl_id"]] = orjson.dumps(
                    doc["body"], option=orjson.OPT_SORT_KEYS
                )
    return found


def salt_of(run_id: str) -> str:
    return f"{int(hashlib.sha256(run_id.encode()).hexdigest(), 16) % 1_000_000:06d}"


async def ledger_rows(
    db_url: str, run_id: str, want: int, timeout_s: float = 120
) -> dict[str, bytes]:
    """This run's ledger rows (by the run's person-number salt), once ``want`` have landed."""
    conn = await asyncpg.connect(db_url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            rows = await conn.fetch(
                "SELECT setl_id, payload FROM settlements WHERE substr(psn_no, 7, 6) = $1",
                salt_of(run_id),
            )
            if len(rows) >= want or time.monotonic() > deadline:
                return {r["setl_id"]: bytes(r["payload"]) for r in rows}
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def ledger_fund_total(db_url: str, run_id: str) -> Decimal:
    conn = await asyncpg.connect(db_url)
    try:
        total = await conn.fetchval(
            "SELECT coalesce(sum(fund_pay_sumamt), 0) FROM settlements WHERE substr(psn_no, 7, 6) = $1",
            salt_of(run_id),
        )
        return Decimal(total)
    finally:
        await conn.close()


def offline_fund_total(found: dict[str, bytes]) -> Decimal:
    total = Decimal(0)
    for body in found.values():
        doc = orjson.loads(body)
        sign = -1 if doc["refd_setl_flag"] == "1" else 1
        total += sign * Decimal(doc["setlinfo"]["fund_pay_sumamt"])
    return total


async def filings_landed(db_url: str, run_id: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM filings WHERE substr(psn_no, 7, 6) = $1", salt_of(run_id)
            )
        )
    finally:
        await conn.close()
