"""Reconciliation contracts, minor 1.1: multi-part requests and answers, verdicts, summaries —
and 1.0 messages still read unchanged."""

from __future__ import annotations

import orjson
import pytest

from contracts.codes import StmtRslt
from contracts.recon import (
    DetailReconRequested,
    ReconDiffCounts,
    ReconResult,
    ReconSummary,
    ReconVerdict,
    TotalsReconRequested,
)
from contracts.samples import samples
from events.wire.codec import Codec, canonical_bytes
from events.wire.errors import DecodeError

SAMPLES = samples()
CODEC = Codec()
NEW_DETAIL_FIELDS = ("batch_id", "part_no", "part_cnt")
NEW_RESULT_FIELDS = ("batch_id", "part_no", "part_cnt", "diff_cnts")


def _body(name: str, drop: tuple[str, ...] = (), **changes: object) -> bytes:
    doc = orjson.loads(canonical_bytes(SAMPLES[name]))
    for field in drop:
        doc.pop(field, None)
    for row in doc.get("rows", ()):
        for field in ("verdict", "mdtrt_id", "medins_setl_id"):
            if field in drop:
                row.pop(field, None)
    doc.update(changes)
    return orjson.dumps(doc)


def _error(ce_type: str, body: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        CODEC.validate_body(ce_type, body)
    return info.value


def test_a_10_detail_request_reads_as_one_whole_part() -> None:
    msg = CODEC.validate_body(
        DetailReconRequested.ce_type, _body(DetailReconRequested.ce_type, NEW_DETAIL_FIELDS)
    )
    assert isinstance(msg, DetailReconRequested)
    assert (msg.batch_id, msg.part_no, msg.part_cnt) == (None, 1, 1)


def test_a_10_result_reads_unchanged() -> None:
    drop = (*NEW_RESULT_FIELDS, "verdict", "mdtrt_id", "medins_setl_id")
    msg = CODEC.validate_body(ReconResult.ce_type, _body(ReconResult.ce_type, drop))
    assert isinstance(msg, ReconResult)
    assert msg.rows[1].verdict is None and msg.diff_cnts is None and msg.part_cnt == 1
    assert msg == SAMPLES[ReconResult.ce_type]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"batch_id": "B1", "part_no": 3, "part_cnt": 2}, "part_no"),
        ({"part_no": 1, "part_cnt": 2}, "batch_id"),
        ({"batch_id": "B1", "part_no": 0, "part_cnt": 2}, "part_no"),
        ({"batch_id": "B1", "part_no": 1, "part_cnt": 1001}, "part_cnt"),
    ],
)
def test_a_part_belongs_to_a_named_batch_within_its_size(
    changes: dict[str, object], field: str
) -> None:
    err = _error(DetailReconRequested.ce_type, _body(DetailReconRequested.ce_type, **changes))
    assert err.field == field


def test_a_row_with_a_verdict_is_unbalanced() -> None:
    name = f"{ReconResult.ce_type}#part"
    doc = orjson.loads(_body(name))
    doc["rows"][0]["stmt_rslt"] = "0"
    assert _error(ReconResult.ce_type, orjson.dumps(doc)).code == "E_RULE"


def test_the_verdict_agrees_with_the_counts() -> None:
    name = f"{ReconResult.ce_type}#part"
    balanced = {"stmt_rslt": "0", "rows": []}
    assert _error(ReconResult.ce_type, _body(name, **balanced)).field == "stmt_rslt"
    none_differ = ReconDiffCounts(hosp_row_cnt=5, ledger_row_cnt=5).model_dump(mode="json")
    assert _error(ReconResult.ce_type, _body(name, diff_cnts=none_differ)).field == "stmt_rslt"
    over = {"hosp_row_cnt": 1, "ledger_row_cnt": 0, "missing_in_ledger": 2}
    assert _error(ReconResult.ce_type, _body(name, diff_cnts=over)).code == "E_RULE"


def test_a_totals_answer_is_one_part_without_rows_or_counts() -> None:
    name = f"{ReconResult.ce_type}#part"
    assert _error(ReconResult.ce_type, _body(name, request_infno="3201")).code == "E_RULE"


def test_summary_travels_to_the_clearing_center_keyed_by_the_treatment_region() -> None:
    summary = SAMPLES[ReconSummary.ce_type]
    assert isinstance(summary, ReconSummary)
    key, value, _ = CODEC.encode(
        summary, ce_id="s-1", sender="yidi-recon", ce_time=summary.answered_at, sign=False
    )
    assert (ReconSummary.topic, key) == ("yidi.clearing.v1", b"310118")
    headers = CODEC.encode(
        summary, ce_id="s-1", sender="yidi-recon", ce_time=summary.answered_at, sign=False
    )[2]
    with pytest.raises(DecodeError) as info:
        CODEC.decode(b"310000", value, headers)
    assert info.value.code == "E_KEY"
    totals_only = {"diff_cnts": None, "hospital_totals": None}
    assert _error(ReconSummary.ce_type, _body(ReconSummary.ce_type, **totals_only)).field == (
        "ledger_totals"
    )
    details = {"request_infno": "3202", "refd_setl_flag": None}
    assert _error(ReconSummary.ce_type, _body(ReconSummary.ce_type, **details)).field == (
        "diff_cnts"
    )


def test_answers_go_to_the_hospitals_ack_topic_not_the_request_topic() -> None:
    assert ReconResult.topic == "yidi.ack.v1.<sender>"
    assert TotalsReconRequested.topic == DetailReconRequested.topic == "yidi.recon.v1"
    assert {v.value for v in ReconVerdict} == {
        "missing_in_ledger", "missing_in_hospital", "amount_mismatch", "refund_mismatch",
        "visit_mismatch",
    }  # fmt: skip
    assert StmtRslt.UNBALANCED.value == "1"
