"""Start the supervision worker: settings -> rules, codec, faust app -> faust's Worker.

Why faust's Worker and not the shared lifecycle: it owns the event loop, the
signal handling (SIGTERM: agents stop, offsets commit) and table recovery.
"""

from __future__ import annotations

import faust

from services.runtime.settings import Settings
from services.supervision.app import GROUP, Supervision, build_app
from services.supervision.reference import load_rules


def build(settings: Settings, group_id: str | None = None) -> Supervision:
    from services.bootstrap import build_runtime

    runtime = build_runtime(settings)
    return build_app(
        bootstrap=settings.kafka_bootstrap,
        group_id=group_id or GROUP + settings.group_suffix,
        rules=load_rules(settings.reference_dir),
        codec=runtime.codec,
        database_url=settings.database_url.get_secret_value(),
    )


def run_worker(settings: Settings) -> None:
    sup = build(settings)
    worker = faust.Worker(
        sup.app, loglevel=settings.log_level.upper(), override_logging=False, quiet=True
    )
    worker.execute_from_commandline()
