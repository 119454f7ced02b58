"""``yidi bench landing-notify``: the dashboard's trigger on the ledger's hot table."""

from __future__ import annotations

import asyncio
import json

import typer


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("landing-notify")
    def landing_notify_cmd(
        rows: int = typer.Option(500, help="Settlements per ledger batch"),
        batches: int = typer.Option(20, help="Batches per mode (trigger on / off, alternating)"),
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout"),
    ) -> None:
        """One ledger batch's time with the landing notification (trigger on, a listener
        connected) against the trigger disabled, medians, in a scratch database."""
        from services.runtime.settings import get_settings
        from services.tools.bench.landing_notify import run

        cost = asyncio.run(run(get_settings(), rows, batches))
        data = {"bench": "landing-notify", "rows_per_batch": cost.rows, "batches": cost.batches,
                "trigger_off_ms": round(cost.off_ms, 2), "trigger_on_ms": round(cost.on_ms, 2),
                "ratio": round(cost.ratio, 3), "notifications": cost.heard,
                "explain_trigger_ms": round(cost.trigger_ms, 3),
                "explain_insert_ms": round(cost.insert_ms, 3),
                "trigger_share": round(cost.trigger_ms / cost.insert_ms, 4)}  # fmt: skip
        if as_json:
            typer.echo(json.dumps(data))
            return
        typer.echo(f"ledger batch of {cost.rows}: {cost.off_ms:.1f} ms without the trigger, "
                   f"{cost.on_ms:.1f} ms with it (median of {cost.batches} each, ratio "
                   f"{cost.ratio:.3f}); {cost.heard} notifications heard; inside PostgreSQL "
                   f"(EXPLAIN ANALYZE) the trigger takes {cost.trigger_ms:.2f} ms of the "
                   f"insert's {cost.insert_ms:.2f} ms "
                   f"({100 * cost.trigger_ms / cost.insert_ms:.1f} %)")  # fmt: skip
