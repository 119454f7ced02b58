"""``yidi bench pipeline``."""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

COLUMNS = {
    "transactions": "transactions", "offered_msgs_per_s": "offered msg/s", "achieved_msgs_per_s": "achieved msg/s",
    "settlements_per_s": "settlements/s", "ack_p50_ms": "ack p50 ms", "ack_p95_ms": "p95",
    "ack_p99_ms": "p99", "missing_acks": "missing acks",
}  # fmt: skip


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("pipeline")
    def pipeline_cmd(
        visits: int = typer.Option(2000, help="Visits per run (about 5 visit-topic messages each)"),
        rates: str = typer.Option(
            "1000,0", help="Offered visit messages/s per level; 0 = as fast as possible"
        ),
        max_visits: int = typer.Option(
            10_000,
            help="Visits per run of a level offered as fast as possible (0 = --visits): long "
            "enough to be sustained (~10 s here), not a burst the ramp-up and drain dominate",
        ),
        runs: int = typer.Option(3, help="Runs per level (medians reported)"),
        warmup: int = typer.Option(
            500, help="Visits of one unreported run first (broker JIT, worker caches); 0 = none"
        ),
        adjudicators: int = typer.Option(1, help="Adjudication worker processes"),
        ledgers: int = typer.Option(1, help="Ledger worker processes"),
        transactions: str = typer.Option(
            "on", help="Workers' Kafka transactions: on, off, or both (each level twice, same run)"
        ),
        also: str = typer.Option(
            "",
            help="Other workers to run and meter too, one each: clearing, supervision, "
            "registration, recon (comma-separated)",
        ),
        java_records: int = typer.Option(
            100_000, help="Records for Kafka's Java perf tools (the client's ceiling); 0 = skip"
        ),
        as_json: bool = typer.Option(False, "--json"),
        worker_code: Path | None = typer.Option(
            None,
            help="Run the workers from this source tree (an earlier commit: `git archive C | "
            "tar -x -C DIR`) under this load generator and meter: a before/after of the "
            "workers' CPU in one command. Its .run is linked to this tree's (credentials)",
        ),
        compare_unsecured: str | None = typer.Option(
            None,
            help="An unsecured broker's bootstrap (HOST:PORT): run every level there too, "
            "report both and what TLS + SASL cost (make bench-pipeline starts one)",
        ),
    ) -> None:
        """Offered load vs achieved settlements/s and ack latency, with a raw Kafka baseline
        and the CPU each component used."""
        from services.runtime.settings import Settings, get_settings
        from services.tools.bench.pipeline import (
            WorkerProcesses,
            baseline,
            baselines,
            meter,
            prepare_topics,
            run_level,
            summarize,
            unsecured,
        )  # fmt: skip
        from services.tools.simulator.build import Built

        settings = get_settings()
        code_env = _worker_code_env(worker_code)
        if transactions not in ("on", "off", "both"):
            raise typer.BadParameter("--transactions is on, off or both")
        modes = ["on", "off"] if transactions == "both" else [transactions]
        levels = [float(r) for r in rates.split(",")]
        extra = tuple(k.strip() for k in also.split(",") if k.strip())
        levels_out: list[dict[str, object]] = []
        metered: dict[str, dict[str, list[int]]] = {}
        settled: dict[str, float] = {}
        out: dict[str, object] = {"bench": "pipeline", "visits_per_run": visits, "runs": runs,
                                  "max_visits_per_run": max_visits or visits,
                                  "warmup_visits": warmup, "adjudicators": adjudicators,
                                  "ledgers": ledgers, "also": list(extra),
                                  "levels": levels_out, "metered_pids": metered,
                                  "workers_settled_s": settled,
                                  "worker_code": str(worker_code or "this tree")}  # fmt: skip

        async def levels_on(
            s: Settings, env: dict[str, str] | None, seed: int, into: list[dict[str, object]]
        ) -> list[Built]:
            last: list[Built] = []
            for mode in modes:
                with WorkerProcesses(
                    adjudicators, ledgers, {**code_env, **(env or {})},
                    transactions=mode == "on", also=extra,
                ) as workers:  # fmt: skip
                    await workers.ready(s)
                    cpu = meter(s, workers)
                    metered[mode] = cpu.pids
                    if warmup:
                        await run_level(s, warmup, levels[0], seed=seed - 1)
                    settled[mode] = round(await cpu.settled(), 1)
                    for rate in levels:
                        n = max_visits if rate == 0 and max_visits else visits
                        results = []
                        for r in range(runs):
                            level, last = await run_level(s, n, rate, seed + r, cpu)
                            results.append(level)
                        into.append({"transactions": mode, "visits": n, **summarize(rate, results)})
            return last

        async def main() -> None:
            last = await levels_on(settings, None, 100, levels_out)
            out.update(await baselines(settings, last, runs, levels_out, java_records))
            raw = float(str(out["raw_baseline_msgs_per_s"]))
            if compare_unsecured:
                plain, env = unsecured(settings, compare_unsecured)
                await prepare_topics(plain)
                plain_levels: list[dict[str, object]] = []
                plain_last = await levels_on(plain, env, 200, plain_levels)
                plain_raw = statistics.median(
                    [await baseline(plain, plain_last) for _ in range(runs)]
                )
                out["unsecured"] = {
                    "bootstrap": compare_unsecured, "levels": plain_levels,
                    "raw_baseline_msgs_per_s": round(plain_raw),
                }  # fmt: skip
                out["tls_sasl_cost_pct"] = {
                    "raw_baseline": round(100 * (1 - raw / plain_raw), 1),
                    **{
                        f"achieved_at_{sec['offered_msgs_per_s']}": round(
                            100 * (1 - float(str(sec["achieved_msgs_per_s"]))
                                   / float(str(pl["achieved_msgs_per_s"]))), 1,
                        )
                        for sec, pl in zip(levels_out, plain_levels, strict=True)
                    },
                }  # fmt: skip

        asyncio.run(main())
        if as_json:
            typer.echo(json.dumps(out))
            return
        _print(out, levels_out)


def _worker_code_env(tree: Path | None) -> dict[str, str]:
    """The workers' environment for ``--worker-code``: that tree first on their path (it
    shadows this editable install), its ``.run`` the same as this tree's."""
    if tree is None:
        return {}
    tree = tree.resolve()
    if not (tree / "services" / "__init__.py").is_file():
        raise typer.BadParameter(f"{tree} holds no services package")
    from services.runtime.settings import REPO_ROOT

    here = REPO_ROOT / ".run"
    if not (tree / ".run").exists() and here.exists():
        (tree / ".run").symlink_to(here)
    return {"PYTHONPATH": str(tree)}


def _print(out: dict[str, object], levels_out: list[dict[str, object]]) -> None:
    console = Console()
    title = (
        f"pipeline ({out['adjudicators']} adjudicator, {out['ledgers']} ledger; "
        f"medians of {out['runs']})"
    )
    table = Table(*COLUMNS.values(), title=title)
    for lv in levels_out:
        table.add_row(*(str(lv[k]) for k in COLUMNS))
    console.print(table)
    cpu = Table("offered msg/s", "CPU, % of one core, while publishing", title="where it went")
    for lv in levels_out:
        shares = lv["cpu_pct_of_core"]
        assert isinstance(shares, dict)
        cpu.add_row(
            f"{lv['offered_msgs_per_s']} (transactions {lv['transactions']})",
            ", ".join(f"{k} {v}" for k, v in shares.items()),
        )
    console.print(cpu)
    per = Table("offered msg/s", "the workers run + broker + PostgreSQL", "by component",
                "load generator (apart)", title="CPU µs per settlement")  # fmt: skip
    for lv in levels_out:
        us = lv["cpu_us_per_settlement"]
        assert isinstance(us, dict)
        if us:
            per.add_row(
                f"{lv['offered_msgs_per_s']} (transactions {lv['transactions']})",
                f"{us['system_total']:,}",
                ", ".join(f"{k} {v:,}" for k, v in us["by_component"].items()),
                f"{us['load_generator']:,}",
            )
    console.print(per)
    plain = out.get("unsecured")
    if isinstance(plain, dict):
        table = Table(*COLUMNS.values(), title=f"the same, unsecured broker ({plain['bootstrap']})")
        for lv in plain["levels"]:
            table.add_row(*(str(lv[k]) for k in COLUMNS))
        console.print(table)
        console.print(
            f"unsecured raw baseline {plain['raw_baseline_msgs_per_s']:,} msg/s; what TLS + "
            f"SASL cost, % of the unsecured rate: {out['tls_sasl_cost_pct']}"
        )
    console.print(
        f"raw aiokafka produce->consume of the same messages (the engine's client settings): "
        f"{out['raw_baseline_msgs_per_s']:,} msg/s; "
        f"best pipeline / raw = {out['ratio_best_to_raw']}; at "
        f"{out['messages_per_settlement']} visit messages per settlement the raw rate alone "
        f"carries {out['raw_ceiling_settlements_per_s']:,} settlements/s"
    )  # fmt: skip
    java = out["java_ceiling"]
    assert isinstance(java, dict)
    if "producer_msgs_per_s" in java:
        console.print(
            f"Kafka's Java perf tools, same broker and security, {java['records']:,} records of "
            f"{java['record_bytes']:,} B: producer {java['producer_msgs_per_s']:,} msg/s, "
            f"consumer {java['consumer_msgs_per_s']:,} msg/s"
        )
    else:
        console.print(f"Kafka's Java perf tools: not run ({next(iter(java.values()))})")
    console.print(f"best pipeline msg/s over each baseline: {out['ratios_best_to']}")
