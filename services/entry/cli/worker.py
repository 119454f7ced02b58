"""``yidi worker NAME``: run one processor (or ``all`` in one process, for the demo)."""

from __future__ import annotations

import asyncio
from enum import StrEnum

import typer

from services.runtime.logging import configure_logging
from services.runtime.settings import get_settings


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
        ``supervision`` runs alone (a faust worker); ``all`` does not include it."""
        from services.entry import bootstrap
        from services.runtime.gc_tuning import tune_gc
        from services.runtime.lifecycle import Runnable, run_until_signalled

        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)
        if name == WorkerName.supervision:
            from services.supervision.run import run_worker

            run_worker(
                settings, bootstrap.build_runtime(settings).codec
            )  # faust's Worker: its own loop and signal handling
            return
        runtime = bootstrap.build_runtime(settings)
        tune_gc()  # after the reference data and the validators are built
        workers: dict[str, Runnable] = {}
        if name in (WorkerName.registration, WorkerName.all):
            workers["registration"] = bootstrap.RegistrationWorker(runtime)
        if name in (WorkerName.adjudication, WorkerName.all):
            workers["adjudication"] = bootstrap.adjudication_engine(runtime)
        if name in (WorkerName.ledger, WorkerName.all):
            workers["ledger"] = bootstrap.ledger_worker(runtime)
        if name in (WorkerName.clearing, WorkerName.all):
            workers["clearing"] = bootstrap.clearing_service(runtime)
        if name in (WorkerName.recon, WorkerName.all):
            workers["recon"] = bootstrap.recon_worker(runtime)
        asyncio.run(run_until_signalled(workers))
