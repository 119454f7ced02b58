"""The clearing center's messages, encoded once and queued in the outbox."""

from __future__ import annotations

import datetime as dt

from contracts.clearing import ClearingStatement, NetPosition, StatementPair
from contracts.codes import ClearingStatus
from contracts.common import Contract
from contracts.money import from_fen
from events import catalog
from events.catalog import by_name
from events.wire.codec import Codec
from services.clearing.core import periods as P
from services.clearing.core.statement import Draft
from services.clearing.ports import Outbox, OutboxMessage

PROCESSOR = catalog.CLEARING_ID
TOPIC = catalog.CLEARING
assert TOPIC in by_name()


def outbox_message(codec: Codec, message: Contract, ce_id: str, when: dt.datetime) -> OutboxMessage:
    key, value, headers = codec.encode(
        message, ce_id=ce_id, sender=PROCESSOR, ce_time=when, sign=False
    )
    return OutboxMessage(ce_id, TOPIC, key, value, tuple(headers))


async def enqueue(
    outbox: Outbox, codec: Codec, message: Contract, ce_id: str, when: dt.datetime
) -> None:
    """Put one message for yidi.clearing.v1 in the outbox (a repeated ce_id is a no-op)."""
    await outbox.add(outbox_message(codec, message, ce_id, when))


def statement_message(
    draft: Draft, status: ClearingStatus, issued_at: dt.datetime
) -> ClearingStatement:
    return ClearingStatement(
        participant=draft.participant, period=draft.period, scope=P.scope_kind(draft.scope),
        statement_id=draft.statement_id, status=status,
        pairs=tuple(
            StatementPair(
                payer=p.payer, payee=p.payee, fund_pay_sumamt=from_fen(p.fund_fen),
                deduction=from_fen(p.deduction_fen), setl_cnt=p.setl_cnt,
            )
            for p in draft.pairs
        ),
        nets=tuple(NetPosition(participant=k, net=from_fen(v)) for k, v in draft.nets.items()),
        issued_at=issued_at,
    )  # fmt: skip
