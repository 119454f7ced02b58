"""``yidi adjudicate``: run a JSONL file of messages through the adjudication core offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    """Attach ``adjudicate`` to the root app."""

    @app.command("adjudicate")
    def adjudicate_cmd(
        events: Annotated[Path, typer.Option(help="Input JSONL: one message per line.")],
        out: Annotated[Path, typer.Option(help="Output JSONL: results and rejections.")],
        reference: Annotated[Path | None, typer.Option(help="Reference directory.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Run a JSONL file of messages through the adjudication core, offline.

        Same input, byte-identical output; prints outcome counts and pair totals.
        """
        from services.adjudication.offline import InvalidLine, run
        from services.adjudication.reference import ReferenceLoadError, load_reference

        console = Console(stderr=True)
        try:
            ref = load_reference(reference)
        except ReferenceLoadError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        try:
            with events.open("rb") as src, out.open("wb") as dst:
                outputs, runner = run(src, ref)
                for line in outputs:
                    dst.write(line + b"\n")
        except InvalidLine as exc:
            console.print(f"[red]{events}: {exc}[/red]")
            raise typer.Exit(2) from exc
        summary = runner.summary.as_dict()
        if as_json:
            typer.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
            return
        counts = Table(title="outcomes")
        counts.add_column("outcome")
        counts.add_column("count", justify="right")
        for outcome, count in summary["outcomes"].items():
            counts.add_row(outcome, str(count))
        pairs = Table(title="fund totals by home -> treatment")
        for column in ("home", "treatment", "settlements", "medfee", "fund paid", "account"):
            pairs.add_column(column, justify="right")
        for p in summary["pairs"]:
            pairs.add_row(
                p["home"],
                p["treatment"],
                str(p["settlements"]),
                p["medfee_sumamt"],
                p["fund_pay_sumamt"],
                p["acct_pay"],
            )
        stdout = Console()
        stdout.print(counts)
        stdout.print(pairs)
