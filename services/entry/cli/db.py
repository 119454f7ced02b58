"""``yidi db …``: schema migrations."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from services.runtime.db import connect
from services.runtime.migrations import applied_migrations, load_migrations, migrate
from services.runtime.settings import get_settings

db_app = typer.Typer(help="PostgreSQL schema.", no_args_is_help=True)
console = Console()


@db_app.command("migrate")
def migrate_cmd() -> None:
    """Apply pending migrations (idempotent)."""

    async def run() -> None:
        settings = get_settings()
        conn = await connect(settings)
        try:
            applied = await migrate(
                conn, role_passwords=settings.role_passwords(),
                service_roles=settings.database_roles,
            )  # fmt: skip
        finally:
            await conn.close()
        if applied:
            for m in applied:
                console.print(f"applied {m.version:04d}_{m.name}")
        else:
            console.print("schema up to date")

    asyncio.run(run())


@db_app.command("status")
def status_cmd() -> None:
    """Show each migration file and whether it is applied."""

    async def run() -> None:
        conn = await connect(get_settings())
        try:
            done = await applied_migrations(conn)
        finally:
            await conn.close()
        table = Table("version", "name", "state")
        for m in load_migrations():
            state = "applied" if m.version in done else "pending"
            if m.version in done and done[m.version] != m.checksum:
                state = "[red]changed after apply[/red]"
            table.add_row(f"{m.version:04d}", m.name, state)
        console.print(table)

    asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
