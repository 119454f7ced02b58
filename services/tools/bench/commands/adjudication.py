"""``yidi bench adjudication``: settlements per second of the pure core."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

TARGET_OUTPATIENT_PER_S = 20_000


def register_bench(bench_app: typer.Typer) -> None:
    """Attach ``adjudication`` to ``yidi bench``."""

    @bench_app.command("adjudication")
    def adjudication_cmd(
        count: Annotated[int, typer.Option(help="Settlements per run (inpatient: 1/5).")] = 5000,
        runs: Annotated[int, typer.Option(help="Runs; medians are reported.")] = 7,
        reference: Annotated[Path | None, typer.Option(help="Reference directory.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    ) -> None:
        """Outpatient (8 fee lines) and inpatient (60) settlements through the pure core."""
        from services.adjudication.reference import load_reference
        from services.tools.bench.adjudication import run_bench

        results = run_bench(load_reference(reference), count=count, runs=runs)
        if as_json:
            payload = {
                "target_outpatient_per_s": TARGET_OUTPATIENT_PER_S,
                "scenarios": [dataclasses.asdict(r) for r in results],
            }
            typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
            return
        table = Table(
            title=f"adjudication core: medians of {runs} runs; ratios vs baselines in the same run:"
            " catalog pricing only, pydantic validation of the request"
        )
        columns: tuple[str, ...] = ("scenario", "lines", "settle/s", "best/s", "µs")
        columns += ("pricing/s", "×pricing", "validate/s", "×validate")
        for column in columns:
            table.add_column(column, justify="right")
        for r in results:
            table.add_row(
                r.name,
                str(r.fee_lines),
                f"{r.settlements_per_s:,.0f}",
                f"{r.best_per_s:,.0f}",
                f"{r.per_settlement_us:.1f}",
                f"{r.baseline_per_s:,.0f}",
                f"{r.ratio_to_baseline:.3f}",
                f"{r.validation_per_s:,.0f}",
                f"{r.ratio_to_validation:.3f}",
            )
        console = Console(width=max(Console().width, 100))
        console.print(table)
        outpatient = results[0].settlements_per_s
        verdict = "meets" if outpatient >= TARGET_OUTPATIENT_PER_S else "below"
        console.print(
            f"outpatient {outpatient:,.0f}/s {verdict} the {TARGET_OUTPATIENT_PER_S:,}/s target"
        )
