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
        workers: int = typer.Option(
            1, min=1, help="Worker processes in the one group (records/s alone: all of them)"
        ),
        during_pipeline: int = typer.Option(
            0,
            "--during-pipeline",
            help="Instead: --runs times, run `yidi bench pipeline --rates 0 --runs 1` with this "
            "many visits and the worker alongside; report its lag (max, at the load's end, "
            "time to catch up after it; medians)",
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
            _lag_report(settings.kafka(principals.SUPERVISION), during_pipeline, runs, as_json)
            return
        results = [
            one_run(settings.kafka(principals.SUPERVISION), workers=workers) for _ in range(runs)
        ]
        rates = [r.per_s for r in results]
        data = {
            "bench": "supervision", "runs": runs, "workers": workers,
            "records": results[-1].records,
            "median_per_s": round(statistics.median(rates)), "per_s": [round(x) for x in rates],
            "median_per_cpu_s": round(statistics.median(r.per_cpu_s for r in results)),
            "per_cpu_s": [round(r.per_cpu_s) for r in results],
            "startup_s": [round(r.startup_s, 1) for r in results],
            "seconds": [round(r.seconds, 2) for r in results],
            "stages": results[-1].stages, "worker_logs": [r.worker_log for r in results],
        }  # fmt: skip
        if as_json:
            typer.echo(json.dumps(data))
            return
        Console().print(
            f"supervision worker x{workers}: {data['median_per_s']:,} records/s (median of {runs}: "
            f"{data['per_s']}) over {data['records']:,} visit + settlement records; "
            f"{data['median_per_cpu_s']:,} per second of the worker's own CPU; "
            f"start-up before the first commit {data['startup_s']} s"
        )
        _print_stages(results[-1].stages)


def _print_stages(stages: dict[str, dict[str, float]]) -> None:
    """The worker's own accounting of its time (services/supervision/adapters/stages.py)."""
    if not stages:
        return
    parts = [
        f"{name} {v['s']:.1f} s/{int(v['n'])}" if "s" in v else f"{name} {int(v['n'])}"
        for name, v in stages.items()
    ]
    Console().print("worker stages (seconds/count, last run): " + "; ".join(parts))


def _lag_report(bootstrap: KafkaConnection, visits: int, runs: int, as_json: bool) -> None:
    from services.tools.bench.supervision_lag import during_pipeline

    results = [during_pipeline(bootstrap, visits) for _ in range(runs)]

    def median(xs: list[float | None]) -> float | None:
        """A run that never caught up (None) counts as the longest; None if that is the
        median."""
        m = statistics.median(float("inf") if x is None else x for x in xs)
        return None if m == float("inf") else round(m, 1)

    def level(run: object) -> dict[str, object]:
        levels = getattr(run, "pipeline", {}).get("levels") or [{}]
        return levels[0] if isinstance(levels, list) else {}

    per_run = [
        {
            "max_lag": r.max_lag, "load_end_s": r.load_end_s,
            "lag_at_load_end": r.lag_at(r.load_end_s),
            "catchup_s": None if r.catchup_s is None else round(r.catchup_s, 1),
            "pipeline_s": round(r.pipeline_s, 1),
            "lag_at_pipeline_end": r.lag_at(r.pipeline_s),
            "pipeline_settlements_per_s": level(r).get("settlements_per_s"),
            "pipeline_achieved_msgs_per_s": level(r).get("achieved_msgs_per_s"),
            "worker_log": r.worker_log, "stages": r.stages, "samples": r.samples,
        }
        for r in results
    ]  # fmt: skip
    data = {
        "bench": "supervision-lag", "visits": visits, "runs": runs,
        "median_max_lag": median([r.max_lag for r in results]),
        "median_lag_at_load_end": median([r.lag_at(r.load_end_s) for r in results]),
        "median_catchup_s": median([r.catchup_s for r in results]),
        "caught_up": sum(r.catchup_s is not None for r in results),
        "per_run": per_run,
    }  # fmt: skip
    if as_json:
        typer.echo(json.dumps(data))
        return
    for i, r in enumerate(per_run, 1):
        Console().print(
            f"run {i}: pipeline {r['pipeline_settlements_per_s']} settlements/s; lag max "
            f"{r['max_lag']:,}, {r['lag_at_load_end']:,} when the load ended "
            f"({r['load_end_s']} s after the start); caught up "
            + ("never" if r["catchup_s"] is None else f"{r['catchup_s']} s")
            + f" after it (worker log: {r['worker_log']})"
        )
    Console().print(
        f"supervision lag during the pipeline bench ({visits:,} visits), median of {runs}: "
        f"max {data['median_max_lag']}, at the load's end {data['median_lag_at_load_end']}, "
        f"caught up {data['median_catchup_s']} s after it ({data['caught_up']}/{runs} runs "
        "caught up)"
    )
    _print_stages(results[-1].stages)
