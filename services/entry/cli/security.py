"""``yidi security …``: the broker's principals and ACLs (docs/security.md).

``apply`` makes the cluster match what the catalog and the reference data imply; ``check``
prints the drift and exits 1 when there is any; ``credentials`` prints one principal's client
config (its own password only) for the party that runs that client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

from services.runtime import principals
from services.runtime.settings import Settings, get_settings

if TYPE_CHECKING:
    from services.ops.security import Desired

console = Console()
security_app = typer.Typer(help="Broker principals, ACLs and credentials.", no_args_is_help=True)


def _desired(settings: Settings) -> Desired:
    from services.entry.bootstrap import build_runtime
    from services.ops import security

    return security.desired(build_runtime(settings).senders(), simulator=settings.env != "prod")


@security_app.command("apply")
def apply_cmd() -> None:
    """Create every principal (a SCRAM user per institution, agency, service, the clearing
    center, ops) and exactly the ACLs each needs; remove users and ACLs nobody should have."""
    from services.ops import security

    settings = get_settings()
    report = security.apply(
        settings.kafka(principals.ADMIN), _desired(settings), settings.secrets_dir
    )
    console.print(
        f"users created or reset: {len(report.users_created)}, removed: {len(report.users_removed)}; "
        f"ACLs created: {report.acls_created}, removed: {report.acls_removed}"
    )


@security_app.command("check")
def check_cmd() -> None:
    """Print missing / extra users and ACLs; exit 1 when there is any drift."""
    from services.ops import security

    settings = get_settings()
    want = _desired(settings)
    d = security.drift(want, security.observe(settings.kafka(principals.ADMIN)))
    for line in d.lines():
        console.print(line, highlight=False)
    if not d.clean:
        raise typer.Exit(1)
    console.print(f"no drift: {len(want.users)} users, {len(want.acls)} ACLs")


@security_app.command("credentials")
def credentials_cmd(
    principal: str = typer.Argument(
        ..., help="An institution code (H...), agency (AG...) or service"
    ),
) -> None:
    """A Kafka client config file for ``principal`` alone (Java properties; the same values as
    ``YIDI_KAFKA_*`` for yidi's SDK): bootstrap, TLS trust, its SCRAM login."""
    from services.ops import security

    settings = get_settings()
    if principal == principals.ADMIN or principal not in _desired(settings).users:
        console.print(f"[red]{principal}: not a principal yidi manages (or the super user)[/]")
        raise typer.Exit(2)
    conn = settings.kafka(principal)
    typer.echo(f"# Kafka client config for {principal} (secret: keep it mode 0600)")
    typer.echo(security.client_properties(conn), nl=False)
    typer.echo(
        f"# yidi SDK: YIDI_KAFKA_BOOTSTRAP={conn.bootstrap} YIDI_KAFKA_SECURITY_PROTOCOL="
        f"{conn.security_protocol} YIDI_KAFKA_USER={conn.user} YIDI_KAFKA_PASSWORD=<the password "
        f"above> YIDI_KAFKA_CA_FILE={conn.ca_file}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(security_app, name="security")
