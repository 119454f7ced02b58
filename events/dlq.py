"""Dead-letter records: the original bytes and headers, where they came from, and why.

Why a fixed shape: ops tooling (``yidi dlq list|show|redrive``) must restore
the exact original message to its source topic, so nothing is re-encoded —
the value and every header travel as base64 of their original bytes.

Why some originals are kept by reference: a DLQ record must itself fit the broker's
maximum message size, or publishing it fails and the worker that rejected the input stops
on it (the input is read again after a restart and stops it again). Base64 grows an
original by a third, so any original near the limit (an 850 KB value, a 5 MB value that
arrived gzip-compressed) cannot travel inline. Such a record carries ``original``: the
SHA-256 and sizes of what was read; the bytes stay in the source topic's log at the
source position, and ``yidi dlq redrive`` reads them back from there and checks the hash
(docs/guarantees.md says why not a PostgreSQL table).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

import orjson

from contracts.dlq import (
    DLQ_CE_TYPE,
    MAX_CODE,
    MAX_FIELD,
    MAX_MESSAGE,
    DlqOriginal,
    DlqReason,
    DlqRecord,
    DlqSource,
    original_digest,
)
from events import catalog
from events.stream.types import InputRecord, Output
from events.wire.limits import fit, fit_optional
from events.wire.masking import mask_text

DLQ_TOPIC = catalog.DLQ
MAX_DLQ_RECORD_BYTES = 900_000
"""A DLQ record's value stays below this: the broker's default ``message.max.bytes``
(1,048,588) less room for the record's key, headers and batch overhead."""
MAX_DLQ_KEY_BYTES = 1024
"""A longer original key is replaced, as the DLQ record's Kafka key, by its digest."""
MAX_INLINE_HEADERS_BYTES = 64 * 1024
"""Headers of an original kept by reference are still shown when they are this small."""


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def raw_header_names(record: InputRecord) -> list[bytes]:
    """The header names as they were on the wire (a damaged record keeps them in bytes)."""
    if record.raw_header_names is not None:
        return list(record.raw_header_names)
    return [k.encode("utf-8", "surrogateescape") for k, _ in record.headers]


def record_digest(record: InputRecord) -> str:
    names = raw_header_names(record)
    values = [v for _, v in _headers(record.headers)]
    return original_digest(record.key, record.value, list(zip(names, values, strict=True)))


def dlq_output(
    record: InputRecord,
    *,
    stage: str,
    code: str,
    message: str,
    field: str | None = None,
    authentic: bool = False,
) -> Output:
    """The DLQ message for ``record``: keyed like the original, deterministic bytes, and
    always under ``MAX_DLQ_RECORD_BYTES`` whatever the original held."""
    headers = _headers(record.headers)
    names_b64 = (
        None
        if record.raw_header_names is None
        else [_b64(n) or "" for n in record.raw_header_names]
    )
    common = {
        "reason": DlqReason(
            code=fit(code, MAX_CODE),
            field=fit_optional(None if field is None else mask_text(field), MAX_FIELD),
            message=fit(mask_text(message), MAX_MESSAGE),
        ),
        "source": DlqSource(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp_ms,
        ),
        "stage": stage,
        "authentic": authentic,
    }
    inline_headers = [(k, _b64(v) or "") for k, v in headers]
    value = _dump(
        DlqRecord(
            **common,
            key_b64=_b64(record.key),
            value_b64=_b64(record.value),
            headers=inline_headers,
            header_names_b64=names_b64,
        )
    )
    if len(value) > MAX_DLQ_RECORD_BYTES:
        value = _by_reference(record, common, inline_headers, names_b64)
    ce_id = f"dlq:{record.topic}:{record.partition}:{record.offset}"
    out_headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", ce_id.encode()),
        ("ce_type", DLQ_CE_TYPE.encode()),
        ("ce_source", f"yidi/{stage}".encode()),
        ("content-type", b"application/json"),
        ("yidi_dlq_code", fit(code, MAX_CODE).encode()),
    ]
    return Output(DLQ_TOPIC, dlq_key(record.key), value, out_headers, ("dlq", code))


def _by_reference(
    record: InputRecord,
    common: dict[str, object],
    inline_headers: list[tuple[str, str]],
    names_b64: list[str] | None,
) -> bytes:
    headers_size = sum(len(k) + len(v) for k, v in inline_headers)
    keep_headers = headers_size <= MAX_INLINE_HEADERS_BYTES
    original = DlqOriginal(
        sha256=record_digest(record),
        key_size=None if record.key is None else len(record.key),
        value_size=None if record.value is None else len(record.value),
        header_count=len(record.headers),
    )
    return _dump(
        DlqRecord(
            **common,
            key_b64=_b64(record.key)
            if record.key is not None and len(record.key) <= 4096
            else None,
            value_b64=None,
            headers=inline_headers if keep_headers else [],
            header_names_b64=names_b64 if keep_headers else None,
            original=original,
        )
    )


def dlq_key(key: bytes | None) -> bytes | None:
    """The DLQ record's Kafka key: the original's, or its digest when the original is long."""
    if key is None or len(key) <= MAX_DLQ_KEY_BYTES:
        return key
    return b"sha256:" + hashlib.sha256(key).hexdigest().encode()


_OPTIONAL = ("header_names_b64", "original")


def _dump(body: DlqRecord) -> bytes:
    """Sorted-key JSON; the optional fields appear only when set, so an ordinary DLQ record
    keeps exactly the bytes it always had."""
    data = body.model_dump(mode="json")
    for name in _OPTIONAL:
        if data[name] is None:
            del data[name]
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _headers(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(k, v if isinstance(v, bytes) else bytes(v or b"")) for k, v in headers]


def parse_dlq(value: bytes) -> DlqRecord:
    return DlqRecord.model_validate_json(value)


__all__ = [
    "DLQ_CE_TYPE", "DLQ_TOPIC", "MAX_DLQ_RECORD_BYTES", "DlqOriginal", "DlqReason", "DlqRecord",
    "DlqSource", "dlq_key", "dlq_output", "original_digest", "parse_dlq", "record_digest",
]  # fmt: skip
