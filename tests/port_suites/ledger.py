"""The ledger sink port's contract (``services.ledger.ports``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.ledger.adapters.pg_sink import LEDGER_COLUMNS
from services.ledger.ports import LedgerSink

D = Decimal
TOPIC = "yidi.settlement.v1"


def ledger_row(
    setl_id: str, offset: int, fund: str = "600.00", payload: bytes = b"{}"
) -> tuple[object, ...]:
    """A settlement row whose identities hold (the table's CHECK constraints)."""
    total, hosp, fund_d = D("1000.00"), D("0.00"), D(fund)
    person = total - fund_d - hosp
    values = {
        "setl_id": setl_id, "kind": "settlement", "orig_setl_id": None, "refd_setl_flag": 0,
        "ce_id": f"ce-{setl_id}", "mdtrt_id": f"M-{setl_id}", "medins_setl_id": f"H-{setl_id}",
        "psn_no": "33090000000001", "fixmedins_code": "H31000000001", "insuplc_admdvs": "330900",
        "mdtrtarea_admvs": "310000", "insutype": "310", "psn_type": "11", "med_type": "21",
        "clr_type": "21", "clr_way": "01", "clr_optins": "310000",
        "setl_time": datetime(2026, 10, 31, 23, 30, tzinfo=UTC), "setl_date": date(2026, 11, 1),
        "medfee_sumamt": total, "fulamt_ownpay_amt": D("100.00"), "overlmt_selfpay": D("0.00"),
        "preselfpay_amt": D("50.00"), "inscp_scp_amt": D("850.00"), "act_pay_dedc": D("0.00"),
        "hifp_pay": fund_d, "cvlserv_pay": D("0"), "hifes_pay": D("0"), "hifmi_pay": D("0"),
        "hifob_pay": D("0"), "maf_pay": D("0"), "oth_pay": D("0"), "fund_pay_sumamt": fund_d,
        "psn_part_amt": person, "acct_pay": D("0"), "psn_cash_pay": person, "hosp_part_amt": hosp,
        "policy_version": "p1", "catalog_version": "c1", "payload": payload,
        "payload_sha256": hashlib.sha256(payload).digest(),
        "src_topic": TOPIC, "src_partition": 3, "src_offset": offset,
    }  # fmt: skip
    return tuple(values[c] for c in LEDGER_COLUMNS)


class LedgerSinkContract:
    @pytest.fixture
    def sink(self) -> LedgerSink:
        raise NotImplementedError

    async def test_a_settlement_lands_once_first_by_offset(self, sink: LedgerSink) -> None:
        out = await sink.land(
            "g", [ledger_row("S2", 11), ledger_row("S1", 10), ledger_row("S1", 12)],
            {(TOPIC, 3): 13},
        )  # fmt: skip
        assert (out.inserted, out.already_present, out.conflicts) == (2, 1, 0)
        again = await sink.land("g", [ledger_row("S1", 10), ledger_row("S3", 14)], {(TOPIC, 3): 15})
        assert (again.inserted, again.already_present, again.conflicts) == (1, 1, 0)
        s1 = await sink.settlement("S1")
        assert s1 is not None and (s1["src_offset"], s1["fund_pay_sumamt"]) == (10, D("600.00"))
        assert await sink.settlement("S9") is None
        assert await sink.positions.stored("g", TOPIC, [3]) == {3: 15}

    async def test_other_bytes_for_a_landed_id_are_kept_aside_once(self, sink: LedgerSink) -> None:
        await sink.land("g", [ledger_row("S1", 1)], {(TOPIC, 3): 2})
        other = ledger_row("S1", 5, fund="500.00", payload=b'{"other": 1}')
        first = await sink.land("g", [other], {(TOPIC, 3): 6})
        second = await sink.land("g", [other], {(TOPIC, 3): 6})
        assert (first.inserted, first.conflicts, second.conflicts) == (0, 1, 0)
        assert await sink.conflicts("S1") == 1
        s1 = await sink.settlement("S1")
        assert s1 is not None and s1["fund_pay_sumamt"] == D("600.00"), "never overwritten"

    async def test_an_empty_batch_moves_the_positions(self, sink: LedgerSink) -> None:
        out = await sink.land("g", [], {(TOPIC, 0): 40, (TOPIC, 1): 7})
        assert (out.inserted, out.already_present, out.conflicts) == (0, 0, 0)
        assert await sink.positions.stored("g", TOPIC, [0, 1]) == {0: 40, 1: 7}
