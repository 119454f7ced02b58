"""``ports.ReconRepository`` over one asyncpg connection (the SQL is in ``store.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import asyncpg

from contracts.recon import (
    DetailReconRequested,
    ReconDiffCounts,
    ReconRowResult,
    ReconTotals,
    TotalsReconRequested,
)
from services.recon.adapters import store
from services.recon.core.requests import Position, Request, SeenRequest
from services.recon.ports import StoredAnswer


class PgReconRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def seen_request(self, fixmedins_code: str, msgid: str) -> SeenRequest | None:
        return await store.seen_request(self.conn, fixmedins_code, msgid)

    async def record_request(self, request: Request, body: bytes, ce_id: str, at: Position) -> None:
        await store.record_request(self.conn, request, body, ce_id, at)

    async def join_batch(self, request: DetailReconRequested) -> int:
        return await store.join_batch(self.conn, request)

    async def stage_rows(self, request: DetailReconRequested) -> None:
        await store.stage_rows(self.conn, request)

    async def first_part_msgid(self, fixmedins_code: str, key: str) -> str:
        return await store.first_part_msgid(self.conn, fixmedins_code, key)

    async def ledger_totals(self, request: TotalsReconRequested) -> ReconTotals:
        return await store.ledger_totals(self.conn, request)

    async def ledger_version(self, ledger_group: str) -> str | None:
        return await store.ledger_version(self.conn, ledger_group)

    async def compare_batch(self, request: DetailReconRequested) -> ReconDiffCounts:
        return await store.compare_batch(self.conn, request)

    async def drop_staged(self, fixmedins_code: str, key: str) -> None:
        await store.drop_staged(self.conn, fixmedins_code, key)

    async def store_answer(
        self,
        request: Request,
        *,
        stmt_rslt: str,
        result_head: bytes,
        summary: bytes,
        row_cnt: int,
        answered_at: dt.datetime,
    ) -> None:
        await store.store_answer(
            self.conn, request, stmt_rslt=stmt_rslt, result_head=result_head, summary=summary,
            row_cnt=row_cnt, answered_at=answered_at,
        )  # fmt: skip

    async def load_answer(self, fixmedins_code: str, key: str) -> StoredAnswer | None:
        return await store.load_answer(self.conn, fixmedins_code, key)

    def answer_rows(
        self, fixmedins_code: str, key: str, per_part: int
    ) -> AsyncIterator[list[ReconRowResult]]:
        return store.answer_rows(self.conn, fixmedins_code, key, per_part)
