"""The year boundary through the real workers, broker and a fresh PostgreSQL.

Four simulated days, 30 December 2026 to 2 January 2027 (China time), by the same
persons, plus the simulator's year-boundary cases: inpatient stays admitted in December
and settled on 2 January (Shanghai and Xinjiang split them by fee date, every other
region settles them by discharge date) and residents whose 2026 outpatient cap runs out
on 31 December and who are treated again on 1 January.

Checked: every settlement in the ledger equals the offline core byte for byte; each
settlement records its own year's pack version (2027 from 1 January, never carried);
split stays carry both years' packs; the cap-ran-out persons find their full 2027 cap on
1 January; December and January close in their own national periods (closed through the
service function with an injected China date: today is before both months end, and the
clock guard still refuses a close without it) with statements equal to the offline
totals; the year-end rule lists December 2026; January's prepayment re-set sizes each
flow from the cleared December.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from contracts.clearing import ClearingStatement
from events.wire.codec import Codec
from services.adjudication.core.tables import ReferenceData
from services.adjudication.reference import load_reference
from services.clearing.adapters.postgres import PgClearingUnitOfWork
from services.clearing.core.errors import WrongState
from services.clearing.service_layer.periods import close_period, close_waiting
from services.clearing.service_layer.prepayments import (
    china_today,
    reset_prepayments,
    year_end_status,
)
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.simulator.run import plan_messages, publish, wait_consumed, write_jsonl
from tests.e2e.conftest import Workers
from tests.e2e.pipeline_check import ledger_rows, offline_settlements, salt_of
from tests.fresh_db import fresh_database, seed_sink_positions_at_end

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
VISITS = int(os.environ.get("YIDI_E2E_YEAR_VISITS", "120"))
"""Ordinary visits per simulated day."""
SETTLEMENT_TOPIC = "yidi.settlement.v1"
DEC, JAN = "2026-12", "2027-01"
SPLIT_REGIONS = {"310000", "650000"}


def _national_expected(
    offline: dict[str, bytes],
) -> dict[str, dict[tuple[str, str], list[Decimal]]]:
    """period -> (payer province, payee province) -> [fund, count]: cross-province only,
    each settlement or reversal in the month of its own business date."""
    out: dict[str, dict[tuple[str, str], list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [Decimal(0), Decimal(0)])
    )
    for body in offline.values():
        doc = orjson.loads(body)
        home, treatment = doc["insuplc_admdvs"], doc["mdtrtarea_admvs"]
        if home[:2] == treatment[:2]:
            continue
        sign = -1 if doc["refd_setl_flag"] == "1" else 1
        line = out[doc["setl_date"][:7]][(home[:2] + "0000", treatment[:2] + "0000")]
        line[0] += sign * Decimal(doc["setlinfo"]["fund_pay_sumamt"])
        line[1] += 1
    return out


async def test_december_to_january_settles_resets_and_clears_in_its_own_year(
    workers: Workers, tmp_path: Path
) -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    ref = load_reference(None)
    run_id = f"yb-{uuid.uuid4().hex[:8]}"
    messages = plan_messages(
        REFERENCE, runtime.codec, VISITS, seed=41, run_id=run_id, day=dt.date(2026, 12, 30), days=4
    )
    events = tmp_path / "events.jsonl"
    write_jsonl(messages, events)
    offline = offline_settlements(events)
    docs = {k: orjson.loads(v) for k, v in offline.items()}
    assert {d["setl_date"][:4] for d in docs.values()} == {"2026", "2027"}
    split = [d for d in docs.values() if d["year_parts"]]
    assert split and {d["insuplc_admdvs"] for d in split} <= SPLIT_REGIONS
    by_discharge = [
        d
        for d in docs.values()
        if d["setlinfo"]["psn_no"][12] == "8"
        and d["setlinfo"]["med_type"] == "21"
        and d["insuplc_admdvs"] not in SPLIT_REGIONS
    ]
    assert by_discharge and all(
        d["setl_date"] == "2027-01-02" and not d["year_parts"] for d in by_discharge
    )
    expected = _national_expected(offline)
    assert len(expected[DEC]) >= 4 and len(expected[JAN]) >= 4, expected

    suffix = f"-t{run_id}"
    async with fresh_database(settings) as db_url:
        env = {"YIDI_DATABASE_URL": db_url, "YIDI_GROUP_SUFFIX": suffix}
        for group in ("yidi-ledger", "yidi-clearing"):
            await seed_sink_positions_at_end(
                settings.kafka(), db_url, group + suffix, SETTLEMENT_TOPIC
            )
        workers.start("all", "all", env)
        report = await publish(
            settings.kafka(), messages, rate=0,
            adjudication_group="yidi-adjudication", ack_timeout_s=240,
        )  # fmt: skip
        assert report.missing == [], report.as_dict()
        assert report.extra_acks == 0
        assert report.rejected.get("E_NO_POLICY", 0) == 0, report.as_dict()
        for group in ("yidi-ledger", "yidi-clearing"):
            await wait_consumed(settings.kafka(), group + suffix, SETTLEMENT_TOPIC)

        # 1. Every settlement equals the offline core, byte for byte.
        landed = await ledger_rows(db_url, run_id, len(offline))
        assert set(landed) == set(offline), (len(landed), len(offline))
        differing = [s for s in offline if landed[s] != offline[s]]
        assert not differing, f"settlement bytes differ from the offline core: {differing[:3]}"

        conn = await asyncpg.connect(db_url)
        try:
            rows = await conn.fetch(
                """SELECT setl_date, insuplc_admdvs, policy_version, payload FROM settlements
                   WHERE substr(psn_no, 7, 6) = $1 AND refd_setl_flag = 0""",
                salt_of(run_id),
            )
            _check_versions(rows, ref)
            _check_caps_restart(rows, ref)
            await _check_clearing(conn, runtime.codec, expected)
        finally:
            await conn.close()


def _check_versions(rows: list[asyncpg.Record], ref: ReferenceData) -> None:
    # 2. Each settlement records its own year's pack; 2027 ones the 2027 pack.
    years: defaultdict[int, int] = defaultdict(int)
    for r in rows:
        year = r["setl_date"].year
        years[year] += 1
        assert r["policy_version"] == ref.policy(r["insuplc_admdvs"], year).version
        body = orjson.loads(r["payload"])
        assert body["policy_carried"] is False
        for part in body["year_parts"]:
            assert part["policy_version"] == (ref.policy(r["insuplc_admdvs"], part["year"]).version)
    assert years[2026] > 0 and years[2027] > 0, years


def _check_caps_restart(rows: list[asyncpg.Record], ref: ReferenceData) -> None:
    # 3. Accumulators restart on 1 January: the residents whose 2026 outpatient cap ran
    #    out on 31 December (the basic fund paid exactly the 2026 cap) find the whole
    #    2027 cap left on 1 January.
    capped: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        body = orjson.loads(r["payload"])
        psn_no = body["setlinfo"]["psn_no"]
        if psn_no[12] == "8" and body["setlinfo"]["med_type"] == "11":
            capped[psn_no].append(body)
    assert capped
    for psn_no, bodies in capped.items():
        home = bodies[0]["insuplc_admdvs"]
        level = ref.institution(bodies[0]["fixmedins_code"]).level
        cap26 = ref.policy(home, 2026).rule("390", "31", "outpatient", level).cap_fen
        cap27 = ref.policy(home, 2027).rule("390", "31", "outpatient", level).cap_fen
        december = [b for b in bodies if b["setl_date"] == "2026-12-31"]
        january = [b for b in bodies if b["setl_date"] == "2027-01-01"]
        assert len(december) == 3 and len(january) == 1, psn_no
        paid26 = sum(Decimal(b["setlinfo"]["hifp_pay"]) for b in december)
        assert paid26 == Decimal(cap26) / 100, (psn_no, paid26, cap26)
        basic = next(d for d in january[0]["setldetail"] if d["fund_pay_type"] == "390100")
        assert Decimal(basic["crt_payb_lmt_amt"]) == Decimal(cap27) / 100, psn_no
        assert Decimal(january[0]["setlinfo"]["hifp_pay"]) > 0, psn_no


async def _check_clearing(
    conn: asyncpg.Connection,
    codec: Codec,
    expected: dict[str, dict[tuple[str, str], list[Decimal]]],
) -> None:
    # 4. December and January clear in their own periods. Today (the real clock) is
    #    before either month ends: a production close is refused; the test closes
    #    through the service function with the China date injected.
    with pytest.raises(WrongState):
        await close_period(
            PgClearingUnitOfWork(conn), codec, JAN, "national", today=dt.date(2027, 1, 31)
        )
    if china_today() < dt.date(2027, 2, 1):  # the real clock: no date injected, as in production
        with pytest.raises(WrongState):
            await close_period(PgClearingUnitOfWork(conn), codec, JAN, "national")
    closes = {
        DEC: await close_waiting(
            PgClearingUnitOfWork(conn), codec, DEC, "national", 60, today=dt.date(2027, 1, 5)
        ),
        JAN: await close_waiting(
            PgClearingUnitOfWork(conn), codec, JAN, "national", 60, today=dt.date(2027, 2, 3)
        ),
    }
    for period, view in closes.items():
        assert view.created and view.status == "CLOSED", view
        statement = ClearingStatement.model_validate_json(view.payload)
        assert sum(n.net for n in statement.nets) == 0
        got = {(p.payer, p.payee): (p.fund_pay_sumamt, p.setl_cnt) for p in statement.pairs}
        want = {k: (v[0], int(v[1])) for k, v in expected[period].items()}
        assert got == want, period
    misplaced = await conn.fetchval(
        "SELECT count(*) FROM clearing_entries WHERE late OR period <> natural_period"
    )
    assert misplaced == 0

    # 5. The year-end rule: on 5 January 2027, December 2026 is CLOSED, not SETTLED,
    #    and must be cleared by 31 March 2027.
    (y,) = await year_end_status(PgClearingUnitOfWork(conn), dt.date(2027, 1, 5))
    assert (y.year, y.deadline) == (2026, dt.date(2027, 3, 31))
    assert (DEC, "national", "CLOSED") in y.unsettled

    # 6. January's prepayment re-set: each national flow of December (the only Q4
    #    month with traffic here) gets 2 x its December fund / 3, half-up to the fen.
    plan = await reset_prepayments(PgClearingUnitOfWork(conn), 2027, "national")
    sizes = {(p.payer, p.payee): p.amount_fen for p in plan}
    for pair, (fund, _n) in expected[DEC].items():
        fen = int(fund * 100)
        assert sizes[pair] == (2 * (2 * fen) + 3) // 6, pair
