"""``yidi clearing …``: close periods, read statements, set prepayments, confirm and settle."""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import ParamSpec

import typer
from rich.console import Console
from rich.table import Table

from services.runtime.settings import get_settings

P = ParamSpec("P")

clearing_app = typer.Typer(
    help="Inter-region clearing (清算): periods and statements.", no_args_is_help=True
)
console = Console()
err_console = Console(stderr=True)

SCOPE_HELP = "national | province:XX0000"


@clearing_app.callback()
def _logging() -> None:
    """Logs go to stderr so that --json / --format output stays clean on stdout."""
    from services.runtime.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)


def _fail(exc: Exception) -> None:
    code = getattr(exc, "code", type(exc).__name__)
    err_console.print(f"[red]{code}[/red]: {getattr(exc, 'message', exc)}")
    raise typer.Exit(2)


def _typed_errors(command: Callable[P, None]) -> Callable[P, None]:
    """A clearing refusal (bad scope, wrong state, ...) is a message and exit code 2."""

    @functools.wraps(command)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        from services.clearing.core.errors import ClearingError

        try:
            command(*args, **kwargs)
        except ClearingError as exc:
            _fail(exc)

    return guarded


@clearing_app.command("close")
def close_cmd(
    period: str = typer.Option(..., help="Month to close, YYYY-MM"),
    scope: str = typer.Option("national", help=SCOPE_HELP),
    wait: float = typer.Option(60.0, help="Seconds to wait for the ledger to catch up"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Freeze the period, check the ledger against the running positions, issue the statement.
    Closing again prints the same statement."""
    from services.clearing.adapters.postgres import PgClearingUnitOfWork
    from services.clearing.core.errors import ClearingError
    from services.clearing.core.periods import parse_period, parse_scope
    from services.clearing.service_layer.periods import close_waiting
    from services.entry.bootstrap import build_runtime
    from services.runtime.db import connect

    settings = get_settings()
    runtime = build_runtime(settings)

    async def run() -> None:
        conn = await connect(settings)
        try:
            started = time.perf_counter()
            view = await close_waiting(
                PgClearingUnitOfWork(conn), runtime.codec, parse_period(period),
                parse_scope(scope), wait, runtime.ref.pooling,
            )  # fmt: skip
            elapsed = time.perf_counter() - started
        finally:
            await conn.close()
        result = {"statement_id": view.statement_id, "period": period, "scope": scope,
                  "status": view.status, "newly_closed": view.created, "seconds": round(elapsed, 3)}  # fmt: skip
        if as_json:
            print(json.dumps(result))
        else:
            verb = "closed" if view.created else "already closed"
            console.print(f"{period} {scope}: {verb}, statement [bold]{view.statement_id}[/bold] "
                          f"({view.status}) in {elapsed:.2f} s")  # fmt: skip

    try:
        asyncio.run(run())
    except ClearingError as exc:
        _fail(exc)


@clearing_app.command("report")
def report_cmd(
    period: str = typer.Option(..., help="Month, YYYY-MM"),
    scope: str = typer.Option("national", help=SCOPE_HELP),
    fmt: str = typer.Option("table", "--format", help="table | json | csv"),
    top: int = typer.Option(10, help="Largest pairs to show in the table"),
) -> None:
    """Nets per participant, the largest pairs, late items and prepayment usage."""
    from services.clearing.adapters.postgres import PgClearingUnitOfWork
    from services.clearing.core.errors import ClearingError
    from services.clearing.core.periods import parse_period, parse_scope
    from services.clearing.report import load_report
    from services.runtime.db import connect

    async def run() -> None:
        conn = await connect(get_settings())
        try:
            report = await load_report(
                PgClearingUnitOfWork(conn), parse_period(period), parse_scope(scope)
            )
        finally:
            await conn.close()
        if fmt == "json":
            print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        elif fmt == "csv":
            out = csv.writer(sys.stdout)
            out.writerow(["kind", "participant_or_payer", "payee", "amount", "setl_cnt", "late_cnt",
                          "prepayment", "usage", "level", "top_up"])  # fmt: skip
            for who, net in report.nets.items():
                out.writerow(["net", who, "", net, "", "", "", "", "", ""])
            for p in report.pairs:
                out.writerow(["pair", p.payer, p.payee, p.fund_pay_sumamt, p.setl_cnt, p.late_cnt,
                              p.prepayment or "", p.usage or "", p.level or "", p.top_up])  # fmt: skip
            for item in report.late:
                out.writerow(["late", item.home, item.treatment, item.fund_pay_sumamt, "", "",
                              "", "", item.natural_period, item.setl_id])  # fmt: skip
            for c in report.corrections:
                out.writerow(["correction", c.payer, c.payee, c.amount, "", "", "", "",
                              c.origin_period, ""])  # fmt: skip
            for d in report.deductions:
                out.writerow(["deduction", d.payer, d.payee, d.amount, "", "", "", "",
                              d.origin_period, d.setl_id])  # fmt: skip
            for c in report.correction_due:
                out.writerow(["correction_due", c.payer, c.payee, c.amount, "", "", "", "",
                              report.correction_due_into, ""])  # fmt: skip
        elif fmt == "table":
            from services.entry.cli.clearing_render import print_report

            print_report(console, report, top)
        else:
            raise typer.BadParameter("--format is table, json or csv")

    try:
        asyncio.run(run())
    except ClearingError as exc:
        _fail(exc)


@clearing_app.command("status")
def status_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON"),
) -> None:
    """Every period that has left OPEN, with its statement; the year-end rule (a year's costs
    are cleared by the end of the next year's first quarter: earlier years' periods not yet
    SETTLED and their deadline); and whether this year's January prepayment re-set is made."""
    from services.clearing.adapters.postgres import PgClearingUnitOfWork
    from services.clearing.service_layer.prepayments import china_today, overview
    from services.runtime.db import connect

    today = china_today()

    async def run() -> None:
        conn = await connect(get_settings())
        try:
            seen = await overview(PgClearingUnitOfWork(conn), today)
        finally:
            await conn.close()
        rows, years, resets = seen.periods, seen.years, seen.resets
        if as_json:
            print(json.dumps({
                "today": today.isoformat(),
                "periods": [{"period": r.period, "scope": r.scope, "status": r.status,
                             "statement_id": r.statement_id} for r in rows],
                "year_end": [{"year": y.year, "deadline": y.deadline.isoformat(),
                              "days_left": y.days_left, "overdue": y.overdue,
                              "unsettled": [{"period": p, "scope": sc, "status": st}
                                            for p, sc, st in y.unsettled]} for y in years],
                "prepayment_reset": [{"year": r.year, "scope": r.scope, "due": r.due.isoformat(),
                                      "flows_last_year": r.flows_last_year,
                                      "flows_set": r.flows_set, "state": r.state(today)}
                                     for r in resets],
            }))  # fmt: skip
            return
        table = Table("period", "scope", "status", "statement", "since")
        for r in rows:
            table.add_row(r.period, r.scope, r.status, r.statement_id or "",
                          r.changed_at.isoformat(timespec="seconds"))  # fmt: skip
        console.print(table)
        ends = Table("year", "deadline", "days left", "periods not settled",
                     title=f"year-end rule (today {today}, China time)")  # fmt: skip
        for y in years:
            ends.add_row(str(y.year), y.deadline.isoformat(),
                         "OVERDUE" if y.overdue else str(y.days_left),
                         ", ".join(f"{p} {sc} {st}" for p, sc, st in y.unsettled))  # fmt: skip
        console.print(ends if years else f"year-end rule: every earlier year is settled ({today})")
        for reset in resets:
            console.print(f"prepayment re-set {reset.year} {reset.scope}: {reset.state(today)} "
                          f"({reset.flows_set} of {reset.flows_last_year} last-year flows; "
                          f"due {reset.due})")  # fmt: skip

    asyncio.run(run())


@clearing_app.command("prepayment-reset")
@_typed_errors
def prepayment_reset_cmd(
    year: int = typer.Option(..., help="Clearing year to re-set (run in January)"),
    scope: str = typer.Option("national", help=SCOPE_HELP),
    yellow: str = typer.Option("0.70", help="Yellow warning threshold"),
    red: str = typer.Option("0.90", help="Red warning threshold"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the sizes, write nothing"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """January's re-set (Arts. 18-27): every flow of the scope gets 2 x its monthly average of
    last year's Q4 cleared fund payments; a flow with last year's prepayment and no Q4
    traffic is re-set to zero. Paid by the end of February. Re-running it is idempotent."""
    from contracts.money import from_fen
    from services.clearing.adapters.postgres import PgClearingUnitOfWork
    from services.clearing.core.periods import parse_scope
    from services.clearing.core.prepayment import Thresholds, reset_due
    from services.clearing.service_layer.prepayments import reset_prepayments
    from services.runtime.db import connect

    sc = parse_scope(scope)
    t = Thresholds(*(int(Decimal(x) * 10_000) for x in (yellow, red)))

    async def run() -> None:
        conn = await connect(get_settings())
        try:
            plan = await reset_prepayments(
                PgClearingUnitOfWork(conn), year, sc, t, write=not dry_run
            )
        finally:
            await conn.close()
        if as_json:
            print(json.dumps({"year": year, "scope": sc, "due": reset_due(year).isoformat(),
                              "written": not dry_run,
                              "prepayments": [{"payer": p.payer, "payee": p.payee,
                                               "amount": str(from_fen(p.amount_fen)),
                                               "q4": [str(from_fen(f)) for f in p.q4_fen]}
                                              for p in plan]}))  # fmt: skip
            return
        table = Table("payer", "payee", "Oct", "Nov", "Dec", "prepayment",
                      title=f"prepayments {year} {sc} (paid by {reset_due(year)})"
                      + (" — dry run" if dry_run else ""))  # fmt: skip
        for p in plan:
            table.add_row(p.payer, p.payee, *(f"{from_fen(f):,.2f}" for f in p.q4_fen),
                          f"{from_fen(p.amount_fen):,.2f}")  # fmt: skip
        console.print(table)

    asyncio.run(run())


@clearing_app.command("prepayment")
@_typed_errors
def prepayment_cmd(
    year: int = typer.Option(..., help="Clearing year the prepayment covers"),
    payer: str = typer.Option(..., help="Home side participant (pays the prepayment)"),
    payee: str = typer.Option(..., help="Treatment side participant (holds it)"),
    scope: str = typer.Option("national", help=SCOPE_HELP),
    amount: str | None = typer.Option(None, help="Amount in yuan; default: from last year's Q4"),
    yellow: str = typer.Option("0.70", help="Yellow warning threshold"),
    red: str = typer.Option("0.90", help="Red warning threshold"),
) -> None:
    """Set a prepayment (预付金); without --amount, size it as 2 × last year's Q4 monthly average
    of the pair's cleared fund payments, from the running positions (Arts. 18–27)."""
    from contracts.money import from_fen, to_fen
    from services.clearing.adapters.postgres import PgClearingUnitOfWork
    from services.clearing.core.periods import parse_scope
    from services.clearing.core.prepayment import Thresholds
    from services.clearing.service_layer.prepayments import set_prepayment
    from services.runtime.db import connect

    sc = parse_scope(scope)
    t = Thresholds(*(int(Decimal(x) * 10_000) for x in (yellow, red)))
    try:
        amount_fen = None if amount is None else to_fen(Decimal(amount))
    except (ArithmeticError, ValueError) as exc:
        raise typer.BadParameter(f"--amount: {exc}") from exc

    async def run() -> None:
        conn = await connect(get_settings())
        try:
            fen = await set_prepayment(
                PgClearingUnitOfWork(conn), year, sc, payer, payee,
                amount_fen, t,
            )  # fmt: skip
        finally:
            await conn.close()
        value = from_fen(fen)
        console.print(f"prepayment {year} {sc} {payer} -> {payee}: {value:,.2f} "
                      f"(yellow {yellow}, red {red})")  # fmt: skip

    asyncio.run(run())


@clearing_app.command("settle")
def settle_cmd(
    period: str = typer.Option(..., help="Month, YYYY-MM"),
    scope: str = typer.Option("national", help=SCOPE_HELP),
) -> None:
    """Mark a CONFIRMED period SETTLED once the transfers are made."""
    from services.clearing.adapters.postgres import PgClearingUnitOfWork
    from services.clearing.core.errors import ClearingError
    from services.clearing.core.periods import parse_period, parse_scope
    from services.clearing.service_layer.periods import settle
    from services.entry.bootstrap import build_runtime
    from services.runtime.db import connect

    settings = get_settings()
    runtime = build_runtime(settings)

    async def run() -> None:
        conn = await connect(settings)
        try:
            status = await settle(
                PgClearingUnitOfWork(conn), runtime.codec, parse_period(period), parse_scope(scope)
            )
        finally:
            await conn.close()
        console.print(f"{period} {scope}: {status}")

    try:
        asyncio.run(run())
    except ClearingError as exc:
        _fail(exc)


def register(app: typer.Typer) -> None:
    from services.entry.cli import clearing_agency

    clearing_agency.attach(clearing_app, _typed_errors)
    app.add_typer(clearing_app, name="clearing")
