"""Reading the settlement feed (``yidi.settlement.v1``): the one place that says what a
feed record is, for the ledger, clearing and every replay of them.

Two readings share it: the validating one (``decode_settlement``: the codec and the
contract models, used by the live sinks) and the trusted one (the ``ce_type`` header and
the JSON as published, used by rebuilds: ``services/ledger/adapters/bulk.py`` and clearing's
``TrustedClearingMapper``). The module imports no contract model at load time, so a
trusted rebuild worker starts without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from contracts.settlement import SettlementResult
    from events.stream.types import InputRecord, Output
    from events.wire.codec import Codec

SETTLED_TYPE = b"cn.yidi.settlement.settled.v1"
REVERSED_TYPE = b"cn.yidi.settlement.reversed.v1"
"""The contracts' ``ce_type`` (asserted by a unit test) as bytes, for the trusted readers."""
FEED_TYPES = (SETTLED_TYPE, REVERSED_TYPE)


class FeedRecord(Protocol):
    """A settlement-feed record as fetched (aiokafka's record or the engine's)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


def feed_type(record: FeedRecord) -> bytes | None:
    """The record's ``ce_type`` when it is a settlement or a reversal with a value, else None
    (the trusted readers leave anything else to the validating path)."""
    ce_type = dict(record.headers).get("ce_type", b"")
    return ce_type if ce_type in FEED_TYPES and record.value else None


def decode_settlement(
    codec: Codec, record: InputRecord, stage: str
) -> tuple[SettlementResult, str] | Output | None:
    """A settlement-feed record as (message, ce_id), or, for a record it refuses, its DLQ
    output when ``stage`` owns the feed's dead letters (the ledger: ``events.catalog``) and
    ``None`` for the other readers (clearing), which refuse the same records: one bad record
    is one DLQ record."""
    from contracts.settlement import Reversed, Settled
    from events.catalog import owns
    from events.dlq import dlq_output
    from events.wire.errors import DecodeError

    try:
        decoded = codec.decode(
            record.key, record.value, record.headers, authenticate=False, topic=record.topic
        )
    except DecodeError as err:
        if not owns(record.topic, f"yidi-{stage}"):
            return None
        return dlq_output(record, stage=stage, code=err.code, message=err.message, field=err.field)
    message = decoded.message
    if not isinstance(message, (Settled, Reversed)) or message.pre_settlement:
        if not owns(record.topic, f"yidi-{stage}"):
            return None
        text = f"not a ledger message: {decoded.envelope.ce_type}"
        return dlq_output(record, stage=stage, code="E_UNHANDLED", message=text)
    return message, decoded.envelope.ce_id
