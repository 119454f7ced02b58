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


def outbox_message(
    codec: Codec, message: Contract, ce_id: str, when: dt.datetime, topic: str = TOPIC
) -> OutboxMessage:
    key, value, headers = codec.encode(
        message, ce_id=ce_id, sender=PROCESSOR, ce_time=when, sign=False
    )
    return OutboxMessage(ce_id, topic, key, value, tuple(headers))


async def enqueue(
    outbox: Outbox, codec: Codec, message: Contract, ce_id: str, when: dt.datetime
) -> None:
    """Put one message for yidi.clearing.v1 in the outbox (a repeated ce_id is a no-op)."""
    await outbox.add(outbox_message(codec, message, ce_id, when))


def agency_of(participant: str) -> str:
    """The agency that speaks for a clearing participant (a pool or a province; ``000000`` the
    national platform): the sender id its confirmations and commands carry."""
    return f"AG{participant}"


def statement_readers(statement: ClearingStatement) -> list[str]:
    """The agencies a statement concerns: every participant on a pair or a net, and the
    scope's own (``statement.participant``: the province, or the national platform)."""
    regions = {statement.participant}
    regions |= {r for p in statement.pairs for r in (p.payer, p.payee)}
    regions |= {n.participant for n in statement.nets}
    return sorted(agency_of(r) for r in regions)


async def deliver_statement(
    outbox: Outbox, codec: Codec, statement: ClearingStatement, ce_id: str, when: dt.datetime
) -> None:
    """The statement to the clearing center (yidi.clearing.v1, which no agency may read) and
    a copy to each agency it concerns, on that agency's own ack topic: an agency reads the
    statements it signs and nothing of the others' positions (docs/security.md). The copies
    go in the same outbox transaction: all of them are published, or none."""
    await enqueue(outbox, codec, statement, ce_id, when)
    for agency in statement_readers(statement):
        await outbox.add(
            outbox_message(codec, statement, f"{ce_id}.{agency}", when, catalog.ack_topic(agency))
        )


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


def latest_statements(records: list[tuple[bytes | None, bytes | None]]) -> list[ClearingStatement]:
    """The newest version of each statement among an ack topic's records (``(ce_type, value)``,
    each partition in offset order), by period and statement id: what an agency reads back. Acks and answers
    on the same topic are skipped; versions move forward only (APPLIED, ACCEPTED, SETTLED)."""
    wanted = ClearingStatement.ce_type.encode()
    latest: dict[str, ClearingStatement] = {}
    for ce_type, value in records:
        if ce_type == wanted and value is not None:
            statement = ClearingStatement.model_validate_json(value)
            latest[statement.statement_id] = statement
    return sorted(latest.values(), key=lambda st: (st.period, st.statement_id))
