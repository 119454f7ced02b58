"""The dead-letter record: the contract every DLQ message holds (built in ``events/dlq.py``).

Why a contract: ops tooling (``yidi dlq list|show|redrive``) and the published AsyncAPI
document read it, and a redrive must restore the exact original message, so its shape is
fixed like any other message's. ``original_digest`` is part of it: an original kept by
reference is identified by that hash.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DLQ_TOPIC = "yidi.dlq.v1"
"""Declared for the catalog (``events.catalog.DLQ``); a unit test keeps them equal."""
DLQ_CE_TYPE = "cn.yidi.dlq.record.v1"
MAX_CODE = 64
MAX_FIELD = 256
MAX_MESSAGE = 2000


class DlqReason(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(max_length=MAX_CODE)
    field: str | None = Field(default=None, max_length=MAX_FIELD)
    message: str = Field(max_length=MAX_MESSAGE)


class DlqSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


class DlqOriginal(BaseModel):
    """An original too large to carry: it stays in the source topic's log at ``source``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kept: Literal["by_reference"] = "by_reference"
    sha256: str = Field(description="original_digest(key, value, headers) of what was read")
    key_size: int | None
    value_size: int | None
    header_count: int


class DlqRecord(BaseModel):
    """One rejected input, restorable byte for byte (inline, or via ``original``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: DlqReason
    source: DlqSource
    stage: str = Field(description="which processor rejected it")
    authentic: bool = Field(description="sender authenticated (an error ack was sent too)")
    key_b64: str | None
    value_b64: str | None
    headers: list[tuple[str, str]] = Field(description="(name, base64 of value) in original order")
    header_names_b64: list[str] | None = Field(
        default=None,
        description="base64 of each header name, when a name was not UTF-8 (unparseable record)",
    )
    original: DlqOriginal | None = Field(
        default=None, description="set when key, value and headers are kept by reference"
    )

    def original_value(self) -> bytes | None:
        return None if self.value_b64 is None else base64.b64decode(self.value_b64)

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, base64.b64decode(v)) for k, v in self.headers]

    @property
    def by_reference(self) -> bool:
        return self.original is not None


def original_digest(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[bytes, bytes | None]]
) -> str:
    """SHA-256 over the original record's parts, each length-prefixed (-1 for null), so no two
    different records share a digest by moving bytes between parts. Header names are bytes."""
    h = hashlib.sha256()

    def part(raw: bytes | None) -> None:
        h.update((-1 if raw is None else len(raw)).to_bytes(8, "big", signed=True))
        if raw is not None:
            h.update(raw)

    part(key)
    part(value)
    h.update(len(headers).to_bytes(8, "big"))
    for name, raw in headers:
        part(name)
        part(raw)
    return h.hexdigest()
