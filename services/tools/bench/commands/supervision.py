"""``yidi bench supervision``: the supervision worker's records/s alone (faust, real broker)."""

from __future__ import annotations

import json
import statistics

import typer
from rich.console import Console

from services.runtime import principals


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("supervision")
    def supervision_cmd(
        runs: int = typer.Option(3, min=1, help="Timed runs, each a fresh group (median reported)"),
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout"),
    ) -> None:
        """Records/s of `yidi worker supervision` over everything on the visit and settlement
        topics (fill them first, e.g. `yidi simulate --visits 3000`), from its first commit
        to the end; start-up (faust, table recovery) reported apart."""
        from services.runtime.settings import get_settings
        from services.tools.bench.supervision import one_run

        settings = get_settings()
        results = [one_run(settings.kafka(principals.SIMULATOR)) for _ in range(runs)]
        rates = [r.per_s for r in results]
        data = {
            "bench": "supervision", "runs": runs, "records": results[-1].records,
            "median_per_s": round(statistics.median(rates)), "per_s": [round(x) for x in rates],
            "startup_s": [round(r.startup_s, 1) for r in results],
            "seconds": [round(r.seconds, 2) for r in results],
        }  # fmt: skip
        if as_json:
            typer.echo(json.dumps(data))
            return
        Console().print(
            f"supervision worker: {data['median_per_s']:,} records/s (median of {runs}: "
            f"{data['per_s']}) over {data['records']:,} visit + settlement records; "
            f"start-up before the first commit {data['startup_s']} s"
        )
