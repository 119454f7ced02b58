"""``yidi bench …``: benchmark commands. Each prints numbers (medians of several
runs and a ratio against a baseline measured in the same run), ``--json`` for machines.

Benchmarks are commands, never timed tests. Command modules register here.
"""

from __future__ import annotations

import typer

bench_app = typer.Typer(help="Benchmarks that print numbers.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Attach ``bench`` and every benchmark command module to the root app."""
    # One import per benchmark module; each defines ``register_bench(bench_app)``.
    from services.tools.bench.commands.adjudication import register_bench as register_adjudication
    from services.tools.bench.commands.clearing import register_bench as register_clearing
    from services.tools.bench.commands.codec import register_bench as register_codec
    from services.tools.bench.commands.dashboard import register_bench as register_dashboard
    from services.tools.bench.commands.pipeline import register_bench as register_pipeline
    from services.tools.bench.commands.replay import register_bench as register_replay
    from services.tools.bench.commands.supervision import register_bench as register_supervision
    from services.tools.bench.commands.task import register_bench as register_task
    from services.tools.bench.commands.topics import register_bench as register_topics

    register_adjudication(bench_app)
    register_clearing(bench_app)
    register_codec(bench_app)
    register_dashboard(bench_app)
    register_pipeline(bench_app)
    register_replay(bench_app)
    register_supervision(bench_app)
    register_task(bench_app)
    register_topics(bench_app)
    app.add_typer(bench_app, name="bench")
