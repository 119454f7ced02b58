"""Generated artifacts: JSON Schema per message, an AsyncAPI 3.0 document, golden examples.

Pure functions returning ``{relative path: text}``; ``yidi contracts export``
writes them under ``contracts/`` and a unit test fails when the committed
files differ from what these functions produce now.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from contracts.common import Contract
from contracts.registry import MESSAGE_TYPES, SENDER_SIGNED

TOPICS: dict[str, tuple[str, str]] = {
    "yidi.registration.v1": (
        "{insuplc_admdvs}:{psn_no}",
        "person status and filings from agencies",
    ),
    "yidi.visit.v1": ("{insuplc_admdvs}:{psn_no}", "visit lifecycle events from hospitals"),
    "yidi.settlement.v1": ("{insuplc_admdvs}:{psn_no}", "adjudicated settlements and reversals"),
    "yidi.ack.v1.{sender}": (
        "ce_id of the acknowledged message (reconciliation results: the institution code)",
        "acks and reconciliation results, one topic per sender",
    ),
    "yidi.recon.v1": (
        "{fixmedins_code}",
        "hospital reconciliation requests (3201/3202); answers go to the hospital's ack topic",
    ),
    "yidi.clearing.v1": (
        "{participant}",
        "positions, prepayment warnings, period commands, statements, confirmations, "
        "reconciliation summaries",
    ),
    "yidi.supervision.v1": (
        "{subject}: a person key or an institution code",
        "fund supervision alerts (authorized readers only: subjects are person keys)",
    ),
}

HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "content-type"],
    "properties": {
        "ce_specversion": {"const": "1.0"},
        "ce_id": {"type": "string", "maxLength": 256, "description": "unique per event; the idempotency key"},
        "ce_type": {"type": "string", "pattern": r"^cn\.yidi\.[a-z_]+\.[a-z_]+\.v\d+$"},
        "ce_source": {"type": "string", "pattern": r"^urn:yidi:sender:([A-Z]\d{11}|AG\d{6}|yidi-[a-z]+)$"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_dataschema": {"type": "string", "description": "…/<major>.<minor>: a newer minor may add optional fields"},
        "content-type": {"const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
        "yidi_kid": {"type": "string", "description": "key id of the sender's MAC key"},
        "yidi_mac": {"type": "string", "description": "base64url HMAC-SHA256 (docs/contracts.md)"},
    },
}  # fmt: skip


_EPOCH = dt.datetime.fromisoformat("2026-01-01T00:00:00+08:00")


def _topic_of(model: type[Contract]) -> str:
    topic = model.topic
    return "yidi.ack.v1.{sender}" if topic.startswith("yidi.ack.v1") else topic


def json_schemas() -> dict[str, str]:
    out = {}
    for ce_type, model in sorted(MESSAGE_TYPES.items()):
        schema = model.model_json_schema(mode="validation")
        schema["$id"] = f"urn:yidi:schema:{ce_type}"
        schema["x-ce-type"] = ce_type
        schema["x-topic"] = _topic_of(model)
        out[f"schema/{ce_type}.json"] = (
            json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        )
    return out


def asyncapi() -> str:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    inbound_channels: set[str] = set()
    outbound_channels: set[str] = set()
    for topic, (_key, description) in TOPICS.items():
        name = topic.replace(".", "_").replace("{sender}", "sender")
        channels[name] = {
            "address": topic, "description": description, "messages": {},
            "bindings": {"kafka": {"bindingVersion": "0.5.0"}},
        }  # fmt: skip
        if "{sender}" in topic:
            channels[name]["parameters"] = {
                "sender": {"description": "institution code or AG<admdvs>"}
            }
    for ce_type, model in sorted(MESSAGE_TYPES.items()):
        msg_name = ce_type.replace(".", "_")
        topic = _topic_of(model)
        ch = topic.replace(".", "_").replace("{sender}", "sender")
        messages[msg_name] = {
            "name": ce_type,
            "title": model.__name__,
            "summary": ((model.__doc__ or ce_type).strip().splitlines() or [ce_type])[0],
            "contentType": "application/json",
            "headers": HEADERS_SCHEMA,
            "payload": {"$ref": f"./schema/{ce_type}.json"},
            "bindings": {"kafka": {"key": {"type": "string", "description": TOPICS[topic][0]}}},
            "x-signed-by-sender": ce_type in SENDER_SIGNED,
        }
        channels[ch]["messages"][msg_name] = {"$ref": f"#/components/messages/{msg_name}"}
        (inbound_channels if ce_type in SENDER_SIGNED else outbound_channels).add(ch)
    _add_dlq(channels, messages)
    outbound_channels.add("yidi_dlq_v1")
    for ch in channels:
        for action, names in (("receive", inbound_channels), ("send", outbound_channels)):
            if ch not in names:
                continue
            operations[f"{ch}_{action}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{ch}"},
                "summary": "yidi consumes these from senders"
                if action == "receive"
                else "yidi publishes these",
            }
    doc = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "yidi — cross-region direct settlement messages",
            "version": "1.0.0",
            "description": "CloudEvents Kafka binding (binary mode); field names of the national interface.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _add_dlq(channels: dict[str, Any], messages: dict[str, Any]) -> None:
    """The dead-letter channel: not a contract of its own (it wraps any input's original bytes),
    so its payload schema comes from the DLQ record model in ``events``."""
    from events.dlq import DLQ_CE_TYPE, DLQ_TOPIC

    name = DLQ_CE_TYPE.replace(".", "_")
    channels["yidi_dlq_v1"] = {
        "address": DLQ_TOPIC,
        "description": "original bytes + headers + reason + source topic/partition/offset",
        "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        "bindings": {"kafka": {"bindingVersion": "0.5.0"}},
    }
    messages[name] = {
        "name": DLQ_CE_TYPE,
        "title": "DlqRecord",
        "summary": "One rejected input, restorable byte for byte",
        "contentType": "application/json",
        "payload": {"$ref": f"./schema/{DLQ_CE_TYPE}.json"},
        "bindings": {
            "kafka": {"key": {"type": "string", "description": "the original record's key"}}
        },
        "x-signed-by-sender": False,
    }


def dlq_schema() -> dict[str, str]:
    from events.dlq import DLQ_CE_TYPE, DLQ_TOPIC, DlqRecord

    schema = DlqRecord.model_json_schema(mode="validation")
    schema.update(
        {"$id": f"urn:yidi:schema:{DLQ_CE_TYPE}", "x-ce-type": DLQ_CE_TYPE, "x-topic": DLQ_TOPIC}
    )
    return {
        f"schema/{DLQ_CE_TYPE}.json": json.dumps(
            schema, indent=2, ensure_ascii=False, sort_keys=True
        )
        + "\n"
    }


def all_artifacts() -> dict[str, str]:
    return {**json_schemas(), **dlq_schema(), "asyncapi.json": asyncapi()}


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
    from contracts.samples import samples, sender_of
    from events.codec import Codec
    from events.demo_keys import demo_registry

    found = samples()
    codec = Codec(demo_registry({sender_of(m) for m in found.values()}))
    out: dict[str, str] = {}
    bodies: dict[str, dict[str, Any]] = {}
    for name, message in sorted(found.items()):
        sender = sender_of(message)
        signed = name.split("#")[0] in SENDER_SIGNED
        when = getattr(message, "inf_time", None) or getattr(message, "acked_at", None)
        key, value, headers = codec.encode(
            message, ce_id=f"example-{name.replace('#', '-')}", sender=sender if signed else "yidi-adjudication",
            ce_time=when or _EPOCH, sign=signed,
        )  # fmt: skip
        body = json.loads(value)
        bodies[name] = body
        doc = {
            "key": key.decode() if key else None,
            "headers": {k: v.decode() for k, v in headers},
            "body": body,
        }
        out[f"examples/valid/{name.replace('#', '-')}.json"] = _dump(doc)
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
        out[f"examples/invalid/{name}.json"] = _dump(doc)
    return out


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def everything() -> dict[str, str]:
    return {**all_artifacts(), **golden_examples()}
