"""The settlement feed as clearing reads it: one fact per cleared settlement or reversal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import orjson
from aiokafka.structs import ConsumerRecord

from contracts.pools import PoolingRegions
from contracts.settlement import Reversed
from events.settlement_feed import REVERSED_TYPE, SETTLED_TYPE, decode_settlement
from events.stream.clients import to_input
from events.stream.types import InputRecord, Output
from events.wire.codec import Codec
from services.clearing.core.periods import flow_of, period_of

AMOUNT_FIELDS = (
    "medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay",
    "hifob_pay", "maf_pay", "oth_pay",
)  # fmt: skip
FUND_FIELDS = AMOUNT_FIELDS[2:]


@dataclass(frozen=True, slots=True)
class Fact:
    """Signed like the ledger: a reversal carries the original's amounts negated."""

    setl_id: str
    natural_period: str
    scope: str
    kind: str
    home: str
    treatment: str
    payer: str
    payee: str
    amounts: tuple[Decimal, ...]
    src_partition: int
    src_offset: int
    orig_setl_id: str | None = None
    """A reversal's original settlement (audit deductions refuse a reversed settlement)."""


class ClearingMapper:
    """Settlement-feed record -> ``Fact``; ``None`` for a settlement inside its own pooling
    region (nothing to clear); a DLQ output for anything unreadable. ``pools``: the
    reference data's pooling regions (``contracts.pools``), the adjudicator's rule."""

    def __init__(self, codec: Codec, pools: PoolingRegions) -> None:
        self.codec = codec
        self.pools = pools

    def __call__(self, record: InputRecord) -> Fact | Output | None:
        decoded = decode_settlement(self.codec, record, "clearing")
        if decoded is None or isinstance(decoded, Output):
            return decoded
        message, _ce_id = decoded
        home, treatment = message.insuplc_admdvs, message.mdtrtarea_admvs
        flow = flow_of(home, treatment, self.pools, message.route)
        if flow is None:
            return None
        sign = Decimal(-1) if isinstance(message, Reversed) else Decimal(1)
        info = message.setlinfo
        return Fact(
            setl_id=info.setl_id,
            natural_period=period_of(message.setl_date),
            scope=flow.scope,
            kind="reversal" if isinstance(message, Reversed) else "settlement",
            home=home,
            treatment=treatment,
            payer=flow.payer,
            payee=flow.payee,
            amounts=tuple(sign * getattr(info, f) for f in AMOUNT_FIELDS),
            src_partition=record.partition,
            src_offset=record.offset,
            orig_setl_id=message.orig_setl_id,
        )


class TrustedClearingMapper:
    """``ClearingMapper`` for the feed this system wrote (``yidi replay rebuild --trusted``):
    the fields are read from the JSON as published, without decoding it into the contract.
    Why: validation is most of a rebuild's time. A record that does not read that way, or
    whose funds do not add up to ``fund_pay_sumamt``, goes through the validating mapper,
    so what the live processor dead-lettered is skipped here too."""

    def __init__(self, codec: Codec, pools: PoolingRegions) -> None:
        self.validating = ClearingMapper(codec, pools)
        self.pools = pools

    def __call__(self, record: ConsumerRecord[bytes, bytes]) -> Fact | Output | None:
        try:
            return _trusted_fact(record, self.pools)
        except (_Untrusted, KeyError, TypeError, ValueError, AttributeError, ArithmeticError):
            return self.validating(to_input(record))


class _Untrusted(Exception):
    """Not a plain cleared settlement: let the validating mapper decide."""


def _trusted_fact(record: ConsumerRecord[bytes, bytes], pools: PoolingRegions) -> Fact | None:
    headers = dict(record.headers)
    ce_type = headers.get("ce_type", b"")
    if ce_type not in (SETTLED_TYPE, REVERSED_TYPE) or not record.value:
        raise _Untrusted
    doc = orjson.loads(record.value)
    if doc["pre_settlement"]:
        raise _Untrusted
    home, treatment = doc["insuplc_admdvs"], doc["mdtrtarea_admvs"]
    flow = flow_of(home, treatment, pools, doc["route"])
    if flow is None:
        return None
    info = doc["setlinfo"]
    amounts = [Decimal(info[f]) for f in AMOUNT_FIELDS]
    if amounts[1] != sum(amounts[2:]):
        raise _Untrusted
    reversal = ce_type == REVERSED_TYPE
    return Fact(
        setl_id=info["setl_id"],
        natural_period=period_of(dt.date.fromisoformat(doc["setl_date"])),
        scope=flow.scope,
        kind="reversal" if reversal else "settlement",
        home=home,
        treatment=treatment,
        payer=flow.payer,
        payee=flow.payee,
        amounts=tuple(-a for a in amounts) if reversal else tuple(amounts),
        src_partition=record.partition,
        src_offset=record.offset,
        orig_setl_id=doc.get("orig_setl_id"),
    )
