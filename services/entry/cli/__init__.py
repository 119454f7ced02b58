"""The ``yidi`` command: one typer app, one sub-command module per concern.

Each module exposes ``register(app)``; nothing connects or reads settings at
import time, so ``yidi --help`` works with no broker and no database.
"""

from __future__ import annotations

import typer

from services.entry.cli import adjudicate as adjudicate_cmd
from services.entry.cli import audit as audit_cmd
from services.entry.cli import clearing as clearing_cmd
from services.entry.cli import contracts as contracts_cmd
from services.entry.cli import dashboard as dashboard_cmd
from services.entry.cli import db as db_cmd
from services.entry.cli import dlq as dlq_cmd
from services.entry.cli import keys as keys_cmd
from services.entry.cli import ledger as ledger_cmd
from services.entry.cli import metrics as metrics_cmd
from services.entry.cli import replay as replay_cmd
from services.entry.cli import security as security_cmd
from services.entry.cli import simulate as simulate_cmd
from services.entry.cli import supervision as supervision_cmd
from services.entry.cli import topics as topics_cmd
from services.entry.cli import worker as worker_cmd
from services.tools.bench import commands as bench_cmd

app = typer.Typer(
    name="yidi",
    help="Cross-region direct settlement (异地就医直接结算) message system.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# One line per command module; keep this list sorted.
for _module in (
    adjudicate_cmd,
    audit_cmd,
    bench_cmd,
    clearing_cmd,
    contracts_cmd,
    dashboard_cmd,
    db_cmd,
    dlq_cmd,
    keys_cmd,
    ledger_cmd,
    metrics_cmd,
    replay_cmd,
    security_cmd,
    simulate_cmd,
    supervision_cmd,
    topics_cmd,
    worker_cmd,
):
    _module.register(app)


def main() -> None:
    """Console entry point."""
    app()
