"""``yidi bench codec``."""

from __future__ import annotations

import json

import typer
from rich.console import Console


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("codec")
    def codec_cmd(
        messages: int = typer.Option(5000, help="Messages per run"),
        runs: int = typer.Option(7, help="Runs (the median is reported)"),
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout"),
    ) -> None:
        """Decode + validate + authenticate throughput vs plain pydantic validation."""
        from services.tools.bench.codec import run

        result = run(messages, runs)
        data = {
            "bench": "codec", "message": "fees upload, 10 fee lines, HMAC-signed",
            "bytes": result.bytes_per_message, "runs": runs, "messages_per_run": messages,
            "decode_validate_auth_per_s": round(result.full_per_s),
            "baseline_model_validate_json_per_s": round(result.baseline_per_s),
            "ratio": round(result.ratio, 3),
        }  # fmt: skip
        if as_json:
            typer.echo(json.dumps(data))
            return
        Console().print(
            f"codec: {data['decode_validate_auth_per_s']:,} msg/s decode+validate+auth "
            f"(median of {runs}), baseline plain validation {data['baseline_model_validate_json_per_s']:,}"
            f" msg/s, ratio {data['ratio']:.2f}; {result.bytes_per_message} bytes/message"
        )
