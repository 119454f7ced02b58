"""Plan steps -> signed contract messages (and the deliberate bad ones).

Every message is deterministic for its step: ids, times and bytes come from
the plan, never from the clock, so a run can be written to a JSONL file and
fed to ``yidi adjudicate`` for an exact comparison with the pipeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import orjson

from contracts.codes import FilingType
from contracts.common import Contract
from contracts.filing import FilingCreated, PersonStatus
from contracts.money import from_fen
from contracts.reference import Insurance, InsuredPerson
from contracts.visit import (
    Discharged,
    FeeLine,
    FeesUploaded,
    PresettleRequested,
    ReversalRequested,
    SettlementRequested,
    VisitMessage,
    VisitRegistered,
)
from events.wire.codec import Codec
from events.wire.envelope import parse_headers
from events.wire.signing import compute_mac
from services.tools.simulator import bad
from services.tools.simulator.bad import LEGACY
from services.tools.simulator.plan import MED_TYPE, Step

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]
INFNO = {
    ("register", False): "2201", ("register", True): "2401",
    ("fees", False): "2204", ("fees", True): "2301",
    ("presettle", False): "2206", ("presettle", True): "2303",
    ("settle", False): "2207", ("settle", True): "2304",
    ("reverse", False): "2208", ("reverse", True): "2305",
    ("discharge", True): "2402",
}  # fmt: skip
FILING_TYPES = {"long_term": FilingType.RESETTLED_RETIREE, "referral": FilingType.REFERRAL,
                "other_temporary": FilingType.OTHER_TEMPORARY}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Built:
    """One message ready to send: where, what, and what the sender expects back."""

    topic: str
    record: Record
    ce_id: str
    sender: str
    ce_type: str
    step: Step
    bad: str | None = None


def _lines(step: Step) -> tuple[FeeLine, ...]:
    return tuple(
        FeeLine(
            feedetl_sn=i.feedetl_sn, med_list_codg=i.item_code, cnt=Decimal(i.cnt),
            pric=from_fen(i.pric_fen), det_item_fee_sumamt=from_fen(i.cnt * i.pric_fen),
            fee_ocur_time=step.at,
        )
        for i in step.items
    )  # fmt: skip


def _total(step: Step) -> Decimal:
    return from_fen(sum(i.cnt * i.pric_fen for i in step.items))


def _diagnoses(step: Step) -> tuple[str, ...]:
    """Planted stays (services/tools/simulator/fraud.py) name theirs; chronic visits are I10."""
    if planted := step.meta.get("dise_codg"):
        return tuple(planted.split(","))
    return ("I10",) if step.category == "chronic_outpatient" else ()


def message_for(step: Step) -> tuple[Contract, str]:
    """The contract message of a step and its sender id."""
    p = step.person
    if step.kind == "person":
        person = InsuredPerson(
            psn_no=p.psn_no, certno=p.certno, poor=p.poor, assistance_eligible=p.assistance_eligible,
            insuinfo=(Insurance(insutype=p.insutype, psn_type=p.psn_type, insuplc_admdvs=p.insuplc_admdvs,
                                status="active", balc=Decimal("3000.00") if p.insutype == "310" else Decimal(0)),),
        )  # fmt: skip
        return PersonStatus(
            psn_no=p.psn_no, insuplc_admdvs=p.insuplc_admdvs, inf_time=step.at, person=person
        ), (f"AG{p.insuplc_admdvs}")
    if step.kind == "filing":
        kind = FILING_TYPES[step.filing_kind]
        begin = step.at.date() - dt.timedelta(days=30)
        end = None if kind.policy_kind == "long_term" else begin + dt.timedelta(days=200)
        return FilingCreated(
            psn_no=p.psn_no, insuplc_admdvs=p.insuplc_admdvs, inf_time=step.at,
            filing_id=f"F{p.psn_no}", certno=p.certno, filing_type=kind,
            mdtrtarea_admvs=step.meta["target"], begndate=begin, enddate=end, channel="app",
        ), f"AG{p.insuplc_admdvs}"  # fmt: skip
    h = step.hospital
    assert h is not None
    inpatient = step.category == "inpatient"
    header = {
        "msgid": f"{h.fixmedins_code}{step.at:%Y%m%d%H%M%S}{step.seq % 10000:04d}",
        "infno": INFNO[(step.kind, inpatient)],
        "fixmedins_code": h.fixmedins_code, "insuplc_admdvs": p.insuplc_admdvs,
        "mdtrtarea_admvs": h.admdvs, "inf_time": step.at, "psn_no": p.psn_no, "mdtrt_id": step.mdtrt_id,
    }  # fmt: skip
    if step.kind == "register":
        med_type = (
            "13"
            if step.emergency and not inpatient
            else ("24" if step.emergency else MED_TYPE[step.category])
        )
        return VisitRegistered(
            **header, med_type=med_type, insutype=p.insutype, begntime=step.at, mdtrt_cert_type="02",
            mdtrt_cert_no=p.certno, dise_codg=_diagnoses(step),
        ), h.fixmedins_code  # fmt: skip
    if step.kind == "fees":
        return FeesUploaded(**header, feedetail=_lines(step)), h.fixmedins_code
    if step.kind == "discharge":
        return Discharged(**header, endtime=step.at), h.fixmedins_code
    if step.kind == "reverse":
        return ReversalRequested(
            **header, orig_medins_setl_id=step.medins_setl_id, reason="simulated"
        ), h.fixmedins_code
    request = {
        "mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno, "medfee_sumamt": _total(step),
        "psn_setlway": "01", "insutype": p.insutype, "medins_setl_id": step.medins_setl_id,
        "acct_used_flag": "1" if p.insutype == "310" else "0",
    }  # fmt: skip
    model = PresettleRequested if step.kind == "presettle" else SettlementRequested
    return model(**header, **request), h.fixmedins_code


def build(step: Step, codec: Codec, run_id: str) -> Built:
    message, sender = message_for(step)
    seq = step.duplicate_of if step.duplicate_of is not None else step.seq
    ce_id = f"{run_id}-{seq:08d}" + (f"-bad-{step.seq}" if step.corrupt else "")
    record = codec.encode(message, ce_id=ce_id, sender=sender, ce_time=step.at)
    topic = message.topic
    if step.corrupt in LEGACY:
        record = corrupt(record, step.corrupt, codec)
        if step.corrupt == "foreign_signed":
            sender = parse_headers(record[2]).sender  # its E_IDENTITY ack goes to the signer
    elif step.corrupt is not None:
        assert isinstance(message, VisitMessage), "bad variants are made of visit messages"
        topic, record, sender = bad.make(step.corrupt, record, message, codec, step.person.certno)
        if step.corrupt == "long_ce_id":
            ce_id = parse_headers(record[2]).ce_id
    elif step.extra_header:
        record = (record[0], record[1], [*record[2], bad.EXTRA_HEADER])
    return Built(topic, record, ce_id, sender, message.ce_type, step, step.corrupt)


def corrupt(record: Record, how: str, codec: Codec) -> Record:
    """A deliberately bad variant of a good message (for the DLQ share of a run)."""
    key, value, headers = record
    if how == "truncated":
        return key, value[: len(value) // 2], headers
    if how == "unsigned":
        return key, value, [(n, v) for n, v in headers if n not in ("yidi_kid", "yidi_mac")]
    if how == "foreign_signed":
        env = parse_headers(headers)
        other = next(
            k for k in sorted(codec.keys.senders()) if k != env.sender and not k.startswith("AG")
        )
        k = codec.keys.current(other, dt.datetime.fromisoformat(env.ce_time))
        src = f"urn:yidi:sender:{other}".encode()
        heads = [
            (n, src if n == "ce_source" else v)
            for n, v in headers
            if n not in ("yidi_kid", "yidi_mac")
        ]
        env2 = parse_headers(heads)
        return (
            key,
            value,
            [
                *heads,
                ("yidi_kid", k.kid.encode()),
                ("yidi_mac", compute_mac(k.secret, env2, value).encode()),
            ],
        )
    data = orjson.loads(value)
    if how == "bad_amount":
        field = "medfee_sumamt" if "medfee_sumamt" in data else "psn_no"
        data[field] = "-1.005" if field == "medfee_sumamt" else 12345
    elif "insutype" in data:  # unknown_code
        data["insutype"] = "999"
    else:
        data["mdtrt_id"] = "M" * 40
    value = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    env = parse_headers(headers)
    k = codec.keys.current(env.sender, dt.datetime.fromisoformat(env.ce_time))
    heads = [(n, v) for n, v in headers if n not in ("yidi_kid", "yidi_mac")]
    return (
        key,
        value,
        [
            *heads,
            ("yidi_kid", k.kid.encode()),
            ("yidi_mac", compute_mac(k.secret, env, value).encode()),
        ],
    )
