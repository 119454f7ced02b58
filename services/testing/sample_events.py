"""A small, deterministic stream of contract messages for the offline runner.

Why: the docs, the determinism tests and the bench need input that exercises
every path (person records, filings, zones, emergencies, pre-settlement,
settlement, reversal, re-settlement, rejections) without a simulator.
``events(n)`` repeats a fixed scenario for ``n`` persons per home region.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from pydantic import BaseModel

from contracts.filing import FilingCreated, PersonStatus
from contracts.visit import (
    Discharged,
    FeesUploaded,
    PresettleRequested,
    ReversalRequested,
    SettlementRequested,
    VisitRegistered,
)
from services.adjudication.core.adjudicator import SHANGHAI

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI)
CERT = "000000000000000000"  # placeholder certificate number, never a real one
HOMES = ("330900", "320509", "430100", "650000", "230100")


def message(
    ce_type: str, ce_id: str, at: dt.datetime, body: dict[str, Any], sender: str = "H31010400001"
) -> bytes:
    """One JSONL line: CloudEvents headers + body, canonical."""
    headers = {
        "ce_specversion": "1.0",
        "ce_id": ce_id,
        "ce_type": ce_type,
        "ce_source": f"urn:yidi:sender:{sender}",
        "ce_time": at.isoformat(),
    }
    return orjson.dumps({"headers": headers, "body": body}, option=orjson.OPT_SORT_KEYS)


def contract_line(model: BaseModel, ce_id: str, at: dt.datetime) -> bytes:
    """A contract message as a JSONL line, typed by its class's ``ce_type``; the sender
    is the institution for visit messages and the home agency for registrations."""
    ce_type: str = getattr(model, "ce_type")  # noqa: B009 - a ClassVar on the contract
    sender = getattr(model, "fixmedins_code", None) or f"AG{getattr(model, 'insuplc_admdvs', '')}"
    return message(ce_type, ce_id, at, model.model_dump(mode="json"), sender)


def header(infno: str, fixmedins_code: str, home: str, at: dt.datetime, seq: int) -> dict[str, Any]:
    """The national message header; the treatment division is the institution's."""
    treatment = {"H31011800001": "310118"}.get(fixmedins_code, "310104")
    return {
        "msgid": f"{fixmedins_code}{at:%Y%m%d%H%M%S}{seq % 10000:04d}",
        "infno": infno,
        "fixmedins_code": fixmedins_code,
        "insuplc_admdvs": home,
        "mdtrtarea_admvs": treatment,
        "inf_time": at,
    }


def settlement_request(
    psn_no: str, home: str, mdtrt_id: str, hosp: str, total: str, setl: str, at: dt.datetime,
    *, insutype: str, inpatient: bool = True, pre: bool = False, seq: int = 0,
) -> SettlementRequested:  # fmt: skip
    """A settlement (or pre-settlement) request as the hospital sends it."""
    cls = PresettleRequested if pre else SettlementRequested
    infno = {(True, False): "2304", (True, True): "2303", (False, False): "2207"}.get(
        (inpatient, pre), "2206"
    )
    return cls.model_validate(
        {
            **header(infno, hosp, home, at, seq),
            "psn_no": psn_no,
            "mdtrt_id": mdtrt_id,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": CERT,
            "medfee_sumamt": total,
            "psn_setlway": "01",
            "insutype": insutype,
            "acct_used_flag": "1",
            "medins_setl_id": setl,
        }
    )


def person_events(psn_no: str, home: str, insutype: str, poor: bool, n: int) -> list[bytes]:
    """One person's scenario: filing, an inpatient stay in Shanghai (pre-settled,
    settled, reversed, re-settled), an emergency visit in Qingpu with a wrong total
    first."""
    at = T0 + dt.timedelta(minutes=n)
    person = {
        "psn_no": psn_no, "certno": CERT, "poor": poor, "assistance_eligible": poor,
        "insuinfo": [{"insutype": insutype, "psn_type": "11" if insutype == "310" else "31",
                      "insuplc_admdvs": home, "status": "active",
                      "balc": "1500.00" if insutype == "310" else "0"}],
    }  # fmt: skip
    filing = {
        "filing_id": f"F{psn_no}", "psn_no": psn_no, "insuplc_admdvs": home, "inf_time": at,
        "certno": CERT, "filing_type": "referral", "mdtrtarea_admvs": "310000",
        "begndate": "2026-01-01", "enddate": "2026-07-31", "channel": "app",
    }  # fmt: skip
    status = {"psn_no": psn_no, "insuplc_admdvs": home, "inf_time": at, "person": person}
    out = [contract_line(PersonStatus.model_validate(status), f"{psn_no}-p", at)]
    out.append(contract_line(FilingCreated.model_validate(filing), f"{psn_no}-f", at))
    hosp, stay, key = "H31010400001", f"{psn_no}-IP", {"psn_no": psn_no}
    visit = {**header("2401", hosp, home, at, 1), **key, "mdtrt_id": stay, "med_type": "21",
             "insutype": insutype, "begntime": at, "mdtrt_cert_type": "02",
             "mdtrt_cert_no": CERT, "dise_codg": ["I25"]}  # fmt: skip
    out.append(contract_line(VisitRegistered.model_validate(visit), f"{psn_no}-1", at))
    surgery = f"{18000 + 997 * n}.00"
    fees = [
        ("1", "330100001", "1", surgery, surgery),
        ("2", "210300001", "2", "400.00", "800.00"),
        ("3", "C99990001", "1", "1200.00", "1200.00"),
    ]
    detail = [
        {"feedetl_sn": sn, "med_list_codg": code, "cnt": cnt, "pric": pric,
         "det_item_fee_sumamt": amt, "fee_ocur_time": at} for sn, code, cnt, pric, amt in fees
    ]  # fmt: skip
    upload = {**header("2301", hosp, home, at, 2), **key, "mdtrt_id": stay, "feedetail": detail}
    out.append(contract_line(FeesUploaded.model_validate(upload), f"{psn_no}-2", at))
    later = at + dt.timedelta(days=3)
    gone = {**header("2402", hosp, home, later, 3), **key, "mdtrt_id": stay, "endtime": later}
    out.append(contract_line(Discharged.model_validate(gone), f"{psn_no}-3", later))
    total = f"{18000 + 997 * n + 2000}.00"
    for ce, setl, pre in (("4", f"PRE{psn_no}", True), ("5", f"HS{psn_no}", False)):
        req = settlement_request(
            psn_no, home, stay, hosp, total, setl, later, insutype=insutype, pre=pre, seq=4
        )
        out.append(contract_line(req, f"{psn_no}-{ce}", later))
    rev = {**header("2305", hosp, home, later, 6), **key, "mdtrt_id": stay,
           "orig_medins_setl_id": f"HS{psn_no}"}  # fmt: skip
    out.append(contract_line(ReversalRequested.model_validate(rev), f"{psn_no}-6", later))
    again = settlement_request(
        psn_no, home, stay, hosp, total, f"HS{psn_no}B", later, insutype=insutype, seq=7
    )
    out.append(contract_line(again, f"{psn_no}-7", later))
    out.extend(_emergency(psn_no, home, insutype, later))
    return out


def _emergency(psn_no: str, home: str, insutype: str, at: dt.datetime) -> list[bytes]:
    qingpu, er = "H31011800001", f"{psn_no}-ER"
    visit = {**header("2201", qingpu, home, at, 8), "psn_no": psn_no, "mdtrt_id": er,
             "med_type": "13", "insutype": insutype, "begntime": at, "mdtrt_cert_type": "02",
             "mdtrt_cert_no": CERT}  # fmt: skip
    lines = [
        {"feedetl_sn": "1", "med_list_codg": "110200005", "cnt": "1", "pric": "40.00",
         "det_item_fee_sumamt": "40.00", "fee_ocur_time": at},
        {"feedetl_sn": "2", "med_list_codg": "XJ01DDA", "cnt": "3", "pric": "55.50",
         "det_item_fee_sumamt": "166.50", "fee_ocur_time": at},
    ]  # fmt: skip
    upload = {
        **header("2204", qingpu, home, at, 9),
        "psn_no": psn_no,
        "mdtrt_id": er,
        "feedetail": lines,
    }
    out = [
        contract_line(VisitRegistered.model_validate(visit), f"{psn_no}-8", at),
        contract_line(FeesUploaded.model_validate(upload), f"{psn_no}-9", at),
    ]
    for ce, total, setl in (("10", "200.00", f"ER{psn_no}X"), ("11", "206.50", f"ER{psn_no}")):
        req = settlement_request(
            psn_no, home, er, qingpu, total, setl, at, insutype=insutype, inpatient=False, seq=10
        )
        out.append(contract_line(req, f"{psn_no}-{ce}", at))
    return out


def events(per_home: int = 2) -> list[bytes]:
    """The scenario for ``per_home`` persons in each of five home regions."""
    out: list[bytes] = []
    for h, home in enumerate(HOMES):
        for n in range(per_home):
            insutype = "310" if n % 2 else "390"
            out.extend(person_events(f"{home}{n:06d}", home, insutype, poor=n % 3 == 2, n=h + n))
    return out
