"""``yidi ledger …``: read-only views of the ledger."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import typer
from rich.console import Console
from rich.table import Table

from services.entry.cli.tables import print_table
from services.entry.cli.tables import table as new_table
from services.ledger.summary import PairTotal, province_pairs
from services.runtime.db import connect
from services.runtime.settings import get_settings

ledger_app = typer.Typer(help="The settlement ledger (PostgreSQL).", no_args_is_help=True)


def print_preview(console: Console, pairs: Sequence[PairTotal]) -> None:
    """The preview table: one row per home -> treatment province pair, and the total."""
    table = new_table("home (pays)", "treatment (receives)", "settlements", "reversals",
                      "medfee_sumamt", "fund_pay_sumamt", title="clearing preview: cross-province fund flows",
                      right=("settlements", "reversals", "medfee_sumamt", "fund_pay_sumamt"))  # fmt: skip
    for p in pairs:
        table.add_row(p.home, p.treatment, str(p.settlements), str(p.reversals),
                      f"{p.medfee_sumamt:,.2f}", f"{p.fund_pay_sumamt:,.2f}")  # fmt: skip
    total = sum((p.fund_pay_sumamt for p in pairs), start=Decimal(0))
    table.add_row("", "total", "", "", "", f"{total:,.2f}", style="bold")
    print_table(console, table)


@ledger_app.command("preview")
def preview_cmd(
    since: str | None = typer.Option(None, help="Only rows landed at or after this ISO time"),
) -> None:
    """Clearing preview: fund paid per home -> treatment province, net of reversals."""

    async def run() -> None:
        conn = await connect(get_settings())
        try:
            pairs = await province_pairs(conn, dt.datetime.fromisoformat(since) if since else None)
        finally:
            await conn.close()
        print_preview(Console(), pairs)

    asyncio.run(run())


@ledger_app.command("hash")
def hash_cmd(
    period: str | None = typer.Option(None, help="Only this month (YYYY-MM)"),
    as_json: bool = typer.Option(False, "--json", help="Print the digest as JSON"),
) -> None:
    """A stable SHA-256 of the ledger and clearing state: the same content gives the same digest
    on any machine, whatever the insertion order or source offsets (docs/ops.md)."""
    import json

    from services.ops.core.digest import Period
    from services.ops.core.errors import OpsError
    from services.ops.ledger_hash import ledger_digest

    async def run() -> dict[str, object]:
        conn = await connect(get_settings())
        try:
            return (await ledger_digest(conn, Period.parse(period) if period else None)).as_dict()
        finally:
            await conn.close()

    try:
        result = asyncio.run(run())
    except OpsError as exc:
        Console(stderr=True).print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table("table", "rows", "sha256", title=f"ledger hash {result['period'] or '(all)'}")
    for t in result["tables"]:  # type: ignore[attr-defined]
        table.add_row(t["table"], str(t["rows"]) if t["present"] else "absent", t["sha256"][:16])
    console = Console()
    console.print(table)
    console.print(result["digest"], style="bold")


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
