"""``yidi audit …``: a treatment-side agency's audit deductions (审核扣款), as its system sends them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
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
    from contracts.clearing import AuditDeduction, DeductionReason
    from services.entry.cli.clearing_agency import send_signed

    try:
        yuan = Decimal(amount)
        why = DeductionReason(reason)
    except (InvalidOperation, ValueError) as exc:
        known = ", ".join(r.value for r in DeductionReason)
        raise typer.BadParameter(f"--amount is yuan, --reason one of {known}") from exc
    now = dt.datetime.now(dt.UTC)
    did = deduction_id or f"DED-{now:%Y%m%d%H%M%S%f}"
    message = AuditDeduction(
        participant=agency, deduction_id=did, setl_id=setl_id, amount=yuan, reason=why,
        alert_id=alert_id, memo=memo, issued_at=now,
    )  # fmt: skip
    send_signed(message, f"deduct-{agency}-{did}", agency, now)
    console.print(f"deduction {did} of {yuan} from {setl_id} by AG{agency} sent (Ed25519-signed)")


query_app = typer.Typer(
    help="Queries on large stays (协查): the home side queries an inpatient settlement of "
    "30,000 yuan or more; the treatment side answers (docs/clearing.md).",
    no_args_is_help=True,
)
audit_app.add_typer(query_app, name="query")
err_console = Console(stderr=True)


def _query_step(step: Callable[..., Awaitable[object]], *args: object, **kw: object) -> None:
    """Run one query step on PostgreSQL, print the query, or the refusal and exit 2."""
    from services.clearing.adapters.pg_queries import PgQueryStore
    from services.clearing.audit_reference import load_query_rules, load_working_days
    from services.clearing.core.errors import ClearingError
    from services.clearing.service_layer.queries import QueryContext
    from services.entry.bootstrap import build_runtime
    from services.runtime.db import connect

    settings = get_settings()
    runtime = build_runtime(settings)
    ctx = QueryContext(
        load_query_rules(settings.reference_dir), load_working_days(settings.reference_dir),
        runtime.ref.pooling,
    )  # fmt: skip

    async def run() -> object:
        conn = await connect(settings)
        try:
            return await step(PgQueryStore(conn), ctx, *args, **kw)
        finally:
            await conn.close()

    try:
        result = asyncio.run(run())
    except ClearingError as exc:
        err_console.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(2) from exc
    queries = result if isinstance(result, list) else [result]
    for q in queries:
        print(json.dumps(_query_json(q), ensure_ascii=False))


def _query_json(q: object) -> dict[str, object]:
    from dataclasses import asdict

    return {k: (str(v) if v is not None and not isinstance(v, bool) else v)
            for k, v in asdict(q).items()}  # type: ignore[call-overload]  # fmt: skip


def _today() -> dt.date:
    from services.clearing.core.periods import CHINA

    return dt.datetime.now(CHINA).date()


@query_app.command("raise")
def query_raise_cmd(
    agency: str = typer.Option(..., help="The home side's agency region (AG<agency>)"),
    setl_id: str = typer.Option(..., "--setl-id", help="An inpatient settlement ≥ the threshold"),
    query_id: str | None = typer.Option(None, "--id", help="Default: Q-<agency>-<time>"),
) -> None:
    """Query a large inpatient stay; prints the query with its batch, reply date and lapse day."""
    from services.clearing.service_layer.queries import raise_query

    qid = query_id or f"Q-{agency}-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}"
    _query_step(raise_query, setl_id=setl_id, agency=agency, query_id=qid, today=_today())


@query_app.command("answer")
def query_answer_cmd(
    agency: str = typer.Option(..., help="The treatment side's agency region"),
    query_id: str = typer.Option(..., "--id"),
    text: str = typer.Option(..., help="The answer (no personal data)"),
) -> None:
    """The treatment side answers (late after the batch's reply date; refused once it lapsed)."""
    from services.clearing.service_layer.queries import answer

    _query_step(answer, query_id, agency=agency, today=_today(), text=text)


@query_app.command("confirm")
def query_confirm_cmd(
    agency: str = typer.Option(..., help="The home side's agency that raised it"),
    query_id: str = typer.Option(..., "--id"),
) -> None:
    """The home side accepts the answer (or ends a dispute without a deduction)."""
    from services.clearing.service_layer.queries import confirm

    _query_step(confirm, query_id, agency=agency, today=_today())


@query_app.command("dispute")
def query_dispute_cmd(
    agency: str = typer.Option(..., help="The home side's agency that raised it"),
    query_id: str = typer.Option(..., "--id"),
) -> None:
    """The home side disputes the answer within its confirmation days (negotiated)."""
    from services.clearing.service_layer.queries import dispute

    _query_step(dispute, query_id, agency=agency, today=_today())


@query_app.command("resolve")
def query_resolve_cmd(
    agency: str = typer.Option(..., help="The treatment side's agency that deducted"),
    query_id: str = typer.Option(..., "--id"),
    deduction_id: str = typer.Option(..., "--deduction-id", help="Its applied deduction"),
) -> None:
    """A disputed query ends in a deduction: send it first (``yidi audit deduct --reason
    query_disputed``), then name it here once clearing applied it."""
    from services.clearing.service_layer.queries import resolve

    _query_step(resolve, query_id, agency=agency, today=_today(), deduction_id=deduction_id)


@query_app.command("list")
def query_list_cmd() -> None:
    """Every query as its deadlines leave it today (JSON lines); lapsed ones are recorded."""
    from services.clearing.service_layer.queries import overview

    _query_step(overview, today=_today())


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
