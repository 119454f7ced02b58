"""Dead-letter records as ops sees them: where each sits in the DLQ, which ones a filter
selects, and how one is shown without revealing personal data.

Why the DLQ position is the identity: the DLQ topic is append-only with
infinite retention, so ``partition:offset`` names one record for ever; the
redrive journal and ``yidi dlq show`` use it.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from contracts.dlq import DlqRecord
from events.wire.envelope import envelope_headers
from events.wire.errors import DecodeError
from events.wire.masking import mask_any
from events.wire.strict_json import read_json
from services.ops.core.errors import BadArgument

BUSINESS_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
"""Operators' times without an offset are read in the business timezone of the system."""

_POSITION = re.compile(r"^(\d{1,6}):(\d{1,19})$")
SHOWN_BODY_BYTES = 4000


@dataclass(frozen=True, slots=True, order=True)
class DlqPosition:
    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> DlqPosition:
        match = _POSITION.match(text.strip())
        if match is None:
            raise BadArgument(f"not a DLQ position PARTITION:OFFSET: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where the rejected input was read: redrive sends it back there."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True, slots=True)
class DlqEntry:
    """One DLQ record and where it sits; ``timestamp_ms`` is when it was dead-lettered."""

    topic: str
    position: DlqPosition
    timestamp_ms: int
    record: DlqRecord

    @property
    def source(self) -> SourcePosition:
        src = self.record.source
        return SourcePosition(src.topic, src.partition, src.offset)

    @property
    def reason(self) -> str:
        return self.record.reason.code

    def header(self, name: str) -> str | None:
        """An original envelope header as the processors read it (``events.wire.envelope``'s
        ``envelope_headers``): ``None`` when absent, or when the headers are ones the
        processors refuse as a whole (a header twice, a known one not ASCII) — then no value
        is *the* ``ce_id``, and ``yidi dlq show`` lists every header as it came."""
        try:
            return envelope_headers(self.record.original_headers()).get(name)
        except (DecodeError, ValueError):
            return None

    @property
    def ce_id(self) -> str | None:
        return self.header("ce_id")

    @property
    def ce_type(self) -> str | None:
        return self.header("ce_type")

    @property
    def dead_lettered_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp_ms / 1000, dt.UTC)


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 date or time; without an offset it is Asia/Shanghai time."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadArgument(f"not an ISO 8601 time: {text!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=BUSINESS_TZ)


def epoch_ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class DlqFilter:
    """Which DLQ records an ops command acts on; ``None`` fields select everything.
    ``since`` is inclusive and ``until`` exclusive, on the dead-letter time."""

    reason: str | None = None
    source_topic: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    @classmethod
    def of(
        cls,
        reason: str | None = None,
        source_topic: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> DlqFilter:
        since_ms = None if since is None else epoch_ms(parse_time(since))
        until_ms = None if until is None else epoch_ms(parse_time(until))
        if since_ms is not None and until_ms is not None and until_ms <= since_ms:
            raise BadArgument("--until must be later than --since")
        return cls(reason, source_topic, since_ms, until_ms)

    def matches(self, entry: DlqEntry) -> bool:
        if self.reason is not None and entry.reason != self.reason:
            return False
        if self.source_topic is not None and entry.source.topic != self.source_topic:
            return False
        if self.since_ms is not None and entry.timestamp_ms < self.since_ms:
            return False
        return self.until_ms is None or entry.timestamp_ms < self.until_ms


def select(entries: list[DlqEntry], flt: DlqFilter, limit: int | None = None) -> list[DlqEntry]:
    """Matching entries in dead-letter order (time, then position), at most ``limit``."""
    chosen = sorted(
        (e for e in entries if flt.matches(e)), key=lambda e: (e.timestamp_ms, e.position)
    )
    return chosen if limit is None else chosen[:limit]


def summary(entry: DlqEntry) -> dict[str, Any]:
    """One line of ``yidi dlq list``: ids and codes only, never body fields; every string
    masked (a ``ce_id`` or a field name is sender-chosen: an ID number can hide in either)."""
    return _masked_view(_summary(entry))


def _summary(entry: DlqEntry) -> dict[str, Any]:
    rec = entry.record
    return {
        "position": str(entry.position),
        "dead_lettered_at": entry.dead_lettered_at.isoformat(timespec="seconds"),
        "reason": rec.reason.code,
        "field": rec.reason.field,
        "stage": rec.stage,
        "source": str(entry.source),
        "ce_id": entry.ce_id,
        "ce_type": entry.ce_type,
        "authentic": rec.authentic,
    }


def detail(entry: DlqEntry) -> dict[str, Any]:
    """``yidi dlq show``: headers, reason and the body as the processors read it, personal
    data masked in every string, names and keys included."""
    rec = entry.record
    shown = {
        **_summary(entry),
        "message": rec.reason.message,
        "key": _text(rec.key_b64),
        "headers": [[name, _text(raw)] for name, raw in rec.headers],
        "body": _body(rec.original_value()),
    }
    if rec.original is not None:  # too large to carry: it stays at the source position
        shown["original"] = {
            "kept": "by_reference", "at": str(entry.source), "sha256": rec.original.sha256,
            "value_bytes": rec.original.value_size, "key_bytes": rec.original.key_size,
            "headers": rec.original.header_count,
        }  # fmt: skip
    return _masked_view(shown)


def _masked_view(view: dict[str, Any]) -> dict[str, Any]:
    masked: dict[str, Any] = mask_any(view)
    return masked


def _text(b64: str | None) -> str | None:
    if b64 is None:
        return None
    raw = base64.b64decode(b64)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + b64


def _body(value: bytes | None) -> Any:
    """The body as the processors' strict reading (``events.wire.strict_json``) gives it; one it
    refuses (not JSON, a key twice, ``NaN``) as shortened text with the refusal's code."""
    if value is None:
        return None
    try:
        return read_json(value)
    except DecodeError as exc:
        text = value[:SHOWN_BODY_BYTES].decode("utf-8", errors="replace")
        return {"undecodable": text, "code": exc.code, "bytes": len(value)}
