"""``yidi ledger …``: read-only views of the ledger."""

from __future__ import annotations

import asyncio
import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from services.ledger.summary import province_pairs
from services.runtime.db import connect
from services.runtime.settings import get_settings

ledger_app = typer.Typer(help="The settlement ledger (PostgreSQL).", no_args_is_help=True)


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
        table = Table("home (pays)", "treatment (receives)", "settlements", "reversals", "medfee_sumamt", "fund_pay_sumamt",
                      title="clearing preview: cross-province fund flows")  # fmt: skip
        for p in pairs:
            table.add_row(
                p.home,
                p.treatment,
                str(p.settlements),
                str(p.reversals),
                f"{p.medfee_sumamt:,.2f}",
                f"{p.fund_pay_sumamt:,.2f}",
            )
        total = sum((p.fund_pay_sumamt for p in pairs), start=0)
        table.add_row("", "total", "", "", "", f"{total:,.2f}", style="bold")
        Console().print(table)

    asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
