"""Month close over a large ledger: how long ``close_period`` takes on N settlements.

The rows are synthetic but shaped like the real thing (every column, every
CHECK identity, 9 home and 9 treatment pooling regions in 6 provinces, 5 %
reversals); entries and running positions are derived from them in SQL. The
baseline, measured on the same rows in the same run, is one GROUP BY over the
ledger — the floor any statement built from the ledger must pay.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import asyncpg

from events import catalog
from events.wire.codec import Codec
from services.clearing.adapters.postgres import PgClearingUnitOfWork
from services.clearing.service_layer.periods import close_period
from services.runtime.reference import load_pooling_regions
from services.runtime.settings import Settings
from services.testing.scratch_db import fresh_database

HOMES = "330900,330421,310000,310118,320500,320509,430100,650000,230100"
TREATMENTS = "330902,330102,310104,310115,320508,320581,430102,650102,230102"
PERIOD = "2026-10"

_SETTLEMENTS = f"""
INSERT INTO settlements (setl_id, kind, orig_setl_id, refd_setl_flag, ce_id, mdtrt_id,
    medins_setl_id, psn_no, fixmedins_code, insuplc_admdvs, mdtrtarea_admvs, insutype, psn_type,
    med_type, clr_type, clr_way, clr_optins, setl_time, setl_date, medfee_sumamt,
    fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc, hifp_pay,
    cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay, maf_pay, oth_pay, fund_pay_sumamt,
    psn_part_amt, acct_pay, psn_cash_pay, hosp_part_amt, policy_version, catalog_version,
    payload, payload_sha256, src_topic, src_partition, src_offset)
SELECT 'B' || lpad(g::text, 12, '0'), CASE WHEN rev THEN 'reversal' ELSE 'settlement' END,
    CASE WHEN rev THEN 'B' || lpad((g - 1)::text, 12, '0') END, CASE WHEN rev THEN 1 ELSE 0 END,
    'ce-' || g, 'M' || g, 'H' || g, 'P' || lpad((g % 100000)::text, 12, '0'), 'H33090200001',
    home, treat, '310', '11', '11', '11', '01', home, '2026-10-15T10:00:00+08', '2026-10-15',
    sgn * fee, 0, 0, 0, sgn * fee, 0, sgn * fund, 0, 0, 0, 0, 0, 0, sgn * fund,
    sgn * (fee - fund), 0, sgn * (fee - fund), 0, 'pv', 'cv', convert_to(repeat('x', $2), 'UTF8'),
    '\\x00',
    '{catalog.SETTLEMENT}', g % 12, g
FROM (
    SELECT g, (g % 20 = 0) AS rev, CASE WHEN g % 20 = 0 THEN -1 ELSE 1 END AS sgn,
        (string_to_array('{HOMES}', ','))[1 + g % 9] AS home,
        (string_to_array('{TREATMENTS}', ','))[1 + (g / 9) % 9] AS treat,
        (100 + (g % 5000))::numeric(16,2) AS fee,
        round((100 + (g % 5000)) * 0.6, 2)::numeric(16,2) AS fund
    FROM generate_series(1, $1) AS g
) x
"""

_ENTRIES = """
INSERT INTO clearing_entries (setl_id, period, natural_period, scope, late, kind, home, treatment,
    payer, payee, medfee_sumamt, fund_pay_sumamt, hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay,
    hifob_pay, maf_pay, oth_pay, src_partition, src_offset)
SELECT setl_id, $1, $1, scope, false, kind, insuplc_admdvs, mdtrtarea_admvs,
    CASE WHEN scope = 'national' THEN substr(hp, 1, 2) || '0000' ELSE hp END,
    CASE WHEN scope = 'national' THEN substr(tp, 1, 2) || '0000' ELSE tp END,
    medfee_sumamt, fund_pay_sumamt, hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay,
    maf_pay, oth_pay, src_partition, src_offset
FROM (SELECT s.*, h.pool AS hp, t.pool AS tp,
             CASE WHEN substr(insuplc_admdvs, 1, 2) <> substr(mdtrtarea_admvs, 1, 2)
                  THEN 'national'
                  ELSE 'province:' || substr(insuplc_admdvs, 1, 2) || '0000' END AS scope
      FROM settlements s
      JOIN unnest($2::text[], $3::text[]) AS h(division, pool) ON h.division = s.insuplc_admdvs
      JOIN unnest($2::text[], $3::text[]) AS t(division, pool) ON t.division = s.mdtrtarea_admvs
      WHERE h.pool <> t.pool) x
"""
"""Each division's pool comes from ``contracts.pools`` (``$2`` divisions, ``$3`` their pools):
settlements inside one pool (310000 treated in 310104) are not cleared, as live."""

_POSITIONS = """
INSERT INTO clearing_positions (period, scope, home, treatment, payer, payee, setl_cnt, rev_cnt,
    late_cnt, medfee_sumamt, fund_pay_sumamt, hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay,
    hifob_pay, maf_pay, oth_pay)
SELECT period, scope, home, treatment, payer, payee, count(*) FILTER (WHERE kind = 'settlement'),
    count(*) FILTER (WHERE kind = 'reversal'), count(*) FILTER (WHERE late), sum(medfee_sumamt),
    sum(fund_pay_sumamt), sum(hifp_pay), sum(cvlserv_pay), sum(hifes_pay), sum(hifmi_pay),
    sum(hifob_pay), sum(maf_pay), sum(oth_pay)
FROM clearing_entries GROUP BY 1, 2, 3, 4, 5, 6
"""


@dataclass(frozen=True, slots=True)
class CloseBench:
    rows: int
    payload_bytes: int
    national_entries: int
    load_s: float
    close_s: list[float]
    baseline_s: list[float]
    statement_id: str

    def as_dict(self) -> dict[str, object]:
        close, base = statistics.median(self.close_s), statistics.median(self.baseline_s)
        return {
            "rows": self.rows, "payload_bytes": self.payload_bytes,
            "national_entries": self.national_entries,
            "load_s": round(self.load_s, 2),
            "close_s_median": round(close, 3), "close_s_runs": [round(x, 3) for x in self.close_s],
            "baseline_group_by_s_median": round(base, 3),
            "ratio_close_to_baseline": round(close / base, 2) if base else None,
            "statement_id": self.statement_id,
        }  # fmt: skip


async def load(conn: asyncpg.Connection, rows: int, payload_bytes: int = 1) -> None:
    """Into a fresh database: ``rows`` ledger rows dated in ``PERIOD``, their clearing entries
    (all in ``PERIOD``, none late) and the running positions summed from those entries.
    ``payload_bytes``: each row's stored message; a real settlement's is ~1,340 bytes (the
    row ~1.8 KB, under the TOAST threshold: stored inline), which the close's scan of the
    ledger reads too. 1 (the default) keeps earlier measurements comparable."""
    await conn.execute(_SETTLEMENTS, rows, payload_bytes)
    pools = load_pooling_regions()
    divisions = sorted(set(HOMES.split(",")) | set(TREATMENTS.split(",")))
    await conn.execute(_ENTRIES, PERIOD, divisions, [pools.pool_of(d) for d in divisions])
    await conn.execute(_POSITIONS)
    await conn.execute("ANALYZE")


async def run(
    settings: Settings, codec: Codec, rows: int, runs: int = 3, payload_bytes: int = 1
) -> CloseBench:
    """Load ``rows`` once; close the national month ``runs`` times, each in a reset state."""
    async with fresh_database(settings) as url:
        conn = await asyncpg.connect(url)
        try:
            started = time.perf_counter()
            await load(conn, rows, payload_bytes)
            load_s = time.perf_counter() - started
            national = await conn.fetchval(
                "SELECT count(*) FROM clearing_entries WHERE scope = 'national'"
            )
            close_s, baseline_s, statement_id = [], [], ""
            for _ in range(runs):
                await _reopen(conn)
                t0 = time.perf_counter()
                view = await close_period(PgClearingUnitOfWork(conn), codec, PERIOD, "national")
                close_s.append(time.perf_counter() - t0)
                statement_id = view.statement_id
                t0 = time.perf_counter()
                await conn.fetch(
                    "SELECT insuplc_admdvs, mdtrtarea_admvs, count(*), sum(fund_pay_sumamt) "
                    "FROM settlements GROUP BY 1, 2"
                )
                baseline_s.append(time.perf_counter() - t0)
        finally:
            await conn.close()
    return CloseBench(rows, payload_bytes, national, load_s, close_s, baseline_s, statement_id)


async def _reopen(conn: asyncpg.Connection) -> None:
    """Benchmark only: forget a previous close so the next run does the full work again."""
    await conn.execute(
        """DELETE FROM clearing_statement_pairs; DELETE FROM clearing_statement_nets;
           DELETE FROM clearing_statements; DELETE FROM clearing_periods;
           DELETE FROM clearing_outbox"""
    )
