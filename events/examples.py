"""The golden examples published with the contracts: valid messages signed as on the wire,
and invalid ones with the error a processor must answer.

Why here and not in ``contracts/``: signing needs the codec and the demo keys, which live in
``events/`` (contracts import nothing above them); ``yidi contracts export`` writes both.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.export import EXAMPLE_EPOCH, all_artifacts, dump_artifact
from contracts.registry import SENDER_SIGNED
from contracts.samples import samples, sender_of
from events import catalog
from events.wire.demo_keys import demo_codec

INVALID_EXAMPLES: tuple[tuple[str, str, dict[str, Any], str, str | None], ...] = (
    # name, ce_type, top-level fields to replace (None deletes), expected code, expected field
    ("negative-amount", "cn.yidi.visit.settlement_requested.v1", {"medfee_sumamt": "-120.00"}, "E_AMOUNT", "medfee_sumamt"),
    ("over-precise-amount", "cn.yidi.visit.settlement_requested.v1", {"medfee_sumamt": "120.001"}, "E_AMOUNT", "medfee_sumamt"),
    ("unknown-insutype", "cn.yidi.visit.settlement_requested.v1", {"insutype": "311"}, "E_UNKNOWN_CODE", "insutype"),
    ("missing-psn-no", "cn.yidi.visit.settlement_requested.v1", {"psn_no": None}, "E_MISSING_FIELD", "psn_no"),
    ("admdvs-not-6-digits", "cn.yidi.visit.registered.v1", {"mdtrtarea_admvs": "3101"}, "E_FORMAT", "mdtrtarea_admvs"),
    ("wrong-infno", "cn.yidi.visit.discharged.v1", {"infno": "2401"}, "E_RULE", "infno"),
    ("extra-field", "cn.yidi.filing.created.v1", {"nickname": "x"}, "E_EXTRA_FIELD", "nickname"),
    ("funds-do-not-add-up", "cn.yidi.settlement.settled.v1", {"setlinfo.hifp_pay": "16200.01"}, "E_RULE", None),
    ("recon-range-reversed", "cn.yidi.recon.totals_requested.v1", {"stmt_enddate": "2026-09-30"}, "E_RULE", "stmt_enddate"),
    ("recon-negative-count", "cn.yidi.recon.totals_requested.v1", {"totals.fixmedins_setl_cnt": -1},
     "E_AMOUNT", "totals.fixmedins_setl_cnt"),
    ("recon-part-beyond-count", "cn.yidi.recon.detail_requested.v1",
     {"batch_id": "B1", "part_no": 3, "part_cnt": 2}, "E_RULE", "part_no"),
    ("clearing-bad-period", "cn.yidi.clearing.position_updated.v1", {"period": "2026-13"}, "E_FORMAT", "period"),
    ("warning-below-threshold", "cn.yidi.clearing.prepayment_warning.v1", {"clearing_amt": "100.00"}, "E_RULE", "clearing_amt"),
)  # fmt: skip


def golden_examples() -> dict[str, str]:
    """Valid examples (signed with demo keys) and invalid ones with their expected error."""
    found = samples()
    codec = demo_codec({sender_of(m) for m in found.values()})
    out: dict[str, str] = {}
    bodies: dict[str, dict[str, Any]] = {}
    for name, message in sorted(found.items()):
        sender = sender_of(message)
        signed = name.split("#")[0] in SENDER_SIGNED
        when = getattr(message, "inf_time", None) or getattr(message, "acked_at", None)
        key, value, headers = codec.encode(
            message, ce_id=f"example-{name.replace('#', '-')}", sender=sender if signed else catalog.ADJUDICATION_ID,
            ce_time=when or EXAMPLE_EPOCH, sign=signed,
        )  # fmt: skip
        body = json.loads(value)
        bodies[name] = body
        doc = {
            "key": key.decode() if key else None,
            "headers": {k: v.decode() for k, v in headers},
            "body": body,
        }
        out[f"examples/valid/{name.replace('#', '-')}.json"] = dump_artifact(doc)
    for name, ce_type, changes, code, field in INVALID_EXAMPLES:
        body = json.loads(json.dumps(bodies[ce_type]))
        for path, value in changes.items():
            node = body
            *parents, last = path.split(".")
            for p in parents:
                node = node[p]
            if value is None:
                node.pop(last, None)
            else:
                node[last] = value
        doc = {"type": ce_type, "body": body, "expect": {"code": code, "field": field}}
        out[f"examples/invalid/{name}.json"] = dump_artifact(doc)
    return out


def everything() -> dict[str, str]:
    """Every artefact ``yidi contracts export`` writes: schemas, AsyncAPI, examples."""
    return {**all_artifacts(), **golden_examples()}
