"""What reconciliation's service layer needs from storage (``service_layer.apply_request``).

``store.PgReconRepository`` is the PostgreSQL adapter (COPY staging, server-side cursors
merging both sides in ``setl_id`` order); every method runs in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from contracts.recon import (
    DetailReconRequested,
    ReconDiffCounts,
    ReconRowResult,
    ReconTotals,
    TotalsReconRequested,
)
from services.recon.core.requests import Position, Request, SeenRequest


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    infno: str
    completed_by: str
    result_head: bytes
    summary: bytes
    row_cnt: int
    answered_at: dt.datetime


class ReconRepository(Protocol):
    async def seen_request(self, fixmedins_code: str, msgid: str) -> SeenRequest | None: ...
    async def record_request(self, request: Request, body: bytes, ce_id: str, at: Position) -> None:
        """Remember the message; a part number of the batch already taken is ``PartTwice``."""

    async def join_batch(self, request: DetailReconRequested) -> int:
        """Add the part to its batch and return the parts now in (``BatchMismatch`` when the
        part's slice or size disagrees with the batch)."""

    async def stage_rows(self, request: DetailReconRequested) -> None:
        """Keep the part's rows until the batch is complete (``RowInTwoParts``)."""

    async def first_part_msgid(self, fixmedins_code: str, key: str) -> str: ...
    async def ledger_totals(self, request: TotalsReconRequested) -> ReconTotals: ...
    async def ledger_version(self, ledger_group: str) -> str | None:
        """Which prefix of the settlement feed the ledger had landed."""

    async def compare_batch(self, request: DetailReconRequested) -> ReconDiffCounts:
        """Merge the staged rows with the ledger's slice; store the unbalanced rows."""

    async def drop_staged(self, fixmedins_code: str, key: str) -> None: ...
    async def store_answer(
        self,
        request: Request,
        *,
        stmt_rslt: str,
        result_head: bytes,
        summary: bytes,
        row_cnt: int,
        answered_at: dt.datetime,
    ) -> None: ...
    async def load_answer(self, fixmedins_code: str, key: str) -> StoredAnswer | None: ...
    def answer_rows(
        self, fixmedins_code: str, key: str, per_part: int
    ) -> AsyncIterator[list[ReconRowResult]]:
        """The stored unbalanced rows, ``per_part`` at a time in ``setl_id`` order."""
