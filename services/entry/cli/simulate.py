"""``yidi simulate``: a realistic day of traffic, sent at a target rate, with a report."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from events import catalog
from services.runtime import principals
from services.runtime.settings import get_settings

console = Console(stderr=True)
REFERENCE = Path(__file__).resolve().parents[3] / "deploy" / "reference"


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_cmd(
        visits: int = typer.Option(1000, help="Visits to simulate (per day)"),
        date: str = typer.Option(
            "2026-10-12", "--date", help="First simulated day, YYYY-MM-DD (China time)"
        ),
        days: int = typer.Option(
            1, "--days", min=1, max=366, help="Consecutive days from --date (same persons)"
        ),
        rate: float = typer.Option(
            500.0, help="Visit-topic messages per second (0: as fast as possible)"
        ),
        seed: int = typer.Option(2026, help="Random seed (same seed, same traffic)"),
        run_id: str = typer.Option("sim", help="Prefix of every ce_id of this run"),
        out: Path | None = typer.Option(
            None, help="Also write the authentic events as JSONL for `yidi adjudicate`"
        ),
        write_only: bool = typer.Option(False, help="Only write --out; send nothing"),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
        fraud_rate: float | None = typer.Option(
            None,
            "--fraud-rate",
            min=0.0,
            max=1.0,
            help="A supervision day: clean visits (one per person) plus each fraud pattern "
            "planted at this rate of --visits (at least once); see --plants",
        ),
        plants: Path | None = typer.Option(
            None, help="With --fraud-rate: write the planted patterns (JSON) here"
        ),
        adjudication_group: str = typer.Option(
            catalog.ADJUDICATION_GROUP, help="Group to wait for after registrations"
        ),
        bad_rate: float = typer.Option(
            0.01, "--bad-rate", min=0.0, max=1.0, help="Share of visit messages sent bad too"
        ),
        bad_kinds: str = typer.Option(
            "legacy",
            "--bad-kinds",
            help="Comma-separated kinds of services/tools/simulator/bad.py, or legacy | safe | all",
        ),
        warmup_s: float = typer.Option(
            0.0,
            "--warmup-s",
            min=0.0,
            help="Time the acks of what is sent in the first S seconds apart (workers just "
            "started); ack_latency_ms is then the steady state's",
        ),
        extra_headers: float = typer.Option(
            0.0,
            "--extra-headers",
            min=0.0,
            max=1.0,
            help="Share of good messages carrying an unknown header (ignored by the workers)",
        ),
    ) -> None:
        """N hospitals in M regions: outpatient, chronic, pharmacy and inpatient visits, filings,
        duplicates, reversals and a small share of bad messages, on any day(s). A range across
        31 December adds stays across the year boundary and persons whose yearly cap runs
        out on 31 December and who are treated again on 1 January."""
        from services.entry.bootstrap import build_runtime
        from services.tools.simulator.bad import kinds_named
        from services.tools.simulator.plan import Mix
        from services.tools.simulator.run import plan_messages, publish, write_jsonl

        try:
            first_day = dt.date.fromisoformat(date)
        except ValueError as exc:
            raise typer.BadParameter(f"--date {date!r} is not YYYY-MM-DD") from exc
        settings = get_settings()
        runtime = build_runtime(settings)
        try:
            mix = Mix(
                bad_share=bad_rate, bad_kinds=kinds_named(bad_kinds),
                extra_header_share=extra_headers,
            )  # fmt: skip
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        if fraud_rate is not None:
            from services.tools.simulator.run import plan_supervision_messages

            messages, planted = plan_supervision_messages(
                settings.reference_dir or REFERENCE, runtime.codec, visits, seed, run_id,
                fraud_rate, day=first_day,
            )  # fmt: skip
            if plants is not None:
                plants.write_text(json.dumps(planted, indent=1), "utf-8")
                console.print(f"wrote {len(planted['plants'])} plants to {plants}")
        else:
            messages = plan_messages(
                settings.reference_dir or REFERENCE, runtime.codec, visits, seed, run_id, mix,
                day=first_day, days=days,
            )  # fmt: skip
        if out is not None:
            lines = write_jsonl(messages, out)
            console.print(f"wrote {lines} events to {out}")
        if write_only:
            return
        with Progress(
            TextColumn("sending"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("send", total=sum(1 for m in messages if m.topic == catalog.VISIT))

            def progress(done: int, _total: int) -> None:
                bar.update(task, completed=done)

            report = asyncio.run(
                publish(
                    settings.kafka(principals.SIMULATOR),
                    messages,
                    rate,
                    adjudication_group,
                    progress=progress,
                    warmup_s=warmup_s,
                )
            )
        data = report.as_dict()
        if as_json:
            typer.echo(json.dumps(data))
        else:
            _print(data)
        if report.missing:
            raise typer.Exit(1)


def _print(data: dict[str, object]) -> None:
    table = Table("measure", "value", title="simulation report")
    for key, value in data.items():
        table.add_row(
            key,
            json.dumps(value, ensure_ascii=False)
            if isinstance(value, (dict, list))
            else str(value),
        )
    Console().print(table)
