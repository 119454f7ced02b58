"""Reconciliation core: totals verdicts, the detail merge's verdicts and memos, answers,
request identity — and properties over arbitrary books."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.codes import RefdSetlFlag, StmtRslt
from contracts.recon import (
    DetailReconRequested,
    ReconDetailRow,
    ReconDiffCounts,
    ReconRowResult,
    ReconTotals,
    ReconVerdict,
)
from contracts.samples import samples
from services.recon.core.answers import (
    RESULT_ROWS_PER_PART,
    detail_answer,
    part_count,
    result_part,
)
from services.recon.core.detail import DetailMerge, compare_details
from services.recon.core.errors import BatchMismatch, MsgidReused, UnorderedStream
from services.recon.core.requests import (
    Arrival,
    Position,
    SeenRequest,
    answer_key,
    arrival,
    batch_sha256,
    body_sha256,
    check_batch,
)
from services.recon.core.rows import Amounts, HospitalRow, LedgerRow, Placement
from services.recon.core.totals import compare_totals

D = Decimal
DAY = dt.date(2026, 10, 12)
NORMAL, REFUND = RefdSetlFlag.NORMAL, RefdSetlFlag.REFUND


def ledger_row(n: int, fee: str = "100.00", fund: str = "60.00", acct: str = "0.00") -> LedgerRow:
    return LedgerRow(
        setl_id=f"S{n:08d}", refd_setl_flag=NORMAL, amounts=Amounts(D(fee), D(fund), D(acct)),
        mdtrt_id=f"M{n:08d}", psn_no=f"P{n:08d}", medins_setl_id=f"H{n:08d}", setl_date=DAY,
    )  # fmt: skip


def echo(row: LedgerRow) -> HospitalRow:
    """The hospital's row for a settlement its books agree on."""
    return HospitalRow(row.setl_id, row.refd_setl_flag, row.amounts, row.mdtrt_id, row.psn_no)


def totals(cnt: int, fee: str, fund: str, acct: str = "0.00") -> ReconTotals:
    return ReconTotals(
        fixmedins_setl_cnt=cnt, medfee_sumamt=D(fee), fund_pay_sumamt=D(fund), acct_pay=D(acct)
    )


# -- totals ------------------------------------------------------------------------------


def test_equal_totals_balance_and_say_what_was_counted() -> None:
    v = compare_totals(totals(57, "12345.00", "7407.00"), totals(57, "12345", "7407.0"))
    assert v.stmt_rslt == StmtRslt.BALANCED
    assert v.differing == ()
    assert v.dscr == (
        "balanced: 57 settlements, medfee_sumamt 12345.00, fund_pay_sumamt 7407.00, acct_pay 0.00"
    )


def test_differing_totals_are_named_with_both_values() -> None:
    v = compare_totals(totals(56, "12245.00", "7407.00"), totals(57, "12345.00", "7407.00"))
    assert v.stmt_rslt == StmtRslt.UNBALANCED
    assert v.differing == ("fixmedins_setl_cnt", "medfee_sumamt")
    assert v.dscr == (
        "unbalanced (yours/ledger): fixmedins_setl_cnt 56/57; medfee_sumamt 12245.00/12345.00"
    )


def test_description_too_long_for_values_still_names_every_total() -> None:
    big, other = "99999999999999.99", "99999999999999.98"
    v = compare_totals(totals(10**9, big, big, big), totals(10**9 - 1, other, other, other))
    assert len(v.dscr) <= 200
    assert v.dscr == (
        "unbalanced: fixmedins_setl_cnt, medfee_sumamt, fund_pay_sumamt, acct_pay differ"
    )


def test_deductions_are_reported_and_compared_when_the_hospital_states_them() -> None:
    ledger = totals(3, "900.00", "600.00").model_copy(update={"deduction_sumamt": D("80.00")})
    v = compare_totals(totals(3, "900.00", "600.00"), ledger)  # a 1.0 hospital: not compared
    assert v.stmt_rslt == StmtRslt.BALANCED
    assert v.dscr.endswith("acct_pay 0.00, deductions 80.00")
    mine = totals(3, "900.00", "600.00").model_copy(update={"deduction_sumamt": D("50.00")})
    v = compare_totals(mine, ledger)
    assert (v.stmt_rslt, v.differing) == (StmtRslt.UNBALANCED, ("deduction_sumamt",))
    assert v.dscr == "unbalanced (yours/ledger): deduction_sumamt 50.00/80.00"
    none_yet = totals(3, "900.00", "600.00").model_copy(update={"deduction_sumamt": D("0.00")})
    assert compare_totals(none_yet, totals(3, "900.00", "600.00")).stmt_rslt == StmtRslt.BALANCED


# -- details: the acceptance case --------------------------------------------------------


def test_books_missing_three_adding_one_differing_on_two_give_exactly_six_rows() -> None:
    ledger = [ledger_row(n) for n in range(1, 41)]
    books = {r.setl_id: echo(r) for r in ledger}
    for n in (3, 17, 40):
        del books[f"S{n:08d}"]
    books["S00000007X"] = HospitalRow(
        "S00000007X", NORMAL, Amounts(D("50"), D("30"), D("0")), "M9", "P9"
    )
    books["S00000011"] = replace(books["S00000011"], amounts=Amounts(D("100"), D("61.00"), D("0")))
    books["S00000025"] = replace(
        books["S00000025"], amounts=Amounts(D("99.50"), D("60.00"), D("5.00"))
    )
    merge = DetailMerge()
    rows = list(compare_details(sorted(books.values(), key=lambda r: r.setl_id), ledger, merge))
    by_id = {r.setl_id: r for r in rows}
    assert [r.setl_id for r in rows] == sorted(by_id)
    assert {k: v.verdict for k, v in by_id.items()} == {
        "S00000003": ReconVerdict.MISSING_IN_HOSPITAL,
        "S00000017": ReconVerdict.MISSING_IN_HOSPITAL,
        "S00000040": ReconVerdict.MISSING_IN_HOSPITAL,
        "S00000007X": ReconVerdict.MISSING_IN_LEDGER,
        "S00000011": ReconVerdict.AMOUNT_MISMATCH,
        "S00000025": ReconVerdict.AMOUNT_MISMATCH,
    }
    assert by_id["S00000003"].memo == (
        "not in your rows: settled 2026-10-12, medfee_sumamt 100.00, fund_pay_sumamt 60.00, "
        "acct_pay 0.00"
    )
    assert by_id["S00000003"].medins_setl_id == "H00000003", "so the hospital can find it"
    assert by_id["S00000007X"].memo == "not in the ledger"
    assert by_id["S00000007X"].medins_setl_id is None
    assert by_id["S00000011"].memo == "amounts differ (yours/ledger): fund_pay_sumamt 61.00/60.00"
    assert by_id["S00000025"].memo == (
        "amounts differ (yours/ledger): medfee_sumamt 99.50/100.00; acct_pay 5.00/0.00"
    )
    assert all(r.stmt_rslt == StmtRslt.UNBALANCED for r in rows)
    assert merge.tally.counts() == ReconDiffCounts(
        hosp_row_cnt=38, ledger_row_cnt=40, missing_in_ledger=1, missing_in_hospital=3,
        amount_mismatch=2,
    )  # fmt: skip


def test_reversed_on_one_side() -> None:
    settled = ledger_row(1)
    reversal = replace(
        ledger_row(2), setl_id="R00000001", refd_setl_flag=REFUND, orig_setl_id="S00000001"
    )
    flagged = ledger_row(3)
    ledger = sorted([settled, reversal, flagged], key=lambda r: r.setl_id)
    books = [
        echo(settled),
        replace(echo(flagged), refd_setl_flag=REFUND),
        HospitalRow("S00000009", REFUND, Amounts(D("10"), D("6"), D("0")), "M", "P"),
    ]
    rows = {r.setl_id: r for r in compare_details(books, ledger)}
    assert {k: r.verdict for k, r in rows.items()} == {
        "R00000001": ReconVerdict.REFUND_MISMATCH,
        "S00000003": ReconVerdict.REFUND_MISMATCH,
        "S00000009": ReconVerdict.REFUND_MISMATCH,
    }
    assert rows["R00000001"].memo.startswith(
        "not in your rows: reversal of S00000001 on 2026-10-12, reversed on our side only"
    )
    assert rows["S00000003"].memo == "refd_setl_flag yours 1, ledger 0: reversed on your side only"
    assert rows["S00000009"].memo == "refund not in the ledger: reversed on your side only"


def test_same_setl_id_for_another_visit_names_it_without_the_person_number() -> None:
    row = ledger_row(1)
    theirs = replace(
        echo(row), mdtrt_id="M-OTHER", psn_no="P-OTHER", amounts=Amounts(D("1"), D("0"), D("0"))
    )
    (result,) = compare_details([theirs], [row])
    assert result.verdict == ReconVerdict.VISIT_MISMATCH
    assert result.memo.startswith("mdtrt_id yours M-OTHER, ledger M00000001; psn_no differs; ")
    assert "P-OTHER" not in result.memo and "P00000001" not in result.memo
    assert "amounts differ (yours/ledger): medfee_sumamt 1.00/100.00" in result.memo


def test_a_row_the_ledger_keeps_in_another_slice_says_where() -> None:
    elsewhere = Placement(dt.date(2026, 11, 1), "310", "21")
    row = HospitalRow("S1", NORMAL, Amounts(D("1"), D("0"), D("0")), "M", "P", elsewhere)
    (result,) = compare_details([row], [])
    assert result.verdict == ReconVerdict.MISSING_IN_LEDGER
    assert result.memo == (
        "not in this slice: the ledger has it on 2026-11-01, insutype 310, clr_type 21"
    )


def test_memo_never_exceeds_the_contract_bound() -> None:
    big = "99999999999999.99"
    row = replace(ledger_row(1, big, big, big), mdtrt_id="M" * 30, refd_setl_flag=REFUND,
                  orig_setl_id="S" * 40)  # fmt: skip
    mine = replace(echo(row), mdtrt_id="N" * 30, psn_no="Q", refd_setl_flag=NORMAL,
                   amounts=Amounts(D(0), D(0), D(0)))  # fmt: skip
    results = list(compare_details([mine], [row])) + list(compare_details([], [row]))
    assert all(len(r.memo) <= 200 for r in results)
    assert results[0].memo.endswith("…")


@pytest.mark.parametrize("side", ["hospital", "ledger"])
def test_unordered_or_repeated_keys_are_refused(side: str) -> None:
    rows = [ledger_row(2), ledger_row(1)] if side == "ledger" else [ledger_row(1), ledger_row(1)]
    hospital = [echo(r) for r in rows] if side == "hospital" else []
    ledger = rows if side == "ledger" else []
    with pytest.raises(UnorderedStream, match=side):
        list(compare_details(hospital, ledger))


def test_the_merge_is_lazy_so_a_long_stream_never_sits_in_memory() -> None:
    def endless_ledger() -> Iterator[LedgerRow]:
        for n in itertools.count(1):
            yield ledger_row(n)

    first = list(itertools.islice(compare_details(iter([]), endless_ledger()), 3))
    assert [r.setl_id for r in first] == ["S00000001", "S00000002", "S00000003"]


# -- details: properties -----------------------------------------------------------------

amount = st.integers(0, 10**9).map(lambda fen: (D(fen) / 100).quantize(D("0.01")))
ids = st.sets(st.text("0123456789ABCDEFR-", min_size=1, max_size=6), max_size=40)


@st.composite
def books_and_ledger(draw: st.DrawFn) -> tuple[list[HospitalRow], list[LedgerRow]]:
    ledger_ids, hospital_ids = draw(ids), draw(ids)
    ledger: dict[str, LedgerRow] = {}
    for sid in sorted(ledger_ids):
        ledger[sid] = LedgerRow(
            sid, draw(st.sampled_from(RefdSetlFlag)), Amounts(draw(amount), draw(amount), draw(amount)),
            draw(st.sampled_from(["M1", "M2"])), "P1", "H1", DAY,
        )  # fmt: skip
    hospital = []
    for sid in sorted(
        hospital_ids | set(draw(st.sets(st.sampled_from(sorted(ledger_ids) or ["x"]))))
    ):
        base = ledger.get(sid)
        if base is not None and draw(st.booleans()):
            hospital.append(echo(base))
        else:
            hospital.append(
                HospitalRow(
                    sid, draw(st.sampled_from(RefdSetlFlag)),
                    Amounts(draw(amount), draw(amount), draw(amount)),
                    draw(st.sampled_from(["M1", "M2"])), "P1",
                )
            )  # fmt: skip
    return hospital, list(ledger.values())


def _differs(h: HospitalRow, lrow: LedgerRow) -> bool:
    return (h.refd_setl_flag, h.amounts, h.mdtrt_id, h.psn_no) != (
        lrow.refd_setl_flag, lrow.amounts, lrow.mdtrt_id, lrow.psn_no,
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(books_and_ledger())
def test_verdicts_cover_exactly_the_symmetric_difference_plus_mismatches(
    sides: tuple[list[HospitalRow], list[LedgerRow]],
) -> None:
    hospital, ledger = sides
    h, lg = {r.setl_id: r for r in hospital}, {r.setl_id: r for r in ledger}
    merge = DetailMerge()
    rows = list(compare_details(hospital, ledger, merge))
    got = [r.setl_id for r in rows]
    want = (h.keys() ^ lg.keys()) | {k for k in h.keys() & lg.keys() if _differs(h[k], lg[k])}
    assert got == sorted(want), "each unbalanced setl_id once, in setl_id order"
    for r in rows:
        if r.setl_id not in lg:
            assert r.verdict in (ReconVerdict.MISSING_IN_LEDGER, ReconVerdict.REFUND_MISMATCH)
        elif r.setl_id not in h:
            assert r.verdict in (ReconVerdict.MISSING_IN_HOSPITAL, ReconVerdict.REFUND_MISMATCH)
            assert r.medins_setl_id == "H1"
    counts = merge.tally.counts()
    assert (counts.hosp_row_cnt, counts.ledger_row_cnt) == (len(hospital), len(ledger))
    assert counts.diff_cnt == len(rows)


@settings(max_examples=80, deadline=None)
@given(books_and_ledger())
def test_a_hospital_echoing_the_ledger_is_balanced(
    sides: tuple[list[HospitalRow], list[LedgerRow]],
) -> None:
    _, ledger = sides
    merge = DetailMerge()
    assert list(compare_details([echo(r) for r in ledger], ledger, merge)) == []
    counts = merge.tally.counts()
    assert counts.diff_cnt == 0 and counts.hosp_row_cnt == counts.ledger_row_cnt == len(ledger)
    assert detail_answer(
        _detail(), request_msgid=_detail().msgid, counts=counts,
        answered_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC), ledger_version=None,
    )[0].stmt_rslt == StmtRslt.BALANCED  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(books_and_ledger())
def test_stepping_by_hand_equals_the_iterator_driver(
    sides: tuple[list[HospitalRow], list[LedgerRow]],
) -> None:
    hospital, ledger = sides
    merge = DetailMerge()
    hi, li, out = 0, 0, []
    while hi < len(hospital) or li < len(ledger):
        step = merge.step(
            hospital[hi] if hi < len(hospital) else None, ledger[li] if li < len(ledger) else None
        )
        assert step.take_hospital or step.take_ledger
        out.extend([step.verdict] if step.verdict else [])
        hi += step.take_hospital
        li += step.take_ledger
    assert out == list(compare_details(hospital, ledger))


# -- answers -----------------------------------------------------------------------------


def _detail(**changes: object) -> DetailReconRequested:
    base = samples()[DetailReconRequested.ce_type]
    return DetailReconRequested.model_validate({**base.model_dump(), **changes})


def test_detail_answer_says_how_many_rows_differ_and_why() -> None:
    counts = ReconDiffCounts(
        hosp_row_cnt=38, ledger_row_cnt=40, missing_in_ledger=1, missing_in_hospital=3,
        amount_mismatch=2,
    )  # fmt: skip
    request = _detail(batch_id="B-1", part_no=2, part_cnt=3)
    at = dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)
    head, summary = detail_answer(
        request, request_msgid="H31011800001202611020800000001", counts=counts, answered_at=at,
        ledger_version="offsets-10",
    )  # fmt: skip
    assert head.stmt_rslt == summary.stmt_rslt == StmtRslt.UNBALANCED
    assert head.stmt_rslt_dscr == (
        "unbalanced: 6 rows differ (missing_in_ledger 1, missing_in_hospital 3, "
        "amount_mismatch 2); your rows 38, ledger rows 40"
    )
    assert (head.batch_id, head.rows, head.diff_cnts) == ("B-1", (), counts)
    assert summary.participant == request.mdtrtarea_admvs
    assert summary.diff_cnts == counts and summary.ledger_totals is None


def test_answer_parts_hold_at_most_the_part_size_and_repeat_the_verdict() -> None:
    assert [part_count(n) for n in (0, 1, RESULT_ROWS_PER_PART, RESULT_ROWS_PER_PART + 1)] == [
        1, 1, 1, 2,
    ]  # fmt: skip
    counts = ReconDiffCounts(hosp_row_cnt=3, ledger_row_cnt=0, missing_in_ledger=3)
    head, _ = detail_answer(
        _detail(), request_msgid=_detail().msgid, counts=counts,
        answered_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC), ledger_version=None,
    )  # fmt: skip
    rows = [
        ReconRowResult(setl_id=f"S{i}", stmt_rslt=StmtRslt.UNBALANCED,
                       verdict=ReconVerdict.MISSING_IN_LEDGER, memo="not in the ledger")
        for i in range(3)
    ]  # fmt: skip
    parts = [result_part(head, rows[i : i + 2], n, 2) for n, i in enumerate((0, 2), start=1)]
    assert [len(p.rows) for p in parts] == [2, 1]
    assert [(p.part_no, p.part_cnt) for p in parts] == [(1, 2), (2, 2)]
    assert all(p.stmt_rslt_dscr == head.stmt_rslt_dscr for p in parts)


# -- request identity --------------------------------------------------------------------


def test_a_request_is_new_redelivered_resent_or_a_reused_msgid() -> None:
    request = _detail()
    body, at = body_sha256(request), Position("yidi.recon.v1", 2, 40)
    assert arrival(None, body, at) == Arrival.NEW
    seen = SeenRequest(body, at)
    assert arrival(seen, body, at) == Arrival.REDELIVERY
    assert arrival(seen, body, Position("yidi.recon.v1", 2, 41)) == Arrival.RESEND
    other = body_sha256(_detail(setl_optins="310100"))
    with pytest.raises(MsgidReused) as info:
        arrival(seen, other, at)
    assert info.value.code == "E_RECON_MSGID_REUSED"


def test_parts_of_a_batch_must_share_its_slice_and_size() -> None:
    first = _detail(batch_id="B-1", part_no=1, part_cnt=3)
    assert answer_key(first) == "b:B-1" and answer_key(_detail()) == f"m:{_detail().msgid}"
    check_batch(batch_sha256(first), _detail(batch_id="B-1", part_no=3, part_cnt=3,
                                             msgid="H31011800001202611020800009999"))  # fmt: skip
    for change in ({"part_cnt": 4}, {"insutype": "310"}, {"stmt_enddate": dt.date(2026, 10, 30)}):
        part = {"batch_id": "B-1", "part_no": 2, "part_cnt": 3, **change}
        with pytest.raises(BatchMismatch):
            check_batch(batch_sha256(first), _detail(**part))


def test_detail_rows_become_hospital_rows_unchanged() -> None:
    row = ReconDetailRow(
        psn_no="P1", mdtrt_id="M1", setl_id="S1", msgid="H31011800001202610120930000001",
        medfee_sumamt=D("1.5"), fund_pay_sumamt=D("1"), acct_pay=D("0"), refd_setl_flag="1",
    )  # fmt: skip
    h = HospitalRow.of(row)
    assert (h.setl_id, h.refd_setl_flag, h.mdtrt_id, h.psn_no) == ("S1", REFUND, "M1", "P1")
    assert h.amounts == Amounts(D("1.50"), D("1.00"), D("0.00"))
