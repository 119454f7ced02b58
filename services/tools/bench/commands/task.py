"""``yidi bench task``: the adjudication stream task alone, no broker."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("task")
    def task_cmd(
        visits: int = typer.Option(2000, help="Simulated visits (about 5 visit messages each)"),
        runs: int = typer.Option(5, help="Timed runs (medians reported)"),
        batch: int = typer.Option(200, help="Records per engine batch (one state flush each)"),
        seed: int = typer.Option(7, help="Simulator seed"),
        reference: Path | None = typer.Option(None, help="Reference directory"),
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout"),
    ) -> None:
        """Records/s of AdjudicationTask.process + flush_state vs codec decode alone."""
        from services.adjudication.reference import DEFAULT_REFERENCE_DIR
        from services.entry.bootstrap import build_runtime
        from services.runtime.settings import get_settings
        from services.tools.bench.task import run

        settings = get_settings()
        runtime = build_runtime(settings)
        directory = reference or settings.reference_dir or DEFAULT_REFERENCE_DIR
        r = run(directory, runtime.codec, runtime.ref, visits, runs, batch, seed)
        data = {
            "bench": "task", "records": r.records, "visit_records": r.visit_records,
            "batch": r.batch, "runs": r.runs, "task_per_s": round(r.task_per_s),
            "best_per_s": round(r.best_per_s), "us_per_record": round(r.us_per_record, 1),
            "decode_per_s": round(r.decode_per_s), "ratio_to_decode": round(r.ratio_to_decode, 3),
            "json_per_s": round(r.json_per_s), "ratio_to_json": round(r.ratio_to_json, 4),
            "outputs": r.outputs, "changelog_writes": r.changelog_writes,
            "changelog_bytes": r.changelog_bytes, "with_metrics_per_s": round(r.metrics_per_s),
            "metrics_cost_pct": round(100 * r.metrics_cost, 2),
        }  # fmt: skip
        if as_json:
            typer.echo(json.dumps(data))
            return
        Console().print(
            f"adjudication task: {data['task_per_s']:,} records/s (median of {runs}, best "
            f"{data['best_per_s']:,}; {data['us_per_record']} µs/record) over {r.records:,} "
            f"records in batches of {batch}\n"
            f"baselines in the same run: codec decode {data['decode_per_s']:,}/s "
            f"(task/decode {data['ratio_to_decode']}), orjson.loads {data['json_per_s']:,}/s "
            f"(task/json {data['ratio_to_json']})\n"
            f"{r.outputs:,} outputs; changelog {r.changelog_writes:,} writes, "
            f"{r.changelog_bytes / 1e6:.1f} MB\n"
            f"with Prometheus metrics (told per batch, as the live worker): "
            f"{data['with_metrics_per_s']:,} records/s ({data['metrics_cost_pct']} % CPU cost)"
        )
