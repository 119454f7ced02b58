"""``yidi audit …``: a treatment-side agency's audit deductions (审核扣款), as its system sends them."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal, InvalidOperation

import typer
from rich.console import Console

from services.runtime.settings import get_settings

audit_app = typer.Typer(
    help="Audit deductions (审核扣款) and queries on large stays (协查).", no_args_is_help=True
)
console = Console()


@audit_app.command("deduct")
def deduct_cmd(
    agency: str = typer.Option(
        ..., help="Deducting treatment-side agency's region (signs as AG<agency>)"
    ),
    setl_id: str = typer.Option(..., "--setl-id", help="Settlement the deduction is taken from"),
    amount: str = typer.Option(..., help="Yuan deducted from its fund payment, e.g. 1280.00"),
    reason: str = typer.Option(..., help="Reason code: duplicate_billing, not_covered, …, other"),
    deduction_id: str | None = typer.Option(
        None, "--id", help="The agency's deduction id (default: DED-<time>)"
    ),
    alert_id: str | None = typer.Option(None, "--alert-id", help="The supervision alert reviewed"),
    memo: str = typer.Option("", help="Free text for the record (no personal data)"),
) -> None:
    """Publish a signed deduction on yidi.clearing.v1; the clearing worker applies it to the
    period open now (or refuses it on the agency's ack topic, yidi.ack.v1.AG<agency>)."""
    from aiokafka import AIOKafkaProducer

    from contracts.clearing import AuditDeduction, DeductionReason
    from services.bootstrap import build_runtime

    try:
        yuan = Decimal(amount)
        why = DeductionReason(reason)
    except (InvalidOperation, ValueError) as exc:
        known = ", ".join(r.value for r in DeductionReason)
        raise typer.BadParameter(f"--amount is yuan, --reason one of {known}") from exc
    settings = get_settings()
    runtime = build_runtime(settings)
    now = dt.datetime.now(dt.UTC)
    did = deduction_id or f"DED-{now:%Y%m%d%H%M%S%f}"
    message = AuditDeduction(
        participant=agency, deduction_id=did, setl_id=setl_id, amount=yuan, reason=why,
        alert_id=alert_id, memo=memo, issued_at=now,
    )  # fmt: skip
    key, value, headers = runtime.codec.encode(
        message, ce_id=f"deduct-{agency}-{did}", sender=f"AG{agency}", ce_time=now
    )

    async def run() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True
        )
        await producer.start()
        try:
            await producer.send_and_wait(message.topic, value, key=key, headers=headers)
        finally:
            await producer.stop()
        console.print(f"deduction {did} of {yuan} from {setl_id} by AG{agency} sent")

    asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
