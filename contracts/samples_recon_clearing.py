"""Golden reconciliation and clearing messages: a Qingpu (310118) hospital that treated
Wujiang (320509) patients reconciles October 2026, and October's national clearing
table in which Zhejiang and Jiangsu pay Shanghai. Amounts are illustrative."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from contracts.clearing import (
    AuditDeduction,
    ClearingConfirmed,
    ClearingStatement,
    DeductionReason,
    NetPosition,
    PeriodCommand,
    PositionUpdated,
    PrepaymentWarning,
    StatementPair,
)
from contracts.codes import ClearingStatus, StmtRslt
from contracts.common import Contract
from contracts.recon import (
    DetailReconRequested,
    ReconDetailRow,
    ReconDiffCounts,
    ReconResult,
    ReconRowResult,
    ReconSummary,
    ReconTotals,
    ReconVerdict,
    TotalsReconRequested,
)

CST = dt.timezone(dt.timedelta(hours=8))
T1 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=CST)
QINGPU_HOSPITAL = "H31011800001"
WUJIANG_PSN = "32050900000000000007"


def _recon_header(infno: str, seq: int) -> dict[str, object]:
    return {
        "msgid": f"{QINGPU_HOSPITAL}{T1:%Y%m%d%H%M%S}{seq:04d}", "infno": infno,
        "fixmedins_code": QINGPU_HOSPITAL, "mdtrtarea_admvs": "310118", "inf_time": T1,
        "setl_optins": "310000", "insutype": "390", "clr_type": "11",
        "stmt_begndate": dt.date(2026, 10, 1), "stmt_enddate": dt.date(2026, 10, 31),
    }  # fmt: skip


def _rows() -> tuple[ReconDetailRow, ...]:
    return tuple(
        ReconDetailRow(
            psn_no=WUJIANG_PSN,
            mdtrt_id=f"M31011800000{n:05d}",
            setl_id=f"S31011800000{n:05d}",
            msgid=f"{QINGPU_HOSPITAL}2026101{n}093000{n:04d}",
            medfee_sumamt=Decimal(fee),
            fund_pay_sumamt=Decimal(fund),
            acct_pay=Decimal("0.00"),
            refd_setl_flag="0",
        )
        for n, (fee, fund) in enumerate((("286.40", "171.84"), ("95.00", "57.00")), start=1)
    )


def recon_clearing_samples() -> list[Contract]:
    """One valid message of every reconciliation and clearing type."""
    rows = _rows()
    mine = ReconTotals(
        medfee_sumamt=Decimal("381.40"), fund_pay_sumamt=Decimal("228.84"),
        acct_pay=Decimal("0.00"), fixmedins_setl_cnt=2,
    )  # fmt: skip
    ledger = mine.model_copy(
        update={"medfee_sumamt": Decimal("286.40"), "fund_pay_sumamt": Decimal("171.84"),
                "fixmedins_setl_cnt": 1}
    )  # fmt: skip
    pairs = (
        StatementPair(payer="330000", payee="310000", fund_pay_sumamt=Decimal("1634000.00"),
                      deduction=Decimal("1200.00"), setl_cnt=412),
        StatementPair(payer="320000", payee="310000", fund_pay_sumamt=Decimal("2210500.50"),
                      deduction=Decimal("0.00"), setl_cnt=1530),
        StatementPair(payer="310000", payee="330000", fund_pay_sumamt=Decimal("80400.00"),
                      deduction=Decimal("0.00"), setl_cnt=57),
    )  # fmt: skip
    nets = (
        NetPosition(participant="310000", net=Decimal("3762900.50")),
        NetPosition(participant="320000", net=Decimal("-2210500.50")),
        NetPosition(participant="330000", net=Decimal("-1552400.00")),
    )
    national = {"period": "2026-10", "scope": "national"}
    return [
        TotalsReconRequested(**_recon_header("3201", 1), refd_setl_flag="0", totals=mine),
        DetailReconRequested(**_recon_header("3202", 2), rows=rows),
        ReconResult(
            request_msgid=f"{QINGPU_HOSPITAL}{T1:%Y%m%d%H%M%S}0002", request_infno="3202",
            fixmedins_code=QINGPU_HOSPITAL, stmt_rslt=StmtRslt.UNBALANCED,
            stmt_rslt_dscr="1 of 2 rows not in the ledger", ledger_totals=ledger,
            rows=(ReconRowResult(setl_id=rows[0].setl_id, stmt_rslt=StmtRslt.BALANCED),
                  ReconRowResult(setl_id=rows[1].setl_id, stmt_rslt=StmtRslt.UNBALANCED,
                                 memo="setl_id not in the ledger")),
            answered_at=T1 + dt.timedelta(seconds=2),
        ),
        ReconSummary(
            participant="310118", fixmedins_code=QINGPU_HOSPITAL, setl_optins="310000",
            request_msgid=f"{QINGPU_HOSPITAL}{T1:%Y%m%d%H%M%S}0001", request_infno="3201",
            insutype="390", clr_type="11", stmt_begndate=dt.date(2026, 10, 1),
            stmt_enddate=dt.date(2026, 10, 31), refd_setl_flag="0", stmt_rslt=StmtRslt.UNBALANCED,
            stmt_rslt_dscr="unbalanced (yours/ledger): fixmedins_setl_cnt 2/1",
            hospital_totals=mine, ledger_totals=ledger, answered_at=T1 + dt.timedelta(seconds=1),
        ),
        PositionUpdated(
            participant="330000", **national, home="330000", treatment="310000",
            medfee_sumamt=Decimal("3268400.00"), fund_pay_sumamt=Decimal("1634000.00"),
            setl_cnt=412, late_cnt=3, as_of=T1,
        ),
        PrepaymentWarning(
            participant="330000", **national, home="330000", treatment="310000",
            prepayment=Decimal("2000000.00"), clearing_amt=Decimal("1634000.00"),
            level="yellow", threshold="0.70", raised_at=T1,
        ),
        PeriodCommand(
            participant="000000", **national, command="close", issued_by="calendar",
            issued_at=dt.datetime(2026, 11, 21, 0, 0, tzinfo=CST), reason="Art. 46: tables on the 21st",
        ),
        ClearingStatement(
            participant="000000", **national, statement_id="CS-2026-10-NATIONAL",
            status=ClearingStatus.APPLIED, pairs=pairs, nets=nets,
            issued_at=dt.datetime(2026, 11, 21, 0, 5, tzinfo=CST),
        ),
        ClearingConfirmed(
            participant="330000", **national, statement_id="CS-2026-10-NATIONAL",
            net=Decimal("-1552400.00"), confirmed_at=dt.datetime(2026, 11, 24, 16, 0, tzinfo=CST),
        ),
        AuditDeduction(
            participant="310000", deduction_id="DED-310000-2026-11-0001",
            setl_id="S3101042026101200001", amount=Decimal("1280.00"),
            reason=DeductionReason.DUPLICATE_BILLING, alert_id="alert-5f1c0d2a9b7e3c41",
            memo="CT billed twice on one day", issued_at=dt.datetime(2026, 11, 18, 10, 0, tzinfo=CST),
        ),
    ]  # fmt: skip


def recon_part_samples() -> dict[str, Contract]:
    """Minor 1.1 of reconciliation: part 2 of a 3-part detail request, and part 1 of its
    2-part answer listing only unbalanced rows with their verdicts."""
    rows = _rows()
    batch = f"{QINGPU_HOSPITAL}{T1:%Y%m%d%H%M%S}0003"
    part = DetailReconRequested(
        **_recon_header("3202", 4), rows=rows[1:], batch_id=batch, part_no=2, part_cnt=3
    )
    counts = ReconDiffCounts(
        hosp_row_cnt=12000, ledger_row_cnt=12001, missing_in_hospital=1, amount_mismatch=1
    )
    answer = ReconResult(
        request_msgid=batch, request_infno="3202", fixmedins_code=QINGPU_HOSPITAL,
        stmt_rslt=StmtRslt.UNBALANCED, batch_id=batch, part_no=1, part_cnt=2, diff_cnts=counts,
        stmt_rslt_dscr="unbalanced: 2 of 12001 rows differ (missing_in_hospital 1, amount_mismatch 1)",
        rows=(ReconRowResult(setl_id=rows[0].setl_id, stmt_rslt=StmtRslt.UNBALANCED,
                             verdict=ReconVerdict.AMOUNT_MISMATCH, mdtrt_id=rows[0].mdtrt_id,
                             memo="amounts differ (yours/ledger): fund_pay_sumamt 171.84/171.48"),),
        answered_at=T1 + dt.timedelta(minutes=3), ledger_version="offsets-48213",
    )  # fmt: skip
    return {
        f"{DetailReconRequested.ce_type}#part": part,
        f"{ReconResult.ce_type}#part": answer,
    }
