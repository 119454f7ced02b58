"""``yidi replay rebuild|production|shadow|runs``: re-read the retained log (docs/ops.md)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from events import catalog
from services.entry.cli.dlq import run_ops
from services.runtime import principals
from services.runtime.settings import get_settings

replay_app = typer.Typer(help="Replay a stretch of the log: rebuild, production, shadow.",
                         no_args_is_help=True)  # fmt: skip
out = Console()
err = Console(stderr=True)
T = TypeVar("T")


@replay_app.callback()
def _logging() -> None:
    """Logs go to stderr so that --json output stays clean on stdout."""
    from services.runtime.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)


FROM_OFFSET = typer.Option(None, "--from-offset", min=0, help="First offset, every partition")
TO_OFFSET = typer.Option(None, "--to-offset", min=0, help="End offset (exclusive), every partition")
SINCE = typer.Option(None, help="From this record time (ISO 8601; no offset = UTC+08:00)")
UNTIL = typer.Option(None, help="Up to this record time, exclusive")
PARTITION = typer.Option(None, "--partition", help="Only these partitions (repeat)")
CE_ID = typer.Option(None, "--ce-id", help="Only these events (repeat; shadow)")
RATE = typer.Option(None, "--rate", min=1, help="At most this many events per second")
JSON = typer.Option(False, "--json", help="Print the report as JSON")


def _request(from_offset: int | None, to_offset: int | None, since: str | None,
             until: str | None, partition: list[int] | None, ce_id: list[str] | None) -> Any:  # fmt: skip
    from services.ops.core.replay import RangeRequest, parse_time

    return RangeRequest(
        start_offset=from_offset,
        end_offset=to_offset,
        since_ms=parse_time(since) if since else None,
        until_ms=parse_time(until) if until else None,
        partitions=frozenset(partition) if partition else None,
        ce_ids=frozenset(ce_id) if ce_id else None,
    )


async def _with_progress(
    label: str, call: Callable[[Callable[[int], None], Callable[[int], None]], Awaitable[T]]
) -> T:
    """Run ``call(progress, on_plan)`` under a bar with rate and ETA (on stderr)."""
    columns = (
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(label, total=None)
        return await call(
            lambda n: bar.advance(task, n), lambda total: bar.update(task, total=total)
        )


def _print(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(report, default=str))
        return
    table = Table(show_header=False, box=None)
    for k, v in report.items():
        if k not in ("diff", "spans"):
            table.add_row(k, str(v))
    out.print(table)


@replay_app.command("rebuild")
def rebuild_cmd(
    projection: str = typer.Option(..., help="ledger, clearing or filings"),
    from_offset: int | None = FROM_OFFSET,
    since: str | None = SINCE,
    rate: float | None = RATE,
    yes: bool = typer.Option(False, "--yes", help="Do not ask before emptying the projection"),
    trusted: bool = typer.Option(
        False,
        "--trusted",
        help="ledger, clearing: read the feed as published, without validation (docs/ops.md)",
    ),
    workers: int = typer.Option(
        0, min=0, help="--trusted: worker processes (0: one per core)", show_default=False
    ),
    as_json: bool = JSON,
) -> None:
    """Empty a projection and read the whole retained log into it (resumes an interrupted run).

    The projection's workers must be stopped; the log must still hold the range's start
    (offset 0 without --from-offset/--since)."""
    from services.ops import trusted_rebuild
    from services.ops.replay import rebuild

    settings = get_settings()
    if not yes:
        typer.confirm(f"Empty the {projection} projection and rebuild it from the log?", abort=True)
    from services.entry.bootstrap import build_runtime

    runtime = build_runtime(settings)

    async def go() -> Any:
        return await _with_progress(
            f"rebuild {projection}",
            lambda progress, plan: rebuild(
                settings.kafka(principals.OPS), settings.database_url.get_secret_value(),
                runtime.codec, projection, settings.group_suffix, rate, progress, plan,
                _request(from_offset, None, since, None, None, None), trusted,
                processes=workers or trusted_rebuild.WORKERS, pools=runtime.ref.pooling,
            ),
        )  # fmt: skip

    report = run_ops(go)
    _print(report.as_dict(), as_json)


@replay_app.command("production")
def production_cmd(
    topic: str = typer.Option(
        ..., help=f"{catalog.SETTLEMENT}, {catalog.VISIT} or {catalog.REGISTRATION}"
    ),
    from_offset: int | None = FROM_OFFSET,
    to_offset: int | None = TO_OFFSET,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    partition: list[int] | None = PARTITION,
    rate: float | None = RATE,
    as_json: bool = JSON,
) -> None:
    """Replay a range into production. Settlement feed: the ledger's and clearing's idempotent
    writes (what landed stays as it is). Processor inputs: rewind the (stopped) processors'
    offsets; they recognise what they applied and emit nothing for it."""
    from services.entry.bootstrap import build_runtime
    from services.ops.replay import into_production

    settings = get_settings()
    runtime = build_runtime(settings)
    request = _request(from_offset, to_offset, since, until, partition, None)

    async def go() -> Any:
        return await _with_progress(
            f"replay {topic}",
            lambda progress, plan: into_production(
                settings.kafka(principals.OPS), settings.database_url.get_secret_value(),
                runtime.codec, topic, request, settings.group_suffix, rate, progress, plan,
                pools=runtime.ref.pooling,
            ),
        )  # fmt: skip

    _print(run_ops(go).as_dict(), as_json)


@replay_app.command("shadow")
def shadow_cmd(
    name: str = typer.Option(
        ..., help="Shadow name: schema shadow_<name>, topics yidi.shadow.<name>.*"
    ),
    reference: Path = typer.Option(
        ...,
        exists=True,
        file_okay=False,
        help="Reference data (policies, catalogs) to recompute with",
    ),
    from_offset: int | None = FROM_OFFSET,
    to_offset: int | None = TO_OFFSET,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    partition: list[int] | None = PARTITION,
    ce_id: list[str] | None = CE_ID,
    rate: float | None = RATE,
    limit: int = typer.Option(20, min=0, help="Changed settlements listed in the table"),
    as_json: bool = JSON,
) -> None:
    """Recompute the range's visits with other reference data; diff against production."""
    from services.adjudication.reference import load_reference
    from services.entry.bootstrap import build_runtime
    from services.ops.shadow import shadow

    settings = get_settings()
    runtime = build_runtime(settings)
    ref = load_reference(reference)
    request = _request(from_offset, to_offset, since, until, partition, ce_id)

    async def go() -> Any:
        return await _with_progress(
            f"shadow {name}",
            lambda progress, plan: shadow(
                settings.kafka(principals.OPS), settings.database_url.get_secret_value(), settings.env,
                runtime.codec, ref, name, request, rate, progress, plan,
            ),
        )  # fmt: skip

    report = run_ops(go)
    if as_json:
        _print(report.as_dict(), True)
        return
    d = report.diff
    _print(report.run.as_dict(), False)
    out.print(f"in range: {report.in_range} inputs; compared {d.compared}: identical {d.identical}, "
              f"re-versioned only {d.reversioned}, [bold]changed {len(d.changed)}[/bold], "
              f"only in production {len(d.only_production)}, only in shadow {len(d.only_shadow)}")  # fmt: skip
    totals = Table("amount", "production", "shadow", "delta", title="totals")
    for k, delta in d.totals_delta().items():
        totals.add_row(k, str(d.totals_production[k]), str(d.totals_shadow[k]), str(delta))
    out.print(totals)
    changed = Table("setl_id", "home", "fund before", "fund after", "delta", title="changed")
    for c in d.changed[:limit]:
        assert c.production is not None and c.shadow is not None
        changed.add_row(c.setl_id, c.insuplc_admdvs, str(c.production["fund_pay_sumamt"]),
                        str(c.shadow["fund_pay_sumamt"]), str(c.delta("fund_pay_sumamt")))  # fmt: skip
    out.print(changed)


@replay_app.command("drop-shadow")
def drop_shadow_cmd(name: str = typer.Option(..., help="The shadow to remove")) -> None:
    """Remove a shadow's schema, topics and run record (production is not touched)."""
    from services.ops.shadow import drop

    settings = get_settings()

    async def go() -> None:
        await drop(settings.kafka(principals.OPS), settings.database_url.get_secret_value(), name)

    run_ops(go)
    out.print(f"shadow {name} dropped")


@replay_app.command("runs")
def runs_cmd(as_json: bool = JSON) -> None:
    """Replay runs recorded in PostgreSQL, newest first."""
    import asyncpg

    from services.ops.runs import list_runs

    settings = get_settings()

    async def go() -> Any:
        conn = await asyncpg.connect(settings.database_url.get_secret_value())
        try:
            return [r.as_dict() for r in await list_runs(conn)]
        finally:
            await conn.close()

    rows = run_ops(go)
    if as_json:
        out.print_json(json.dumps(rows, default=str))
        return
    table = Table("run", "kind", "status", "records", "seconds", "started")
    for r in rows:
        table.add_row(r["run_id"], r["kind"], r["status"], str(r["records"]),
                      f"{r['seconds'] or 0:.1f}", str(r["started_at"]))  # fmt: skip
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(replay_app, name="replay")
