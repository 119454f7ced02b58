"""``yidi bench topics``: what one ack topic per institution costs the broker;
``yidi bench signatures``: what a per-message signature costs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("signatures")
    def signatures_cmd(
        messages: int = typer.Option(2000, help="Messages per run"),
        runs: int = typer.Option(5, help="Runs (the median is reported)"),
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout"),
    ) -> None:
        """Per-message sign and verify cost: HMAC-SHA256 vs Ed25519 (docs/security.md)."""
        from dataclasses import asdict

        from services.tools.bench.signatures import run

        data = asdict(run(messages, runs))
        if as_json:
            typer.echo(json.dumps({"bench": "signatures", **data}))
            return
        Console().print(
            f"{data['bytes_per_message']} bytes/message (median of {runs} x {messages}): "
            f"HMAC-SHA256 sign {data['hmac_sign_us']} us, verify {data['hmac_verify_us']} us; "
            f"Ed25519 sign {data['ed25519_sign_us']} us, verify {data['ed25519_verify_us']} us"
        )

    @bench_app.command("topics")
    def topics_cmd(
        count: int = typer.Option(10_000, help="Single-partition topics (one per institution)"),
        regions: int = typer.Option(32, help="The alternative: per-region topics"),
        region_partitions: int = typer.Option(6, help="Partitions of each per-region topic"),
        broker_pid: int | None = typer.Option(
            None, help="Broker pid for heap and files (default: .run/kafka/kafka.pid)"
        ),
        data_dir: Path | None = typer.Option(
            None, help="Broker log dir (default: .run/kafka/data), for the KRaft metadata log"
        ),
        keep: bool = typer.Option(False, help="Keep the topics (default: deleted at the end)"),
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout"),
    ) -> None:
        """Create COUNT single-partition topics, then REGIONS topics, and print the broker's
        cost before and after each (docs/security.md, "Isolation at scale")."""
        from services.runtime.settings import get_settings
        from services.tools.bench.topics import as_dict, run_scheme

        settings = get_settings()
        pid_file = Path(".run/kafka/kafka.pid")
        if broker_pid is None and pid_file.exists():
            broker_pid = int(pid_file.read_text().strip())
        if data_dir is None and Path(".run/kafka/data").is_dir():
            data_dir = Path(".run/kafka/data")
        results = [
            asyncio.run(run_scheme(settings.kafka(), "institution", count, 1,
                                   broker_pid, data_dir, keep)),
            asyncio.run(run_scheme(settings.kafka(), "region", regions,
                                   region_partitions, broker_pid, data_dir, keep)),
        ]  # fmt: skip
        data = [as_dict(r) for r in results]
        if as_json:
            typer.echo(json.dumps({"bench": "topics", "schemes": data}))
            return
        table = Table(title=f"broker cost: {count} topics x 1 partition vs {regions} x "
                      f"{region_partitions}")  # fmt: skip
        for col in ("scheme", "measure", "before", "after", "delta"):
            table.add_column(col)
        for r in results:
            table.add_row(r.scheme, "create time (s)", "", f"{r.create_s}", "")
            table.add_row(r.scheme, "delete time (s)", "", f"{r.delete_s}", "")
            for field in (
                "topics", "partitions", "heap_used_mib", "rss_mib", "open_files",
                "metadata_response_bytes", "metadata_fetch_ms", "metadata_log_bytes",
                "consumer_first_assignment_ms",
            ):  # fmt: skip
                b, a = getattr(r.before, field), getattr(r.after, field)
                delta = "" if a is None or b is None else f"{a - b:,.1f}"
                table.add_row(r.scheme, field, f"{b}", f"{a}", delta)
        Console().print(table)
