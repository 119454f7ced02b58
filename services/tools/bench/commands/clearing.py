"""``yidi bench clearing-close``: month close over N ledger rows vs one GROUP BY over them."""

from __future__ import annotations

import asyncio
import json

import typer
from rich.console import Console

from services.runtime.settings import get_settings


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("clearing-close")
    def clearing_close_cmd(
        rows: int = typer.Option(1_000_000, help="Ledger rows in the month"),
        runs: int = typer.Option(3, help="Closes to time (median reported)"),
        as_json: bool = typer.Option(False, "--json", help="Print JSON"),
    ) -> None:
        """Load N synthetic settlements into a throw-away database and close the month."""
        from services.entry.bootstrap import build_runtime
        from services.runtime.logging import configure_logging
        from services.tools.bench.clearing_close import run

        settings = get_settings()
        configure_logging("warning", settings.log_format)
        result = asyncio.run(run(settings, build_runtime(settings).codec, rows, runs)).as_dict()
        if as_json:
            print(json.dumps(result))
            return
        console = Console()
        console.print(
            f"{result['rows']:,} ledger rows ({result['national_entries']:,} cross-province) "
            f"loaded in {result['load_s']} s"
        )
        console.print(
            f"month close median {result['close_s_median']} s (runs {result['close_s_runs']}); "
            f"baseline GROUP BY {result['baseline_group_by_s_median']} s; "
            f"ratio {result['ratio_close_to_baseline']}"
        )
