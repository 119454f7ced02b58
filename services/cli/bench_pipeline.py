"""``yidi bench pipeline``."""

from __future__ import annotations

import asyncio
import json
import statistics

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
        runs: int = typer.Option(3, help="Runs per level (medians reported)"),
        warmup: int = typer.Option(
            500, help="Visits of one unreported run first (broker JIT, worker caches); 0 = none"
        ),
        adjudicators: int = typer.Option(1, help="Adjudication worker processes"),
        ledgers: int = typer.Option(1, help="Ledger worker processes"),
        transactions: str = typer.Option(
            "on", help="Workers' Kafka transactions: on, off, or both (each level twice, same run)"
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Offered load vs achieved settlements/s and ack latency, with a raw Kafka baseline
        and the CPU each component used."""
        from services.bench.cpu import CpuMeter
        from services.bench.pipeline import WorkerProcesses, baseline, run_level, summarize
        from services.runtime.settings import get_settings
        from services.simulator.build import Built

        settings = get_settings()
        if transactions not in ("on", "off", "both"):
            raise typer.BadParameter("--transactions is on, off or both")
        modes = ["on", "off"] if transactions == "both" else [transactions]
        levels = [float(r) for r in rates.split(",")]
        levels_out: list[dict[str, object]] = []
        out: dict[str, object] = {"bench": "pipeline", "visits_per_run": visits, "runs": runs,
                                  "warmup_visits": warmup, "adjudicators": adjudicators,
                                  "ledgers": ledgers, "levels": levels_out}  # fmt: skip

        async def main() -> None:
            last: list[Built] = []
            for mode in modes:
                with WorkerProcesses(adjudicators, ledgers, transactions=mode == "on") as workers:
                    await workers.ready(settings)
                    meter = CpuMeter(workers.pids())
                    if warmup:
                        await run_level(settings, warmup, levels[0], seed=99)
                    for rate in levels:
                        results = []
                        for r in range(runs):
                            level, last = await run_level(settings, visits, rate, 100 + r, meter)
                            results.append(level)
                        levels_out.append({"transactions": mode, **summarize(rate, results)})
            raw = statistics.median([await baseline(settings, last) for _ in range(runs)])
            best = max(levels_out, key=lambda lv: float(str(lv["achieved_msgs_per_s"])))
            per_settlement = float(str(best["messages_per_settlement"]))
            out["messages_per_settlement"] = per_settlement
            out["raw_baseline_msgs_per_s"] = round(raw)
            out["ratio_best_to_raw"] = round(float(str(best["achieved_msgs_per_s"])) / raw, 3)
            out["raw_ceiling_settlements_per_s"] = (
                round(raw / per_settlement) if per_settlement else 0
            )

        asyncio.run(main())
        if as_json:
            typer.echo(json.dumps(out))
            return
        console = Console()
        title = f"pipeline ({adjudicators} adjudicator, {ledgers} ledger; medians of {runs})"
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
        console.print(
            f"raw aiokafka produce->consume of the same messages: {out['raw_baseline_msgs_per_s']:,} msg/s; "
            f"best pipeline / raw = {out['ratio_best_to_raw']}; at "
            f"{out['messages_per_settlement']} visit messages per settlement the raw rate alone "
            f"carries {out['raw_ceiling_settlements_per_s']:,} settlements/s"
        )  # fmt: skip
