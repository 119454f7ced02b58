"""``yidi keys gen SENDER``: a new MAC key for an institution or agency, appended to the registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console

from events.signing import KeyRegistry, generate_key

keys_app = typer.Typer(help="Sender keys (HMAC-SHA256).", no_args_is_help=True)
console = Console()
DEFAULT_REGISTRY = Path("deploy/keys/registry.json")


@keys_app.command("gen")
def gen_cmd(
    sender: str = typer.Argument(
        ..., help="Institution code (H33090200001) or agency id (AG330900)"
    ),
    registry: Path = typer.Option(DEFAULT_REGISTRY, help="Key registry file (created if absent)"),
    not_before: str | None = typer.Option(
        None, help="ISO time the key becomes valid (default now)"
    ),
) -> None:
    """Generate a key; the previous keys stay valid until given a not_after (rotation)."""
    start = (
        dt.datetime.fromisoformat(not_before)
        if not_before
        else dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0)
    )
    keys = KeyRegistry.load(registry)
    key = generate_key(sender, start)
    keys.add(key)
    keys.save(registry)
    console.print(
        f"key {key.kid} for {sender}, valid from {start.isoformat()}, saved to {registry}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
