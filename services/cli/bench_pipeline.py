"""``yidi bench pipeline``."""

from __future__ import annotations

import asyncio
import json
import statistics

import typer
from rich.console import Console
from rich.table import Table


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("pipeline")
    def pipeline_cmd(
        visits: int = typer.Option(2000, help="Visits per run (about 5 visit-topic messages each)"),
        rates: str = typer.Option(
            "1000,0", help="Offered visit messages/s per level; 0 = as fast as possible"
        ),
        runs: int = typer.Option(3, help="Runs per level (medians reported)"),
        adjudicators: int = typer.Option(1, help="Adjudication worker processes"),
        ledgers: int = typer.Option(1, help="Ledger worker processes"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Offered load vs achieved settlements/s and ack latency, with a raw Kafka baseline."""
        from services.bench.pipeline import WorkerProcesses, baseline, run_level
        from services.runtime.settings import get_settings
        from services.simulator.build import Built

        settings = get_settings()
        levels = [float(r) for r in rates.split(",")]
        out: dict[str, object] = {"bench": "pipeline", "visits_per_run": visits, "runs": runs,
                                  "adjudicators": adjudicators, "ledgers": ledgers, "levels": []}  # fmt: skip

        levels_out: list[dict[str, float | int | str]] = []
        out["levels"] = levels_out

        async def main() -> None:
            last: list[Built] = []
            with WorkerProcesses(adjudicators, ledgers):
                await asyncio.sleep(3)
                for rate in levels:
                    results = []
                    for r in range(runs):
                        level, last = await run_level(settings, visits, rate, seed=100 + r)
                        results.append(level)
                    levels_out.append({
                        "offered_msgs_per_s": rate or "max",
                        "achieved_msgs_per_s": round(statistics.median(x.messages_per_s for x in results)),
                        "settlements_per_s": round(statistics.median(x.settlements_per_s for x in results)),
                        "ack_p50_ms": round(statistics.median(x.p50_ms for x in results), 1),
                        "ack_p95_ms": round(statistics.median(x.p95_ms for x in results), 1),
                        "ack_p99_ms": round(statistics.median(x.p99_ms for x in results), 1),
                        "missing_acks": sum(x.missing_acks for x in results),
                    })  # fmt: skip
            raw = [await baseline(settings, last) for _ in range(runs)]
            out["raw_baseline_msgs_per_s"] = round(statistics.median(raw))
            best = max(float(lv["achieved_msgs_per_s"]) for lv in levels_out)
            out["ratio_best_to_raw"] = round(best / statistics.median(raw), 3)

        asyncio.run(main())
        if as_json:
            typer.echo(json.dumps(out))
            return
        table = Table("offered msg/s", "achieved msg/s", "settlements/s", "ack p50 ms", "p95", "p99", "missing acks",
                      title=f"pipeline ({adjudicators} adjudicator, {ledgers} ledger; medians of {runs})")  # fmt: skip
        for lv in levels_out:
            table.add_row(*(str(lv[k]) for k in ("offered_msgs_per_s", "achieved_msgs_per_s", "settlements_per_s",
                                                  "ack_p50_ms", "ack_p95_ms", "ack_p99_ms", "missing_acks")))  # fmt: skip
        console = Console()
        console.print(table)
        console.print(f"raw aiokafka produce->consume of the same messages: {out['raw_baseline_msgs_per_s']:,} msg/s; "
                      f"best pipeline / raw = {out['ratio_best_to_raw']}")  # fmt: skip
