"""``yidi bench supervision``: the supervision worker's records/s alone (faust, real broker)."""

from __future__ import annotations

import json
import statistics

import typer
from rich.console import Console

from events.stream.clients import KafkaConnection
from services.runtime import principals


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("supervision")
    def supervision_cmd(
        runs: int = typer.Option(3, min=1, help="Timed runs, each a fresh group (median reported)"),
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout"),
        during_pipeline: int = typer.Option(
            0,
            "--during-pipeline",
            help="Instead: run `yidi bench pipeline --rates 0 --runs 1` with this many visits "
            "and the worker alongside; report its lag (max, at the pipeline's end, catch-up)",
        ),
    ) -> None:
        """Records/s of `yidi worker supervision` over everything on the visit and settlement
        topics (fill them first, e.g. `yidi simulate --visits 3000`), from its first commit
        to the end; start-up (faust, table recovery) reported apart."""
        from services.runtime.settings import get_settings
        from services.tools.bench.supervision import one_run

        settings = get_settings()
        # the worker's own identity: it may read the visit and settlement topics and its
        # groups' offsets (the simulator's may not read the settlement topic since issue 17)
        if during_pipeline:
            _lag_report(settings.kafka(principals.SUPERVISION), during_pipeline, as_json)
            return
        results = [one_run(settings.kafka(principals.SUPERVISION)) for _ in range(runs)]
        rates = [r.per_s for r in results]
        data = {
            "bench": "supervision", "runs": runs, "records": results[-1].records,
            "median_per_s": round(statistics.median(rates)), "per_s": [round(x) for x in rates],
            "median_per_cpu_s": round(statistics.median(r.per_cpu_s for r in results)),
            "per_cpu_s": [round(r.per_cpu_s) for r in results],
            "startup_s": [round(r.startup_s, 1) for r in results],
            "seconds": [round(r.seconds, 2) for r in results],
        }  # fmt: skip
        if as_json:
            typer.echo(json.dumps(data))
            return
        Console().print(
            f"supervision worker: {data['median_per_s']:,} records/s (median of {runs}: "
            f"{data['per_s']}) over {data['records']:,} visit + settlement records; "
            f"{data['median_per_cpu_s']:,} per second of the worker's own CPU; "
            f"start-up before the first commit {data['startup_s']} s"
        )


def _lag_report(bootstrap: KafkaConnection, visits: int, as_json: bool) -> None:
    from services.tools.bench.supervision_lag import during_pipeline

    run = during_pipeline(bootstrap, visits)
    levels = run.pipeline.get("levels") or [{}]
    level = levels[0] if isinstance(levels, list) else {}
    data = {
        "bench": "supervision-lag", "visits": visits, "max_lag": run.max_lag,
        "lag_at_pipeline_end": run.lag_at(run.pipeline_s), "pipeline_s": round(run.pipeline_s, 1),
        "catchup_s": None if run.catchup_s is None else round(run.catchup_s, 1),
        "pipeline_settlements_per_s": level.get("settlements_per_s"),
        "pipeline_achieved_msgs_per_s": level.get("achieved_msgs_per_s"),
        "samples": run.samples, "worker_log": run.worker_log,
    }  # fmt: skip
    if as_json:
        typer.echo(json.dumps(data))
        return
    Console().print(
        f"supervision lag during the pipeline bench ({visits:,} visits, "
        f"{data['pipeline_settlements_per_s']} settlements/s): max {data['max_lag']:,} records, "
        f"{data['lag_at_pipeline_end']:,} when the pipeline ended after {data['pipeline_s']} s; "
        f"caught up {data['catchup_s']} s later"
        + ("" if run.catchup_s is not None else f" (worker log: {run.worker_log})")
    )
