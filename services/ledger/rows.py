"""A published settlement or reversal -> one ledger row (pure), two ways that must agree:
``ledger_row`` from the decoded contract (the live sink) and ``copy_line``, COPY text straight
from the published JSON (the trusted rebuild; equality: tests/integration/ledger/test_bulk.py).
No contract model is imported at load time: a rebuild worker starts without them.

Reversal rows hold the original's amounts negated, so a plain SUM over the
ledger is the net money; the published bytes are kept unchanged in
``payload`` (the message carries positive amounts with ``refd_setl_flag`` 1).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING

import orjson

from events.settlement_feed import FEED_TYPES, REVERSED_TYPE, FeedRecord, decode_settlement
from events.stream.types import InputRecord, Output
from services.ledger.adapters.pg_sink import AMOUNTS

if TYPE_CHECKING:
    from contracts.settlement import SettlementResult
    from events.wire.codec import Codec

_REVERSED = REVERSED_TYPE.decode()


def ledger_row(
    message: SettlementResult, ce_id: str, value: bytes, record: InputRecord
) -> tuple[object, ...]:
    info = message.setlinfo
    reversal = message.ce_type == _REVERSED
    sign = Decimal(-1) if reversal else Decimal(1)
    amounts = tuple(sign * getattr(info, name) for name in AMOUNTS)
    return (
        info.setl_id, "reversal" if reversal else "settlement", message.orig_setl_id,
        int(message.refd_setl_flag), ce_id, info.mdtrt_id, info.medins_setl_id, info.psn_no,
        message.fixmedins_code, message.insuplc_admdvs, message.mdtrtarea_admvs, str(info.insutype),
        info.psn_type, str(info.med_type), str(info.clr_type), str(info.clr_way), info.clr_optins,
        info.setl_time, message.setl_date, *amounts, message.policy_version, message.catalog_version,
        value, hashlib.sha256(value).digest(), record.topic, record.partition, record.offset,
    )  # fmt: skip


_LEDGER_TYPES = FEED_TYPES
_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_FROM_INFO = ("setl_id", "mdtrt_id", "medins_setl_id", "psn_no", "insutype", "psn_type",
              "med_type", "clr_type", "clr_way", "clr_optins", "setl_time")  # fmt: skip
_FROM_TOP = ("orig_setl_id", "refd_setl_flag", "fixmedins_code", "insuplc_admdvs",
             "mdtrtarea_admvs", "setl_date", "policy_version", "catalog_version")  # fmt: skip
COPY_COLUMNS = ("kind", "ce_id", *_FROM_INFO, *AMOUNTS, *_FROM_TOP, "payload", "payload_sha256",
                "src_topic", "src_partition", "src_offset")  # fmt: skip
"""The columns of a COPY line, in the order the JSON is read."""
_info_fields = itemgetter(*_FROM_INFO)
_amounts = itemgetter(*AMOUNTS)
_top_fields = itemgetter(*_FROM_TOP)


def copy_line(record: FeedRecord) -> bytes | None:
    """The record's ledger row (``COPY_COLUMNS``) as one line of COPY text, or None for a
    record that is no ledger message (the validating path would have dead-lettered it, or
    it is a pre-settlement). Mirrors ``rows.ledger_row``: reversals hold amounts negated.
    A missing field (KeyError) or a JSON value that is not a string (TypeError) fails here;
    a string PostgreSQL does not parse as its column's type fails the COPY."""
    headers = dict(record.headers)
    ce_type = headers.get("ce_type", b"")
    value = record.value
    if ce_type not in _LEDGER_TYPES or not value:
        return None
    doc = orjson.loads(value)
    if doc.get("pre_settlement"):
        return None
    info = doc["setlinfo"]
    amounts = _amounts(info)
    if ce_type == REVERSED_TYPE:
        kind = "reversal"
        amounts = tuple(a[1:] if a.startswith("-") else f"-{a}" for a in amounts)
    else:
        kind = "settlement"
    fields = (kind, headers.get("ce_id", b"").decode(), *_info_fields(info), *amounts,
              *_top_fields(doc))  # fmt: skip
    # JSON without a backslash, tab or line break holds none inside its strings either
    plain = b"\\" not in value and b"\t" not in value and b"\n" not in value and b"\r" not in value
    text = "\t".join(
        [_NULL if v is None else v for v in fields]
        if plain
        else [_NULL if v is None else v.translate(_ESCAPES) for v in fields]
    )
    payload = value if plain and value.isascii() else b"\\\\x" + value.hex().encode()
    digest = hashlib.sha256(value).hexdigest()
    return b"%s\t%s\t\\\\x%s\t%s\t%d\t%d\n" % (
        text.encode(), payload, digest.encode(), record.topic.encode(), record.partition,
        record.offset,
    )  # fmt: skip


class LedgerMapper:
    """Decode a settlement-feed record into a row; anything else goes to the DLQ."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec

    def __call__(self, record: InputRecord) -> tuple[object, ...] | Output | None:
        decoded = decode_settlement(self.codec, record, "ledger")
        if decoded is None or isinstance(decoded, Output):
            return decoded
        assert record.value is not None
        return ledger_row(decoded[0], decoded[1], record.value, record)
