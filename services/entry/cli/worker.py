"""``yidi worker NAME``: run one processor (or ``all`` in one process, for the demo)."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from services.runtime.logging import configure_logging
from services.runtime.settings import Settings, get_settings

if TYPE_CHECKING:
    from services.runtime.metrics import WorkerMetrics


class WorkerName(StrEnum):
    registration = "registration"
    adjudication = "adjudication"
    ledger = "ledger"
    clearing = "clearing"
    recon = "recon"
    supervision = "supervision"
    all = "all"


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker_cmd(name: WorkerName = typer.Argument(..., help="Which processor to run")) -> None:
        """Run a processor until SIGTERM/SIGINT; the batch in flight always completes.
        ``supervision`` runs alone (a faust worker); ``all`` does not include it. Prometheus
        metrics on ``/metrics`` at the worker's port (docs/metrics.md)."""
        from services.runtime.metrics import DEFAULT_PORTS, WorkerMetrics

        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)
        port = settings.metrics_port
        port = DEFAULT_PORTS[name.value] if port is None else port
        metrics = WorkerMetrics() if port else None  # YIDI_METRICS_PORT=0: no endpoint
        server = None if metrics is None else metrics.serve(settings.metrics_host, port)
        try:
            _run(name, settings, metrics)
        finally:
            if server is not None:
                server.shutdown()


def _run(name: WorkerName, settings: Settings, metrics: WorkerMetrics | None) -> None:
    from services.entry import bootstrap
    from services.runtime.gc_tuning import tune_gc
    from services.runtime.lifecycle import Runnable, run_until_signalled

    if name == WorkerName.supervision:
        from services.supervision.run import run_worker

        # faust's Worker: its own loop and signal handling
        run_worker(settings, bootstrap.build_runtime(settings).codec, metrics)
        return
    runtime = bootstrap.build_runtime(settings)
    tune_gc()  # after the reference data and the validators are built
    workers: dict[str, Runnable] = {}
    if name in (WorkerName.registration, WorkerName.all):
        workers["registration"] = bootstrap.RegistrationWorker(runtime, metrics)
    if name in (WorkerName.adjudication, WorkerName.all):
        workers["adjudication"] = bootstrap.adjudication_engine(runtime, metrics=metrics)
    if name in (WorkerName.ledger, WorkerName.all):
        workers["ledger"] = bootstrap.ledger_worker(runtime, metrics=metrics)
    if name in (WorkerName.clearing, WorkerName.all):
        workers["clearing"] = bootstrap.clearing_service(runtime, metrics)
    if name in (WorkerName.recon, WorkerName.all):
        workers["recon"] = bootstrap.recon_worker(runtime, metrics)
    asyncio.run(run_until_signalled(workers))
