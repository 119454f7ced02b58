"""One realistic, valid message of every type — the golden examples' source.

Why code and not only JSON files: ``yidi contracts export`` writes the
golden files from here, tests compare the committed files with it, and the
codec bench uses the same settlement request. The people are synthetic: the
resident ID below has a valid check character but belongs to nobody.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus, FilingType
from contracts.common import Contract
from contracts.filing import FilingCreated, FilingRevoked, PersonStatus
from contracts.reference import Insurance, InsuredPerson
from contracts.samples_recon_clearing import recon_clearing_samples, recon_part_samples
from contracts.settlement import Reversed, SetlDetail, SetlInfo, Settled
from contracts.visit import (
    Discharged,
    FeeLine,
    FeesUploaded,
    FeesWithdrawn,
    PresettleRequested,
    ReversalRequested,
    SettlementRequested,
    VisitCancelled,
    VisitRegistered,
)

CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 10, 12, 9, 30, tzinfo=CST)
SHANGHAI_HOSPITAL = "H31010400001"
ZHOUSHAN_PSN = "33090000000000000001"
ZHOUSHAN_CERT = "330902195803120013"
HOME, TREATMENT = "330900", "310104"
MDTRT = "M3101040000000001"


def _header(infno: str, minute: int, fixmedins: str = SHANGHAI_HOSPITAL) -> dict[str, object]:
    at = T0 + dt.timedelta(minutes=minute)
    return {
        "msgid": f"{fixmedins}{at:%Y%m%d%H%M%S}{minute:04d}",
        "infno": infno,
        "fixmedins_code": fixmedins,
        "insuplc_admdvs": HOME,
        "mdtrtarea_admvs": TREATMENT,
        "inf_time": at,
        "psn_no": ZHOUSHAN_PSN,
        "mdtrt_id": MDTRT,
    }


def fee_lines(count: int = 10) -> tuple[FeeLine, ...]:
    """Inpatient lines of a Shanghai stay: bed-days, tests, drugs (illustrative prices)."""
    items = [
        ("120100001", "3", "80.00"), ("250101001", "2", "25.00"), ("310100010", "1", "560.00"),
        ("XA01AAA001", "14", "12.35"), ("XB05BAA002", "6", "38.50"), ("330100001", "1", "4200.00"),
    ]  # fmt: skip
    out = []
    for i in range(count):
        code, cnt, pric = items[i % len(items)]
        amount = (Decimal(cnt) * Decimal(pric)).quantize(Decimal("0.01"))
        out.append(
            FeeLine(
                feedetl_sn=f"{MDTRT}-{i + 1:04d}", med_list_codg=code, cnt=Decimal(cnt),
                pric=Decimal(pric), det_item_fee_sumamt=amount,
                fee_ocur_time=T0 + dt.timedelta(hours=i),
            )
        )  # fmt: skip
    return tuple(out)


def _setlinfo(setl_id: str) -> SetlInfo:
    d = Decimal
    return SetlInfo(
        mdtrt_id=MDTRT, setl_id=setl_id, psn_no=ZHOUSHAN_PSN, insutype="390", psn_type="15",
        med_type="21", setl_time=T0 + dt.timedelta(days=3),
        medfee_sumamt=d("30000.00"), fulamt_ownpay_amt=d("1200.00"), overlmt_selfpay=d("300.00"),
        preselfpay_amt=d("500.00"), inscp_scp_amt=d("28000.00"), act_pay_dedc=d("1000.00"),
        hifp_pay=d("16200.00"), pool_prop_selfpay=d("10800.00"), cvlserv_pay=d("0"),
        hifes_pay=d("0"), hifmi_pay=d("1800.00"), hifob_pay=d("0"), maf_pay=d("0"), oth_pay=d("0"),
        fund_pay_sumamt=d("18000.00"), psn_part_amt=d("12000.00"), acct_pay=d("0"),
        psn_cash_pay=d("12000.00"), hosp_part_amt=d("0"), balc=d("0"), acct_mulaid_pay=d("0"),
        medins_setl_id="SH20261015000123", clr_optins=HOME, clr_way="01", clr_type="21",
    )  # fmt: skip


def _setldetail() -> tuple[SetlDetail, ...]:
    d = Decimal
    return (
        SetlDetail(fund_pay_type="390100", inscp_scp_amt=d("27000.00"),
                   crt_payb_lmt_amt=d("300000.00"), fund_payamt=d("16200.00"),
                   setl_proc_info="ratio 60%"),
        SetlDetail(fund_pay_type="390200", inscp_scp_amt=d("28000.00"),
                   crt_payb_lmt_amt=d("100000.00"), fund_payamt=d("1800.00"),
                   setl_proc_info="critical illness above 25,000"),
    )  # fmt: skip


def _settled() -> Settled:
    return Settled(
        setlinfo=_setlinfo("S330900000000000001"), setldetail=_setldetail(),
        fixmedins_code=SHANGHAI_HOSPITAL, insuplc_admdvs=HOME, mdtrtarea_admvs=TREATMENT,
        setl_date=dt.date(2026, 10, 15), route="long_term", policy_version="p-330900-2026-0123abcd",
        catalog_version="c-310000-89ef4567", refd_setl_flag="0",
    )  # fmt: skip


def samples() -> dict[str, Contract]:
    """ce_type -> a valid message (a Zhoushan resident treated in Shanghai, unless noted)."""
    person = InsuredPerson(
        psn_no=ZHOUSHAN_PSN, certno=ZHOUSHAN_CERT,
        insuinfo=(Insurance(insutype="390", psn_type="15", insuplc_admdvs=HOME, status="active"),),
    )  # fmt: skip
    lines = fee_lines()
    total = sum((line.det_item_fee_sumamt for line in lines), start=Decimal(0))
    settled = _settled()
    reversed_ = Reversed(
        **{**settled.model_dump(), "setlinfo": _setlinfo("R330900000000000001"),
           "refd_setl_flag": "1", "orig_setl_id": "S330900000000000001"}
    )  # fmt: skip
    request = {
        "mdtrt_cert_type": "02", "mdtrt_cert_no": ZHOUSHAN_CERT, "medfee_sumamt": total,
        "psn_setlway": "01", "insutype": "390", "medins_setl_id": "SH20261015000123",
    }  # fmt: skip
    messages: list[Contract] = [
        PersonStatus(psn_no=ZHOUSHAN_PSN, insuplc_admdvs=HOME, inf_time=T0, person=person),
        FilingCreated(
            psn_no=ZHOUSHAN_PSN,
            insuplc_admdvs=HOME,
            inf_time=T0,
            filing_id="F3309002026000001",
            certno=ZHOUSHAN_CERT,
            filing_type=FilingType.RESETTLED_RETIREE,
            mdtrtarea_admvs="310000",
            begndate=dt.date(2026, 1, 1),
            channel="app",
        ),
        FilingRevoked(
            psn_no=ZHOUSHAN_PSN,
            insuplc_admdvs=HOME,
            inf_time=T0,
            filing_id="F3309002026000001",
            revoked_on=dt.date(2026, 12, 31),
            reason="returned home",
        ),
        VisitRegistered(
            **_header("2401", 0),
            med_type="21",
            insutype="390",
            begntime=T0,
            mdtrt_cert_type="02",
            mdtrt_cert_no=ZHOUSHAN_CERT,
            dise_codg=("I63.9",),
        ),
        VisitCancelled(**_header("2404", 1)),
        FeesUploaded(**_header("2301", 2), feedetail=lines),
        FeesWithdrawn(**_header("2302", 3), feedetl_sns=(lines[0].feedetl_sn,)),
        Discharged(**_header("2402", 4), endtime=T0 + dt.timedelta(days=3)),
        PresettleRequested(**_header("2303", 5), **request),
        SettlementRequested(**_header("2304", 6), **request),
        ReversalRequested(**_header("2305", 7), setl_id="S330900000000000001", reason="wrong bill"),
        settled,
        reversed_,
        Ack(
            ack_for="H31010400001-0000000006",
            ack_for_type=SettlementRequested.ce_type,
            msgid=str(_header("2304", 6)["msgid"]),
            sender=SHANGHAI_HOSPITAL,
            status=AckStatus.ACCEPTED,
            setl_id="S330900000000000001",
            result=settled,
            acked_at=T0 + dt.timedelta(minutes=6),
        ),
    ]
    rejected = Ack(
        ack_for="H31010400001-0000000009", ack_for_type=SettlementRequested.ce_type,
        sender=SHANGHAI_HOSPITAL, status=AckStatus.REJECTED,
        error=AckError(code="E_NO_FILING", message="no valid filing for 310104"),
        acked_at=T0,
    )  # fmt: skip
    messages.extend(recon_clearing_samples())
    messages.append(_alert())
    out = {type(m).ce_type: m for m in messages}
    out["cn.yidi.ack.result.v1#rejected"] = rejected
    out.update(recon_part_samples())
    return out


def _alert() -> Contract:
    from contracts.supervision import SupervisionAlert

    return SupervisionAlert(
        alert_id="A0f3c2b1d4e5f60718293a4b5c6d7e8f9",
        rule_id="SUP-READMIT-14",
        rule_kind="decomposed_hospitalization",
        rule_version="supervision-330900-19f082ab64dc98e6",
        severity="suspicious",
        subject_kind="person",
        subject=f"{HOME}:{ZHOUSHAN_PSN}",
        admdvs="330900",
        window_start=dt.date(2026, 10, 18),
        window_end=dt.date(2026, 10, 25),
        setl_ids=(),
        mdtrt_ids=("H310104000010000001", "H310104000010000002"),
        fixmedins_codes=(SHANGHAI_HOSPITAL,),
        amount=Decimal("12850.40"),
        detail="readmitted 7 days after discharge, same diagnosis I63.9",
    )


def sender_of(message: Contract) -> str:
    """Who signs a sample: the hospital for visit messages, the home agency otherwise."""
    if isinstance(participant := getattr(message, "participant", None), str):
        return f"AG{participant}"
    code = getattr(message, "fixmedins_code", None)
    return code if isinstance(code, str) and not hasattr(message, "setlinfo") else f"AG{HOME}"
