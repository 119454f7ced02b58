"""``yidi dashboard serve|users``: the web dashboard (docs/dashboard.md)."""

from __future__ import annotations

import asyncio

import typer

from services.runtime.logging import configure_logging
from services.runtime.settings import get_settings

dashboard_app = typer.Typer(help="The web dashboard: clearing, prepayments, alerts, ops, live.",
                            no_args_is_help=True)  # fmt: skip


@dashboard_app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8765, min=1, max=65535, help="Port to listen on"),
) -> None:
    """Serve the dashboard until SIGTERM/SIGINT (logins: `yidi dashboard users`)."""
    from services.dashboard.web.server import serve

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve(settings, host, port))


@dashboard_app.command("users")
def users_cmd() -> None:
    """Give each dashboard login (clearing-center, ops, every province's agency) a password
    once; hashes to .run/dashboard/users.json, clear ones to .run/dashboard/secrets/
    passwords.json (0600). Idempotent (`make up` runs it)."""
    from services.adjudication.reference import load_reference
    from services.dashboard.users import DashboardFiles, ensure_users, logins
    from services.entry.bootstrap import sender_ids

    settings = get_settings()
    agencies = [s for s in sender_ids(load_reference(settings.reference_dir)) if s.startswith("AG")]
    files = DashboardFiles.under(settings.run_dir)
    made = ensure_users(files, logins(agencies))
    typer.echo(f"dashboard logins: {len(logins(agencies))} ({len(made)} new); "
               f"passwords in {files.passwords}")  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(dashboard_app, name="dashboard")
