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


EXAMPLE_EPOCH = dt.datetime.fromisoformat("2026-01-01T00:00:00+08:00")
"""The ce_time of an example message that carries no time of its own."""


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
    so its payload schema comes from the DLQ record model in ``contracts/dlq.py``."""
    from contracts.dlq import DLQ_CE_TYPE, DLQ_TOPIC

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
    from contracts.dlq import DLQ_CE_TYPE, DLQ_TOPIC, DlqRecord

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


def dump_artifact(doc: dict[str, Any]) -> str:
    """Indented, sorted-key JSON: the artefacts' on-disk form, stable across runs."""
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
