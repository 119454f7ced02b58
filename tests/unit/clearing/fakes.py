"""Builders for the clearing service layer's unit tests: facts of the settlement feed, and
the ledger landing them in the in-memory unit of work."""

from __future__ import annotations

from decimal import Decimal

from contracts.clearing import ClearingStatement, PrepaymentWarning
from events import catalog
from events.wire.codec import Codec
from services.clearing.adapters.memory import LedgerRow, MemoryClearingUnitOfWork
from services.clearing.feed import Fact
from services.clearing.service_layer.landing import Landed, land_batch

GROUP = "yidi-clearing"
TOPIC = "yidi.settlement.v1"
CODEC = Codec()


def fact(
    setl_id: str,
    fund: str,
    *,
    period: str = "2026-10",
    payer: str = "330000",
    payee: str = "310000",
    kind: str = "settlement",
    offset: int = 0,
    partition: int = 0,
    orig: str | None = None,
) -> Fact:
    """A cross-province settlement (national scope) from ``payer``'s to ``payee``'s capital."""
    f = Decimal(fund)
    return Fact(
        setl_id, period, "national", kind, payer[:2] + "0100", payee[:2] + "0100", payer, payee,
        (f * 2, f, f, *(Decimal("0.00"),) * 6), partition, offset, orig,
    )  # fmt: skip


async def land(
    uow: MemoryClearingUnitOfWork, *facts: Fact, ledger: bool = True, rebuild: bool = False
) -> Landed:
    """The clearing feed lands ``facts`` (positions: one past the last offset); with
    ``ledger`` the ledger sink has landed them too."""
    ends: dict[tuple[str, int], int] = {}
    for f in facts:
        key = (TOPIC, f.src_partition)
        ends[key] = max(ends.get(key, 0), f.src_offset + 1)
    landed = await land_batch(uow, CODEC, GROUP, facts, ends, rebuild=rebuild)
    if ledger:
        for f in facts:
            uow.state.ledger[f.setl_id] = LedgerRow(f.kind, f.home, f.treatment, f.amounts)
    return landed


def outbox(uow: MemoryClearingUnitOfWork, topic: str = catalog.CLEARING) -> list[str]:
    """The ``ce_id`` of every message queued for ``topic`` (the clearing center's), in order."""
    return [
        m.ce_id for _seq, m, _published in sorted(uow.state.outbox.values()) if m.topic == topic
    ]


def warnings(uow: MemoryClearingUnitOfWork) -> list[PrepaymentWarning]:
    out = []
    for _seq, m, _ in sorted(uow.state.outbox.values()):
        decoded = CODEC.decode(m.key, m.value, list(m.headers), authenticate=False)
        if isinstance(decoded.message, PrepaymentWarning):
            out.append(decoded.message)
    return out


def statement(uow: MemoryClearingUnitOfWork, ce_id: str) -> ClearingStatement:
    m = uow.state.outbox[ce_id][1]
    decoded = CODEC.decode(m.key, m.value, list(m.headers), authenticate=False)
    assert isinstance(decoded.message, ClearingStatement)
    return decoded.message
