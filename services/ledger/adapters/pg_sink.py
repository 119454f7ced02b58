"""Batch writes into the ledger with the consumer positions in the same transaction.

The positions go with the rows (``services/runtime/positions.py`` says why). Rows are still insert-if-absent by setl_id,
so even a zombie writer cannot double a fen.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.runtime.positions import (
    BatchOutcome,
    PgPositions,
    record_positions,
    stored_positions,
)

AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay",
    "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "hosp_part_amt",
)  # fmt: skip
"""The money columns (reversal rows hold them negated)."""
LEDGER_COLUMNS: tuple[str, ...] = (
    "setl_id", "kind", "orig_setl_id", "refd_setl_flag", "ce_id", "mdtrt_id", "medins_setl_id",
    "psn_no", "fixmedins_code", "insuplc_admdvs", "mdtrtarea_admvs", "insutype", "psn_type",
    "med_type", "clr_type", "clr_way", "clr_optins", "setl_time", "setl_date",
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay",
    "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "hosp_part_amt",
    "policy_version", "catalog_version", "payload", "payload_sha256",
    "src_topic", "src_partition", "src_offset",
)  # fmt: skip

_COLS = ", ".join(LEDGER_COLUMNS)
STAGE = "ledger_stage"


async def ensure_stage(conn: asyncpg.Connection) -> None:
    await conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} "
        "(LIKE settlements INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )


async def write_batch(
    conn: asyncpg.Connection,
    group_id: str,
    rows: Sequence[tuple[object, ...]],
    positions: dict[tuple[str, int], int],
) -> BatchOutcome:
    """Land ``rows`` (in ``LEDGER_COLUMNS`` order) and the next offsets, atomically."""
    async with conn.transaction():
        await ensure_stage(conn)
        inserted = conflicts = 0
        if rows:
            await conn.copy_records_to_table(STAGE, records=rows, columns=list(LEDGER_COLUMNS))
            inserted, conflicts = await land_stage(conn)
        await record_positions(conn, group_id, positions)
    return BatchOutcome(inserted, len(rows) - inserted, conflicts)


async def land_stage(conn: asyncpg.Connection) -> tuple[int, int]:
    """Insert-if-absent the staged rows by ``setl_id``; keep aside any with other bytes for a
    setl_id already landed. Returns (inserted, conflicts)."""
    status = await conn.execute(
        f"INSERT INTO settlements ({_COLS}) SELECT DISTINCT ON (setl_id) {_COLS} "
        f"FROM {STAGE} ORDER BY setl_id, src_offset ON CONFLICT (setl_id) DO NOTHING"
    )
    inserted = int(status.split()[-1])
    status = await conn.execute(
        f"""INSERT INTO settlement_conflicts
                (setl_id, payload_sha256, payload, src_topic, src_partition, src_offset)
            SELECT s.setl_id, s.payload_sha256, s.payload, s.src_topic, s.src_partition,
                   s.src_offset
            FROM {STAGE} s JOIN settlements t USING (setl_id)
            WHERE t.payload_sha256 <> s.payload_sha256
            ON CONFLICT DO NOTHING"""
    )
    return inserted, int(status.split()[-1])


class PgLedgerSink:
    """``ports.LedgerSink`` over one connection (``write_batch``'s transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._positions = PgPositions(conn)

    @property
    def positions(self) -> PgPositions:
        return self._positions

    async def land(
        self,
        group_id: str,
        rows: Sequence[tuple[object, ...]],
        positions: dict[tuple[str, int], int],
    ) -> BatchOutcome:
        return await write_batch(self.conn, group_id, rows, positions)

    async def settlement(self, setl_id: str) -> dict[str, object] | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLS} FROM settlements WHERE setl_id = $1", setl_id
        )
        return None if row is None else dict(row)

    async def conflicts(self, setl_id: str) -> int:
        n: int = await self.conn.fetchval(
            "SELECT count(*) FROM settlement_conflicts WHERE setl_id = $1", setl_id
        )
        return n


__all__ = [
    "AMOUNTS", "LEDGER_COLUMNS", "BatchOutcome", "PgLedgerSink", "land_stage", "record_positions",
    "stored_positions", "write_batch",
]  # fmt: skip
