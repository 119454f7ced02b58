"""``yidi bench replay``: rebuild rate of the ledger and clearing vs reading the log alone."""

from __future__ import annotations

import asyncio
import json

import typer
from rich.console import Console

from services.runtime.settings import get_settings


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("replay")
    def replay_cmd(
        runs: int = typer.Option(3, help="Rebuilds to time (medians reported)"),
        projection: list[str] = typer.Option(
            ["ledger", "ledger:trusted", "clearing", "clearing:trusted"],
            help="Projections (repeat; NAME:trusted = the --trusted rebuild)",
        ),
        copies: int = typer.Option(
            1, min=1, help="Measure at scale: a scratch topic with the feed this many times"
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON"),
    ) -> None:
        """Rebuild projections from the whole settlement feed into a throw-away database."""
        from services.entry.bootstrap import build_runtime
        from services.runtime.logging import configure_logging
        from services.tools.bench.replay import run

        settings = get_settings()
        configure_logging("warning", settings.log_format)
        codec = build_runtime(settings).codec
        result = asyncio.run(run(settings, codec, runs, tuple(projection), copies)).as_dict()
        if as_json:
            print(json.dumps(result))
            return
        console = Console()
        console.print(f"{result['records']:,} settlement-feed records, {runs} runs")
        console.print(f"baseline read only: {result['baseline_read_per_s_median']:,}/s")
        for name in projection:
            console.print(
                f"rebuild {name}: {result[f'rebuild_{name}_per_s_median']:,} events/s "
                f"(runs {result[f'rebuild_{name}_per_s_runs']}); "
                f"ratio to read {result[f'rebuild_{name}_to_read_ratio']}"
            )
