"""``yidi metrics``: each worker's ``/metrics`` read over HTTP, one line per worker.

What ``make demo`` prints at its end, and a quick look for ops without a Prometheus server:
records in and out per processor and the dead-lettered count (docs/metrics.md lists the rest).
"""

from __future__ import annotations

import urllib.request
from collections import defaultdict

import typer

DEFAULT_TARGETS = ["all=127.0.0.1:9460", "supervision=127.0.0.1:9466"]


def summary(text: str) -> dict[str, dict[str, float]]:
    """processor -> {"in", "out", "dlq"} totals from a ``/metrics`` page."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[str, float]] = defaultdict(lambda: {"in": 0.0, "out": 0.0, "dlq": 0.0})
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            processor = s.labels.get("processor")
            if processor is None:
                continue
            if s.name == "yidi_records_in_total":
                out[processor]["in"] += s.value
            elif s.name == "yidi_records_out_total":
                out[processor]["out"] += s.value
            elif s.name == "yidi_outcomes_total" and s.labels.get("outcome") == "dlq":
                out[processor]["dlq"] += s.value
    return dict(out)


def line(name: str, address: str, counts: dict[str, dict[str, float]]) -> str:
    parts = [
        f"{p} in {c['in']:,.0f} out {c['out']:,.0f}" + (f" dlq {c['dlq']:,.0f}" if c["dlq"] else "")
        for p, c in sorted(counts.items())
    ]
    return f"{name} ({address}): " + " | ".join(parts)


def register(app: typer.Typer) -> None:
    @app.command("metrics")
    def metrics_cmd(
        targets: list[str] = typer.Argument(
            None, help="NAME=HOST:PORT per worker (default: `worker all` and `worker supervision`)"
        ),
        require_counts: bool = typer.Option(
            False, "--require-counts", help="Exit 1 when a worker is unreachable or counted nothing"
        ),
    ) -> None:
        """One line per worker from its ``/metrics``: records in and out per processor."""
        failed = []
        for target in targets or DEFAULT_TARGETS:
            name, _, address = target.rpartition("=")
            name = name or address
            try:
                with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
                    counts = summary(response.read().decode())
            except OSError as exc:
                typer.echo(f"{name} ({address}): unreachable ({type(exc).__name__})")
                failed.append(name)
                continue
            typer.echo(line(name, address, counts))
            if not any(c["in"] for c in counts.values()):
                failed.append(name)
        if require_counts and failed:
            typer.echo(f"no counts from: {', '.join(failed)}", err=True)
            raise typer.Exit(1)
