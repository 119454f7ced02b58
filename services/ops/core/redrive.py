"""Redrive planning: which DLQ records go back to their source, in which order, with what bytes.

Why it is safe to send the original bytes again: the sender's MAC covers the
identity headers and the body (events/wire/signing.py), never the header list, so
the original value and headers plus one ``yidi_redrive`` header still verify;
and every processor de-duplicates by ``ce_id``, so a record redriven twice is
applied once. The journal (``dlq_redrives``) makes the second redrive of a
record a refusal rather than a no-op send, unless the operator forces it.

Order: records go back in their original order per source partition (source
offset), whatever order the DLQ holds them in, so a person's messages are
re-applied in the order the sender published them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from events.dlq import record_digest
from events.stream.types import InputRecord
from services.ops.core.dlq import DlqEntry, DlqPosition, SourcePosition
from services.ops.core.errors import NotRedrivable, OriginalChanged, OriginalGone

REDRIVE_HEADER = "yidi_redrive"
"""Names the DLQ record and attempt a redriven message came from (``topic:partition:offset#n``);
it is also how a redrive whose journal update was lost in a crash is found again."""
_MARKER = re.compile(r"^(.+):(\d+):(\d+)#(\d+)$")

Status = Literal["pending", "sent", "not_sent"]


def marker(dlq_topic: str, position: DlqPosition, attempt: int) -> str:
    return f"{dlq_topic}:{position.partition}:{position.offset}#{attempt}"


def parse_marker(text: str) -> tuple[str, DlqPosition, int] | None:
    match = _MARKER.match(text)
    if match is None:
        return None
    position = DlqPosition(int(match.group(2)), int(match.group(3)))
    return match.group(1), position, int(match.group(4))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One journal row: an attempt to redrive one DLQ record."""

    topic: str
    position: DlqPosition
    attempt: int
    source: SourcePosition
    status: Status


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send back: exactly the original key, value and headers, plus the marker."""

    entry: DlqEntry
    attempt: int
    topic: str
    partition: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    marker: str
    forced: bool


@dataclass(slots=True)
class RedrivePlan:
    send: list[Outgoing] = field(default_factory=list)
    already: list[DlqEntry] = field(default_factory=list)
    """Redriven before (this DLQ record, or a byte-identical copy of the same source record)."""
    in_doubt: list[DlqEntry] = field(default_factory=list)
    """An earlier attempt whose send is not yet known to have happened or not."""
    copies: list[DlqEntry] = field(default_factory=list)
    """A second DLQ record of a source record already in this plan (a processor replay)."""
    refused: list[tuple[DlqEntry, str]] = field(default_factory=list)


def by_reference(
    entry: DlqEntry, read: InputRecord | None
) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]:
    """The original of a DLQ record kept by reference, from the record ``read`` at its source
    position (``None``: the log no longer holds it), checked against the recorded SHA-256."""
    ref = entry.record.original
    assert ref is not None
    if read is None:
        raise OriginalGone(
            f"{OriginalGone.code}: {entry.position}: the original at {entry.source} is no "
            "longer in the source log (retention): nothing to send back"
        )
    if record_digest(read) != ref.sha256 or read.damaged is not None:
        raise OriginalChanged(
            f"{OriginalChanged.code}: {entry.position}: the record at {entry.source} is not "
            "the one dead-lettered (SHA-256 differs)"
        )
    return read.key, read.value, [(k, bytes(v or b"")) for k, v in read.headers]


def outgoing(
    entry: DlqEntry, attempt: int, forced: bool = False, read: InputRecord | None = None
) -> Outgoing:
    """The original message as it was read, marked with this attempt. ``read`` is the record
    at the source position, for a DLQ record that kept its original by reference."""
    rec = entry.record
    if entry.source.topic == entry.topic:
        raise NotRedrivable(f"{entry.position}: its source is the DLQ itself")
    if rec.header_names_b64 is not None:
        raise NotRedrivable(
            f"{entry.position}: a header name was not UTF-8: the record cannot be read as sent"
        )
    if rec.original is not None:
        key, value, original_headers = by_reference(entry, read)
    else:
        value = rec.original_value()
        original_headers = rec.original_headers()
        key = None if rec.key_b64 is None else base64.b64decode(rec.key_b64)
    if value is None:
        raise NotRedrivable(f"{entry.position}: the original record had no value")
    mark = marker(entry.topic, entry.position, attempt)
    headers = [(k, v) for k, v in original_headers if k != REDRIVE_HEADER]
    headers.append((REDRIVE_HEADER, mark.encode()))
    return Outgoing(
        entry, attempt, entry.source.topic, entry.source.partition, key, value, headers, mark,
        forced,
    )  # fmt: skip


def plan_redrive(
    entries: Sequence[DlqEntry],
    journal: Sequence[Attempt],
    partitions: Mapping[str, int],
    *,
    force: bool = False,
    originals: Mapping[SourcePosition, InputRecord | None] | None = None,
) -> RedrivePlan:
    """What to send for ``entries`` given the journal's earlier attempts.

    ``partitions`` is each source topic's partition count (a topic that is gone,
    or shrank below the source partition, cannot take the record back).
    ``originals`` holds, for DLQ records kept by reference, the record now at their source
    position (``None`` when the log no longer holds it).
    """
    originals = originals or {}
    by_position: dict[tuple[str, DlqPosition], list[Attempt]] = {}
    sent_sources: set[SourcePosition] = set()
    for a in journal:
        by_position.setdefault((a.topic, a.position), []).append(a)
        if a.status == "sent":
            sent_sources.add(a.source)
    plan = RedrivePlan()
    planned: set[SourcePosition] = set()
    ordered = sorted(
        entries, key=lambda e: (e.source.topic, e.source.partition, e.source.offset, e.position)
    )
    for entry in ordered:
        attempts = by_position.get((entry.topic, entry.position), [])
        if any(a.status == "pending" for a in attempts):
            plan.in_doubt.append(entry)
            continue
        if entry.source in planned:
            plan.copies.append(entry)
            continue
        done = any(a.status == "sent" for a in attempts) or entry.source in sent_sources
        if done and not force:
            plan.already.append(entry)
            continue
        if partitions.get(entry.source.topic, 0) <= entry.source.partition:
            plan.refused.append((entry, f"source partition {entry.source} does not exist"))
            continue
        number = max((a.attempt for a in attempts), default=0) + 1
        try:
            plan.send.append(outgoing(entry, number, forced=done, read=originals.get(entry.source)))
        except NotRedrivable as exc:
            plan.refused.append((entry, exc.message))
            continue
        planned.add(entry.source)
    return plan
