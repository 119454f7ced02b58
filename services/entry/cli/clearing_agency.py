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
