"""Bad input for a simulated run: each class of message a faulty HIS or a hostile sender can
publish, built from a good message of the plan, and the outcome it must have.

Why here and as data: the acceptance run (``tests/e2e/test_bad_input.py``, ``make
e2e-bad-input``) publishes a share of these among good traffic against the live workers
and checks each against its ``BadKind``: exactly one DLQ record with one of its codes, an
error ack exactly when the sender is authentic, nothing applied. Every kind is
deterministic for its step (same plan, same bytes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import orjson

from contracts.codes import FilingType
from contracts.filing import FilingCreated
from contracts.visit import VisitMessage
from events import catalog
from events.wire.codec import Codec
from events.wire.envelope import DATASCHEMA, parse_headers
from events.wire.signing import compute_mac

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]
VISIT_TOPIC = catalog.VISIT
REGISTRATION_TOPIC = catalog.REGISTRATION


@dataclass(frozen=True, slots=True)
class BadKind:
    """``codes``: the DLQ reason codes it may get (empty: any code; the codec decides);
    ``acked``: the sender authenticates, so it gets an error ack; ``dead_lettered``:
    ``None`` when either outcome is right (a long ``ce_id`` may be cut and accepted)."""

    name: str
    codes: frozenset[str]
    acked: bool
    dead_lettered: bool | None = True


def _kind(name: str, *codes: str, acked: bool, dead: bool | None = True) -> BadKind:
    return BadKind(name, frozenset(codes), acked, dead)


KINDS: dict[str, BadKind] = {
    k.name: k
    for k in (
        _kind("truncated", "E_AUTH_MAC", acked=False),
        _kind("unsigned", "E_AUTH", acked=False),
        _kind("foreign_signed", "E_IDENTITY", acked=True),
        _kind("bad_amount", "E_AMOUNT", "E_TYPE", acked=True),
        _kind("unknown_code", "E_UNKNOWN_CODE", "E_BOUNDS", "E_FORMAT", acked=True),
        _kind("filing_on_visit", "E_WRONG_TOPIC", acked=True),
        _kind("visit_on_registration", "E_WRONG_TOPIC", acked=True),
        _kind("null_key", "E_KEY_MISSING", acked=True),
        _kind("wrong_key", "E_KEY", acked=True),
        _kind("duplicate_ce_id", "E_DUPLICATE_HEADER", acked=False),
        _kind("duplicate_ce_source", "E_DUPLICATE_HEADER", acked=False),
        _kind("duplicate_json_key", "E_DUPLICATE_KEY", acked=True),
        _kind("nan_extra", "E_NUMBER", acked=True),
        _kind("id_field_name", "E_EXTRA_FIELD", acked=True),
        _kind("garbage", "E_ENCODING", acked=False),
        # These need the engine's catch-all and outcomes that fit (issue 15 part A): before
        # those, each can stop a worker. Enable them with --bad-kinds once both are merged.
        _kind("oversized", "E_AUTH", acked=False),
        _kind("calendar_edge", acked=True),
        _kind("long_field_name", "E_EXTRA_FIELD", acked=True),
        _kind("long_ce_id", acked=True, dead=None),
    )
}
LEGACY = ("truncated", "unsigned", "foreign_signed", "bad_amount", "unknown_code")
"""The simulator's default mix (every run's 1 % bad share before issue 15)."""
NEEDS_PART_A = ("oversized", "calendar_edge", "long_field_name", "long_ce_id")
SAFE = tuple(k for k in KINDS if k not in NEEDS_PART_A)
"""Every kind no worker may stop on with issue 15 part B alone."""


def kinds_named(spec: str) -> tuple[str, ...]:
    """``legacy``, ``safe``, ``all`` or a comma-separated list of kind names."""
    named = {"legacy": LEGACY, "safe": SAFE, "all": tuple(KINDS)}.get(spec)
    if named is not None:
        return named
    kinds = tuple(k.strip() for k in spec.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise ValueError(f"unknown bad kinds {unknown}; known: {sorted(KINDS)}")
    return kinds


EXTRA_HEADER = ("x-vendor-note", "备注 from the HIS".encode())
"""An unknown header on a good message: ignored; the message is processed and acked."""
ID_NUMBER = "330902199001011234"
"""A resident ID number used as a field *name* (it must never appear in a DLQ record)."""


def resign(codec: Codec, record: Record, value: bytes, ce_id: str | None = None) -> Record:
    """``record`` with ``value`` (and ``ce_id``) and a valid MAC of its own sender."""
    key, _, headers = record
    env = parse_headers(headers)
    if ce_id is not None:
        env = env._replace(ce_id=ce_id)
    k = codec.keys.current(env.sender, dt.datetime.fromisoformat(env.ce_time))
    heads = [
        (n, ce_id.encode() if n == "ce_id" and ce_id is not None else v)
        for n, v in headers
        if n not in ("yidi_kid", "yidi_mac")
    ]
    mac = compute_mac(k.secret, env, value)
    return key, value, [*heads, ("yidi_kid", k.kid.encode()), ("yidi_mac", mac.encode())]


def make(
    how: str, record: Record, message: VisitMessage, codec: Codec, certno: str
) -> tuple[str, Record, str]:
    """(topic, record, the sender whose ack topic gets the error ack) of bad kind ``how``."""
    key, value, headers = record
    sender = message.fixmedins_code
    data = orjson.loads(value)
    if how == "filing_on_visit":
        filing = FilingCreated(
            psn_no=message.psn_no, insuplc_admdvs=message.insuplc_admdvs,
            inf_time=message.inf_time, filing_id=f"FX{message.msgid}", certno=certno,
            filing_type=FilingType.RESETTLED_RETIREE, mdtrtarea_admvs=message.mdtrtarea_admvs,
            begndate=message.inf_time.date(), channel="hospital",
        )  # fmt: skip
        ce_id = parse_headers(headers).ce_id
        rec = codec.encode(filing, ce_id=ce_id, sender=sender, ce_time=message.inf_time)
        return VISIT_TOPIC, rec, sender
    if how == "visit_on_registration":
        return REGISTRATION_TOPIC, record, sender
    if how == "null_key":
        return VISIT_TOPIC, (None, value, headers), sender
    if how == "wrong_key":
        other = f"{message.insuplc_admdvs}:X{message.psn_no}".encode()
        return VISIT_TOPIC, (other, value, headers), sender
    if how in ("duplicate_ce_id", "duplicate_ce_source"):
        name = how.removeprefix("duplicate_")
        other = b"urn:yidi:sender:H31010400001" if name == "ce_source" else b"another-id"
        return VISIT_TOPIC, (key, value, [(name, other), *headers]), sender
    if how == "duplicate_json_key":
        body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        own = f'"fixmedins_code":"{sender}"'.encode()
        twice = b'"fixmedins_code":"H31010400001",' + own
        return VISIT_TOPIC, resign(codec, record, body.replace(own, twice, 1)), sender
    if how == "nan_extra":
        body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)[:-1] + b',"x_ratio":NaN}'
        newer = [*headers, (DATASCHEMA, f"urn:yidi:schema:{message.ce_type}:1.1".encode())]
        return VISIT_TOPIC, resign(codec, (key, value, newer), body), sender
    if how in ("id_field_name", "long_field_name"):
        data[ID_NUMBER if how == "id_field_name" else "f" * 400] = "1"
        body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        return VISIT_TOPIC, resign(codec, record, body), sender
    if how == "garbage":
        return VISIT_TOPIC, (key, b"\xff\xfe\x00garbage\x80" + value[:40], headers), sender
    if how == "oversized":
        data["pad"] = "x" * 850_000
        unsigned = [(n, v) for n, v in headers if n not in ("yidi_kid", "yidi_mac")]
        return VISIT_TOPIC, (key, orjson.dumps(data), unsigned), sender
    if how == "calendar_edge":
        field = "begntime" if "begntime" in data else "inf_time"
        data[field] = "9999-12-31T23:59:59-14:00"
        body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        return VISIT_TOPIC, resign(codec, record, body), sender
    if how == "long_ce_id":
        ce_id = parse_headers(headers).ce_id
        return VISIT_TOPIC, resign(codec, record, value, (ce_id + "-" + "L" * 240)[:250]), sender
    raise ValueError(f"unknown bad kind {how}")
