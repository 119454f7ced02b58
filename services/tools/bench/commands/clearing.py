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
        payload_bytes: int = typer.Option(
            1, help="Each ledger row's stored message (a real settlement's: ~1,340 bytes)"
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON"),
    ) -> None:
        """Load N synthetic settlements into a throw-away database and close the month."""
        from services.entry.bootstrap import build_runtime
        from services.runtime.logging import configure_logging
        from services.tools.bench.clearing_close import run

        settings = get_settings()
        configure_logging("warning", settings.log_format)
        codec = build_runtime(settings).codec
        result = asyncio.run(run(settings, codec, rows, runs, payload_bytes)).as_dict()
        if as_json:
            print(json.dumps(result))
            return
        console = Console()
        console.print(
            f"{result['rows']:,} ledger rows of {result['payload_bytes']:,} payload bytes "
            f"({result['national_entries']:,} cross-province) "
            f"loaded in {result['load_s']} s"
        )
        console.print(
            f"month close median {result['close_s_median']} s (runs {result['close_s_runs']}); "
            f"baseline GROUP BY {result['baseline_group_by_s_median']} s; "
            f"ratio {result['ratio_close_to_baseline']}"
        )
