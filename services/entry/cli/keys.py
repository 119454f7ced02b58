"""``yidi keys gen SENDER``: a new MAC key for an institution or agency, appended to the registry.
``yidi keys gen-agency AG…``: an agency's Ed25519 sign-off key pair: the private half to the
agency's file (mode 0600), the public half registered with the platform."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console

from events.wire.agency_signing import AgencyKeys, SigningKeys, generate_signing_key
from events.wire.signing import KeyRegistry, generate_key

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


@keys_app.command("gen-agency")
def gen_agency_cmd(
    agency: str = typer.Argument(..., help="Agency id (AG330900)"),
    private: Path = typer.Option(..., help="The agency's private key file (created, mode 0600)"),
    registry: Path = typer.Option(
        Path("deploy/keys/agency-public.json"), help="Platform's public key registry"
    ),
    not_before: str | None = typer.Option(None, help="ISO time the key becomes valid"),
) -> None:
    """Generate an Ed25519 sign-off key: earlier keys stay valid until given a not_after
    (rotation without a flag day). The platform's file gets only the public key."""
    if not agency.startswith("AG"):
        raise typer.BadParameter("sign-off keys are for agencies (AG + region code)")
    start = (
        dt.datetime.fromisoformat(not_before)
        if not_before
        else dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0)
    )
    key = generate_signing_key(agency, start)
    own = SigningKeys.load(private) if private.exists() else SigningKeys([])
    own.add(key)
    own.save(private)
    public = AgencyKeys.load(registry)
    public.add(key.public_key())
    public.save(registry)
    console.print(f"sign-off key {key.kid} for {agency}: private {private}, public {registry}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
