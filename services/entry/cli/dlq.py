"""``yidi dlq list|show|redrive|history``: inspect dead letters and send them back to their source.

Reads never join a consumer group (no processor offset moves); redrive writes
the journal ``dlq_redrives`` in PostgreSQL (docs/ops.md has the runbook).
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from events import catalog
from services.runtime import principals
from services.runtime.settings import get_settings

dlq_app = typer.Typer(help="Dead-letter queue: inspect and redrive.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")

REASON = typer.Option(None, "--reason", help="Only this reason code (e.g. E_UNKNOWN_INSTITUTION)")
SOURCE = typer.Option(None, "--source-topic", help="Only records read from this topic")
SINCE = typer.Option(None, help="Dead-lettered at or after (ISO 8601; no offset = UTC+08:00)")
UNTIL = typer.Option(None, help="Dead-lettered before (ISO 8601; no offset = UTC+08:00)")


class Format(StrEnum):
    table = "table"
    json = "json"


def run_ops(coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the command; an ops refusal is a message and exit code 2, not a traceback."""
    from asyncpg.exceptions import UndefinedTableError

    from services.ops.core.errors import OpsError

    try:
        return asyncio.run(coro())
    except OpsError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    except UndefinedTableError:
        err.print("[red]the redrive journal is missing: run `yidi db migrate`[/red]")
        raise typer.Exit(2) from None


def _select(reason: str | None, source_topic: str | None, since: str | None, until: str | None,
            limit: int | None) -> Any:  # fmt: skip
    from services.ops.core.dlq import DlqFilter, select
    from services.ops.kafka import read_dlq

    async def run() -> Any:
        flt = DlqFilter.of(reason, source_topic, since, until)
        read = await read_dlq(get_settings().kafka(principals.OPS), flt)
        if read.unreadable:
            err.print(f"[yellow]{len(read.unreadable)} record(s) on the DLQ topic are not DLQ "
                      f"records, e.g. {read.unreadable[0]}[/yellow]")  # fmt: skip
        return select(read.entries, flt, limit)

    return run_ops(run)


@dlq_app.command("list")
def list_cmd(
    reason: str | None = REASON,
    source_topic: str | None = SOURCE,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    limit: int = typer.Option(100, min=1, help="At most this many (oldest first)"),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
) -> None:
    """DLQ records matching the filters: position, time, reason, source, ce_id (no body)."""
    from services.ops.core.dlq import summary

    rows = [summary(e) for e in _select(reason, source_topic, since, until, limit)]
    if fmt == Format.json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"{catalog.DLQ}: {len(rows)} record(s)")
    for name in ("position", "dead-lettered (UTC)", "reason", "stage", "source", "ce_id"):
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(r["position"], r["dead_lettered_at"], r["reason"], r["stage"], r["source"],
                      r["ce_id"] or "")  # fmt: skip
    out.print(table)


@dlq_app.command("show")
def show_cmd(
    position: str = typer.Argument(..., help="PARTITION:OFFSET on yidi.dlq.v1"),
) -> None:
    """One DLQ record: reason, headers and decoded body, personal data masked."""
    from services.ops.core.dlq import DlqPosition, detail
    from services.ops.kafka import read_one

    async def run() -> Any:
        return await read_one(get_settings().kafka(principals.OPS), DlqPosition.parse(position))

    entry = run_ops(run)
    typer.echo(json.dumps(detail(entry), ensure_ascii=False, indent=2))


@dlq_app.command("redrive")
def redrive_cmd(
    reason: str | None = REASON,
    source_topic: str | None = SOURCE,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    limit: int | None = typer.Option(None, min=1, help="At most this many (oldest first)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; send nothing"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
    force: bool = typer.Option(
        False, "--force", help="Also send records redriven before (processors de-duplicate)"
    ),
    operator: str = typer.Option(getpass.getuser(), help="Recorded in the journal"),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON"),
) -> None:
    """Send matching DLQ records back to their source topic and partition: original key, value
    and headers plus a ``yidi_redrive`` marker, in original order, journaled in PostgreSQL."""
    entries = _select(reason, source_topic, since, until, limit)

    async def run() -> dict[str, Any]:
        from services.ops.redrive import redriver
        from services.runtime.db import connect

        settings = get_settings()
        conn = await connect(settings)
        try:
            async with redriver(settings.kafka(principals.OPS), conn, operator) as r:
                reconciled = None if dry_run else await r.reconcile()
                plan = await r.plan(entries, force=force)
                report = _plan_report(len(entries), plan, reconciled)
                if dry_run or not plan.send:
                    return {**report, "dry_run": dry_run, "would_send": _sends(plan.send)}
                if not yes and not typer.confirm(
                    f"Send {len(plan.send)} message(s) back to their source topics?", err=True
                ):
                    raise typer.Exit(1)
                with Progress(TextColumn("redriving"), BarColumn(), MofNCompleteColumn(),
                              TimeRemainingColumn(), console=err) as bar:  # fmt: skip
                    task = bar.add_task("redrive", total=len(plan.send))
                    result = await r.execute(plan, lambda n: bar.advance(task, n))
        finally:
            await conn.close()
        return {
            **report,
            "dry_run": False,
            "sent": [{**_send(s.outgoing), "sent_offset": s.offset} for s in result.sent],
            "lost_race": _sends(result.lost_race),
            "failed": [{**_send(o), "error": e} for o, e in result.failed],
        }

    outcome = run_ops(run)
    if as_json:
        typer.echo(json.dumps(outcome, ensure_ascii=False))
    else:
        _print_outcome(outcome)
    refused = outcome["refused"] or outcome["already_redriven"]  # refused unless --force
    if outcome.get("failed") or outcome["in_doubt"] or refused:
        raise typer.Exit(1)


@dlq_app.command("history")
def history_cmd(
    limit: int = typer.Option(50, min=1, help="Most recent attempts first"),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
) -> None:
    """The redrive journal: who sent which DLQ record back, where it landed."""
    from services.ops import journal
    from services.runtime.db import connect

    async def run() -> list[Any]:
        conn = await connect(get_settings())
        try:
            return await journal.history(conn, limit)
        finally:
            await conn.close()

    from events.wire.masking import mask_any

    rows = [mask_any(dict(r)) for r in run_ops(run)]  # a ce_id is sender-chosen
    if fmt == Format.json:
        typer.echo(json.dumps(rows, default=str, ensure_ascii=False))
        return
    table = Table("DLQ position", "attempt", "source", "reason", "ce_id", "status", "sent at",
                  "forced", "operator", "claimed (UTC)")  # fmt: skip
    for r in rows:
        table.add_row(
            f"{r['dlq_partition']}:{r['dlq_offset']}", str(r["attempt"]),
            f"{r['source_topic']}:{r['source_partition']}:{r['source_offset']}", r["reason_code"],
            r["ce_id"] or "", r["status"], "" if r["sent_offset"] is None else str(r["sent_offset"]),
            "yes" if r["forced"] else "", r["operator"], f"{r['claimed_at']:%Y-%m-%d %H:%M:%S}",
        )  # fmt: skip
    out.print(table)


def _send(o: Any) -> dict[str, Any]:
    from events.wire.masking import mask_any

    row = {"position": str(o.entry.position), "attempt": o.attempt, "forced": o.forced,
           "to": f"{o.topic}:{o.partition}", "source": str(o.entry.source),
           "ce_id": o.entry.ce_id, "reason": o.entry.reason}  # fmt: skip
    masked: dict[str, Any] = mask_any(row)  # a ce_id is sender-chosen
    return masked


def _sends(items: list[Any]) -> list[dict[str, Any]]:
    return [_send(o) for o in items]


def _plan_report(selected: int, plan: Any, reconciled: Any) -> dict[str, Any]:
    return {
        "selected": selected,
        "to_send": len(plan.send),
        "already_redriven": [str(e.position) for e in plan.already],
        "in_doubt": [str(e.position) for e in plan.in_doubt],
        "copies": [str(e.position) for e in plan.copies],
        "refused": [{"position": str(e.position), "why": why} for e, why in plan.refused],
        "reconciled": None if reconciled is None else {
            "sent": len(reconciled.sent), "not_sent": len(reconciled.not_sent)},
    }  # fmt: skip


def _print_outcome(o: dict[str, Any]) -> None:
    verb = "would send" if o["dry_run"] else "sent"
    count = len(o["would_send"]) if "would_send" in o else len(o["sent"])
    out.print(f"selected {o['selected']}, {verb} {count}")
    if o["already_redriven"]:
        out.print(f"[yellow]{len(o['already_redriven'])} already redriven: refused "
                  "(--force sends them again; processors de-duplicate)[/yellow]")  # fmt: skip
    if o["copies"]:
        out.print(f"{len(o['copies'])} duplicate DLQ record(s) of a source record sent once")
    if o["in_doubt"]:
        out.print(f"[red]{len(o['in_doubt'])} with an earlier attempt in doubt (a redrive running "
                  "or crashed in the last 2 minutes): retry later[/red]")  # fmt: skip
    for r in o["refused"]:
        out.print(f"[red]refused {r['position']}: {r['why']}[/red]")
    for f in o.get("failed", []):
        out.print(f"[red]failed {f['position']}: {f['error']} (left pending)[/red]")
    rows = o.get("would_send") or o.get("sent") or []
    if rows:
        table = Table("DLQ position", "attempt", "to", "source", "reason", "ce_id", "sent offset")
        for r in rows:
            table.add_row(r["position"], str(r["attempt"]), r["to"], r["source"], r["reason"],
                          r["ce_id"] or "", str(r.get("sent_offset", "")))  # fmt: skip
        out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")
