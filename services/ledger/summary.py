"""Clearing preview from the ledger: fund paid per home -> treatment province (net of reversals)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import asyncpg


@dataclass(frozen=True, slots=True)
class PairTotal:
    home: str
    treatment: str
    settlements: int
    reversals: int
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal


async def province_pairs(
    conn: asyncpg.Connection, since: dt.datetime | None = None
) -> list[PairTotal]:
    """Cross-province pairs only (intra-province flows are cleared by the provincial platform)."""
    rows = await conn.fetch(
        """SELECT substr(insuplc_admdvs, 1, 2) || '0000' AS home,
                  substr(mdtrtarea_admvs, 1, 2) || '0000' AS treatment,
                  count(*) FILTER (WHERE kind = 'settlement') AS settlements,
                  count(*) FILTER (WHERE kind = 'reversal') AS reversals,
                  sum(medfee_sumamt) AS medfee, sum(fund_pay_sumamt) AS fund
           FROM settlements
           WHERE ($1::timestamptz IS NULL OR landed_at >= $1)
             AND substr(insuplc_admdvs, 1, 2) <> substr(mdtrtarea_admvs, 1, 2)
           GROUP BY 1, 2 ORDER BY fund DESC""",
        since,
    )
    return [
        PairTotal(
            r["home"], r["treatment"], r["settlements"], r["reversals"], r["medfee"], r["fund"]
        )
        for r in rows
    ]
