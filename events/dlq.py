"""Dead-letter records: the original bytes and headers, where they came from, and why.

Why a fixed shape: ops tooling (``yidi dlq list|show|redrive``) must restore
the exact original message to its source topic, so nothing is re-encoded —
the value and every header travel as base64 of their original bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import orjson
from pydantic import BaseModel, ConfigDict, Field

from events.masking import mask_text
from events.stream.types import InputRecord, Output

DLQ_TOPIC = "yidi.dlq.v1"
DLQ_CE_TYPE = "cn.yidi.dlq.record.v1"


class DlqReason(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(max_length=64)
    field: str | None = Field(default=None, max_length=256)
    message: str = Field(max_length=2000)


class DlqSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


class DlqRecord(BaseModel):
    """One rejected input, restorable byte for byte."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: DlqReason
    source: DlqSource
    stage: str = Field(description="which processor rejected it")
    authentic: bool = Field(description="sender authenticated (an error ack was sent too)")
    key_b64: str | None
    value_b64: str | None
    headers: list[tuple[str, str]] = Field(description="(name, base64 of value) in original order")

    def original_value(self) -> bytes | None:
        return None if self.value_b64 is None else base64.b64decode(self.value_b64)

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, base64.b64decode(v)) for k, v in self.headers]


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def dlq_output(
    record: InputRecord,
    *,
    stage: str,
    code: str,
    message: str,
    field: str | None = None,
    authentic: bool = False,
) -> Output:
    """The DLQ message for ``record``: keyed like the original, deterministic bytes."""
    body = DlqRecord(
        reason=DlqReason(
            code=code,
            field=None if field is None else mask_text(field),
            message=mask_text(message[:2000]),
        ),
        source=DlqSource(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp_ms,
        ),
        stage=stage,
        authentic=authentic,
        key_b64=_b64(record.key),
        value_b64=_b64(record.value),
        headers=[(k, _b64(v) or "") for k, v in _headers(record.headers)],
    )
    value = orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ce_id = f"dlq:{record.topic}:{record.partition}:{record.offset}"
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", ce_id.encode()),
        ("ce_type", DLQ_CE_TYPE.encode()),
        ("ce_source", f"yidi/{stage}".encode()),
        ("content-type", b"application/json"),
        ("yidi_dlq_code", code.encode()),
    ]
    return Output(DLQ_TOPIC, record.key, value, headers)


def _headers(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(k, v if isinstance(v, bytes) else bytes(v or b"")) for k, v in headers]


def parse_dlq(value: bytes) -> DlqRecord:
    return DlqRecord.model_validate_json(value)
