"""The ledger's batch sink on the real PostgreSQL: idempotent, atomic with its positions."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import pytest

from services.ledger.adapters.pg_sink import LEDGER_COLUMNS, stored_positions, write_batch
from services.runtime.migrations import migrate

D = Decimal


def _row(
    setl_id: str, offset: int, fund: str = "600.00", payload: bytes = b"{}"
) -> tuple[object, ...]:
    total, hosp = D("1000.00"), D("0.00")
    fund_d = D(fund)
    person = total - fund_d - hosp
    values = {
        "setl_id": setl_id, "kind": "settlement", "orig_setl_id": None, "refd_setl_flag": 0,
        "ce_id": f"ce-{setl_id}", "mdtrt_id": f"M-{setl_id}", "medins_setl_id": f"H-{setl_id}",
        "psn_no": "33090000000001", "fixmedins_code": "H31000000001", "insuplc_admdvs": "330900",
        "mdtrtarea_admvs": "310000", "insutype": "310", "psn_type": "11", "med_type": "21",
        "clr_type": "21", "clr_way": "01", "clr_optins": "310000",
        "setl_time": datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
        "setl_date": date(2026, 11, 1),
        "medfee_sumamt": total, "fulamt_ownpay_amt": D("100.00"), "overlmt_selfpay": D("0.00"),
        "preselfpay_amt": D("50.00"), "inscp_scp_amt": D("850.00"), "act_pay_dedc": D("0.00"),
        "hifp_pay": fund_d, "cvlserv_pay": D("0"), "hifes_pay": D("0"), "hifmi_pay": D("0"),
        "hifob_pay": D("0"), "maf_pay": D("0"), "oth_pay": D("0"), "fund_pay_sumamt": fund_d,
        "psn_part_amt": person, "acct_pay": D("0"), "psn_cash_pay": person, "hosp_part_amt": hosp,
        "policy_version": "p1", "catalog_version": "c1", "payload": payload,
        "payload_sha256": hashlib.sha256(payload).digest(),
        "src_topic": "yidi.settlement.v1", "src_partition": 3, "src_offset": offset,
    }  # fmt: skip
    return tuple(values[c] for c in LEDGER_COLUMNS)


@pytest.fixture
async def ledger(pg: asyncpg.Connection) -> asyncpg.Connection:
    await migrate(pg)
    return pg


async def test_replayed_batch_lands_once(ledger: asyncpg.Connection, unique: str) -> None:
    group = f"it-ledger-{unique}"
    rows = [_row(f"S{unique}{i}", i) for i in range(50)]
    first = await write_batch(ledger, group, rows, {("yidi.settlement.v1", 3): 50})
    again = await write_batch(ledger, group, rows, {("yidi.settlement.v1", 3): 50})
    assert (first.inserted, first.already_present) == (50, 0)
    assert (again.inserted, again.already_present, again.conflicts) == (0, 50, 0)
    total = await ledger.fetchval(
        "SELECT sum(fund_pay_sumamt) FROM settlements WHERE setl_id LIKE $1", f"S{unique}%"
    )
    assert total == D("30000.00")
    assert await stored_positions(ledger, group, "yidi.settlement.v1", [3]) == {3: 50}


async def test_same_id_different_bytes_is_recorded_as_conflict(
    ledger: asyncpg.Connection, unique: str
) -> None:
    group = f"it-ledger-{unique}"
    await write_batch(ledger, group, [_row(f"C{unique}", 1, payload=b"a")], {})
    out = await write_batch(ledger, group, [_row(f"C{unique}", 2, payload=b"b")], {})
    assert (out.inserted, out.conflicts) == (0, 1)
    kept = await ledger.fetchval("SELECT payload FROM settlements WHERE setl_id = $1", f"C{unique}")
    assert kept == b"a", "the first landed row is never overwritten"


async def test_positions_never_move_backwards(ledger: asyncpg.Connection, unique: str) -> None:
    group = f"it-ledger-{unique}"
    await write_batch(ledger, group, [], {("t", 0): 100})
    await write_batch(ledger, group, [], {("t", 0): 40})  # a zombie's late batch
    assert await stored_positions(ledger, group, "t", [0, 1]) == {0: 100}


async def test_broken_identity_rolls_back_rows_and_positions(
    ledger: asyncpg.Connection, unique: str
) -> None:
    group = f"it-ledger-{unique}"
    good = _row(f"G{unique}", 1)
    bad = list(_row(f"B{unique}", 2))
    bad[LEDGER_COLUMNS.index("fund_pay_sumamt")] = D("1.00")  # no longer the sum of the funds
    with pytest.raises(asyncpg.CheckViolationError):
        await write_batch(ledger, group, [good, tuple(bad)], {("yidi.settlement.v1", 0): 2})
    assert (
        await ledger.fetchval("SELECT count(*) FROM settlements WHERE setl_id = $1", f"G{unique}")
        == 0
    )
    assert await stored_positions(ledger, group, "yidi.settlement.v1", [0]) == {}
