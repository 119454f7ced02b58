"""Reading the offline runner's input lines through the codec, and writing its output.

Why the codec: an offline run must read exactly what the stream processor
reads (the same contract classes, the same typed decode errors with the same
codes) and write exactly what it publishes (canonical bytes, CloudEvents
headers). A line is ``{"headers": {ce_*: str}, "body": {…}}``; the optional
``key`` is the record key. Input lines are not authenticated offline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus
from contracts.common import Contract
from contracts.filing import RegistrationMessage
from contracts.visit import VisitMessage
from events import catalog
from events.wire.codec import Codec
from events.wire.errors import DecodeError
from services.adjudication.core.commands import Command, UploadFees
from services.adjudication.core.messages import command_for, registration_command
from services.adjudication.fee_lines import PreparedFees

SENDER = catalog.ADJUDICATION_ID
CODEC = Codec()


class InvalidLine(ValueError):
    """A line that is not JSON or has no ``ce_id``: nothing to ack it with."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One input line: its envelope, and the message or the typed reason it was refused."""

    ce_id: str
    ce_type: str
    sender: str
    ce_time: dt.datetime
    message: Contract | None
    error: DecodeError | None


def read_line(raw: bytes | str) -> Incoming:
    """Parse and decode one line; decode failures come back as ``error``, not raised."""
    try:
        parsed = orjson.loads(raw)
        raw_headers: dict[str, Any] = parsed["headers"]
        ce_id = str(raw_headers["ce_id"])
        body = orjson.dumps(parsed.get("body"))
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise InvalidLine(exc.__class__.__name__) from exc
    headers = [(str(k), str(v).encode()) for k, v in sorted(raw_headers.items())]
    ce_type = str(raw_headers.get("ce_type", ""))
    sender = str(raw_headers.get("ce_source", "")).removeprefix("urn:yidi:sender:")
    ce_time = _time(raw_headers.get("ce_time"))
    try:
        decoded = CODEC.decode(None, body, headers, authenticate=False)
    except DecodeError as exc:
        return Incoming(ce_id, ce_type, sender, ce_time, None, exc)
    return Incoming(ce_id, ce_type, sender, ce_time, decoded.message, None)


def _time(raw: object) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(raw))
    except ValueError:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class UnhandledMessage(ValueError):
    """A valid contract the adjudicator does not consume (e.g. its own outputs)."""


def command_of(message: Contract) -> tuple[str, Command | Any]:
    """``(person key, command)``; for a person status (1101), the person record instead.
    A fee upload the task read with ``fee_lines.prepare`` carries its core lines already."""
    command = message_command(message)
    probed: Any = message  # a visit or registration message: ``message_command`` took it
    return f"{probed.insuplc_admdvs}:{probed.psn_no}", command


def message_command(message: Contract) -> Command | Any:
    """``command_of``'s command alone (the stream task has the person key from the codec)."""
    if type(message) is PreparedFees:
        return UploadFees(message.mdtrt_id, message.feedetail)
    if isinstance(message, VisitMessage):
        return command_for(message)
    if isinstance(message, RegistrationMessage):
        return registration_command(message)
    raise UnhandledMessage(type(message).__name__)


def derived_id(ce_id: str, kind: str) -> str:
    """Output ids derive from the input's, so a rerun writes the same bytes."""
    return "adj-" + hashlib.sha256(f"{kind}|{ce_id}".encode()).hexdigest()[:32]


def rejection_ack(incoming: Incoming, code: str, message: str, field: str | None = None) -> Ack:
    """The sender's ack for a refused input (code and message carry no personal data)."""
    msgid = getattr(incoming.message, "msgid", None)
    return Ack(
        ack_for=incoming.ce_id,
        ack_for_type=incoming.ce_type[:200],
        msgid=msgid,
        sender=incoming.sender or "unknown",
        status=AckStatus.REJECTED,
        error=AckError(code=code, field=field, message=message or code),
        acked_at=incoming.ce_time,
    )


def encode_line(message: Contract, ce_id: str, ce_time: dt.datetime) -> bytes:
    """One output line: key, canonical body and headers, as sorted JSON."""
    key, value, headers = CODEC.encode(
        message, ce_id=ce_id, sender=SENDER, ce_time=ce_time, sign=False
    )
    line = {
        "key": None if key is None else key.decode(),
        "headers": {name: raw.decode() for name, raw in headers},
        "body": orjson.loads(value),
    }
    return orjson.dumps(line, option=orjson.OPT_SORT_KEYS)
