"""``yidi clearing confirm|command`` (and ``yidi audit deduct``'s sending): what an agency's own system sends, signed with the
agency's Ed25519 private key (``YIDI_SIGNING_KEYS``; outside prod the deterministic demo keys).

Apart from the operator's commands in ``clearing.py`` because these act as the agency: they
sign with its key and log in to the broker as its principal, which may write its own
commands and nobody else's. The clearing worker answers on the agency's ack topic.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import orjson
import typer
from rich.console import Console

from contracts.clearing import AuditDeduction, ClearingConfirmed, PeriodCommand
from events.stream import clients
from services.runtime.settings import get_settings

console = Console()
SCOPE_HELP = "national | province:XX0000"


def attach(
    app: typer.Typer, typed_errors: Callable[[Callable[..., None]], Callable[..., None]]
) -> None:
    """Mount the agency's commands on ``yidi clearing`` with the group's typed-error handling."""
    app.command("confirm")(typed_errors(confirm_cmd))
    app.command("command")(typed_errors(command_cmd))
    app.command("statements")(typed_errors(statements_cmd))


def confirm_cmd(
    statement_id: str = typer.Option(..., help="Statement to confirm"),
    participant: str = typer.Option(..., help="Confirming participant (signs as AG<participant>)"),
    net: str = typer.Option(..., help="The net the participant read on the statement"),
    period: str = typer.Option(..., help="Month, YYYY-MM"),
    scope: str = typer.Option("national", help=SCOPE_HELP),
) -> None:
    """Publish a participant's signed confirmation of a statement."""
    from services.clearing.core.periods import parse_scope, scope_kind

    now = dt.datetime.now(dt.UTC)
    message = ClearingConfirmed(
        participant=participant, period=period, scope=scope_kind(parse_scope(scope)),
        statement_id=statement_id, net=Decimal(net), confirmed_at=now,
    )  # fmt: skip
    send_signed(message, f"confirm-{statement_id}-{participant}", participant, now)
    console.print(f"confirmation of {statement_id} by {participant} sent (Ed25519-signed)")


def command_cmd(
    command: str = typer.Argument(..., help="close | settle"),
    period: str = typer.Option(..., help="Month, YYYY-MM"),
    participant: str = typer.Option(
        "000000", help="Commanding participant (signs as AG<participant>)"
    ),
    scope: str = typer.Option("national", help=SCOPE_HELP),
    reason: str = typer.Option("", help="Why (free text, no personal data)"),
) -> None:
    """Publish an agency's signed period command."""
    from services.clearing.core.periods import parse_scope, scope_kind

    if command not in ("close", "settle"):
        raise typer.BadParameter("close or settle")
    now = dt.datetime.now(dt.UTC)
    message = PeriodCommand(
        participant=participant, period=period, scope=scope_kind(parse_scope(scope)),
        command=command, issued_by=participant, issued_at=now, reason=reason,
    )  # fmt: skip
    send_signed(
        message, f"cmd-{command}-{period}-{participant}-{now:%Y%m%d%H%M%S%f}", participant, now
    )
    console.print(f"{command} {period} {scope} by AG{participant} sent (Ed25519-signed)")


def send_signed(
    message: ClearingConfirmed | PeriodCommand | AuditDeduction,
    ce_id: str,
    participant: str,
    now: dt.datetime,
) -> None:
    """Encode (the codec signs agency-signed types with the agency's key) and send as the
    agency's own broker principal."""
    from services.entry.bootstrap import build_runtime

    settings = get_settings()
    sender = f"AG{participant}"
    key, value, headers = build_runtime(settings).codec.encode(
        message, ce_id=ce_id, sender=sender, ce_time=now
    )

    async def publish() -> None:
        producer = clients.producer(settings.kafka(sender), enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(message.topic, value, key=key, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(publish())


def statements_cmd(
    participant: str = typer.Option(..., help="Reading participant (logs in as AG<participant>)"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per statement"),
) -> None:
    """The statements that concern a participant, as its agency reads them: from its own ack
    topic, logged in as its own principal (it may not read yidi.clearing.v1)."""
    from rich.table import Table

    from events.catalog import ack_topic
    from services.clearing.service_layer.messages import agency_of, latest_statements

    settings = get_settings()
    agency = agency_of(participant)
    records = asyncio.run(_read_all(settings.kafka(agency), ack_topic(agency)))
    statements = latest_statements(records)
    if as_json:
        for st in statements:
            net = next((n.net for n in st.nets if n.participant == participant), Decimal(0))
            print(orjson.dumps({"statement_id": st.statement_id, "period": st.period,
                                "scope": st.scope, "status": st.status.value, "net": str(net),
                                "pairs": len(st.pairs)}).decode())  # fmt: skip
        return
    table = Table(title=f"statements for {agency}")
    for column in ("statement", "period", "scope", "status", "net", "pairs", "its pairs (fen)"):
        table.add_column(column, overflow="fold")
    for st in statements:
        net = next((n.net for n in st.nets if n.participant == participant), Decimal(0))
        own = [p for p in st.pairs if participant in (p.payer, p.payee)]
        table.add_row(
            st.statement_id, st.period, st.scope, st.status.name, f"{net:,.2f}",
            str(len(st.pairs)), f"{sum(p.fund_pay_sumamt - p.deduction for p in own):,.2f}",
        )  # fmt: skip
    console.print(table)


async def _read_all(
    conn: clients.KafkaConnection, topic: str
) -> list[tuple[bytes | None, bytes | None]]:
    """Every committed record of ``topic`` as ``(ce_type, value)``, read without a group."""
    from aiokafka import TopicPartition

    from events.stream.reader import read_to_ends
    from services.ops.log_reader import log_bounds

    consumer = clients.consumer(
        conn, enable_auto_commit=False, auto_offset_reset="earliest",
        isolation_level="read_committed",
    )  # fmt: skip
    await consumer.start()
    try:
        starts, ends = await log_bounds(consumer, topic)  # refused unless it may see it
        tps = {TopicPartition(topic, p): end for p, end in ends.items()}
        consumer.assign(list(tps))
        for tp in tps:
            consumer.seek(tp, starts[tp.partition])
        return [
            (dict(rec.headers or ()).get("ce_type"), rec.value)
            async for rec in read_to_ends(consumer, tps)
        ]
    finally:
        await consumer.stop()
