"""Start the supervision worker: settings and codec -> rules, faust app -> faust's Worker.

The codec comes from the caller (the CLI builds it with ``services.bootstrap``): a processor
does not import the entry points (``tests/unit/test_layers.py``).

Why faust's Worker and not the shared lifecycle: it owns the event loop, the
signal handling (SIGTERM: agents stop, offsets commit) and table recovery.
"""

from __future__ import annotations

import faust

from events.codec import Codec
from services.runtime import principals
from services.runtime.settings import Settings
from services.supervision.app import GROUP, Supervision, build_app
from services.supervision.reference import load_rules


def build(settings: Settings, codec: Codec, group_id: str | None = None) -> Supervision:
    return build_app(
        bootstrap=settings.kafka(principals.SUPERVISION),
        group_id=group_id or GROUP + settings.group_suffix,
        rules=load_rules(settings.reference_dir),
        codec=codec,
        database_url=settings.service_database_url("supervision"),
    )


def run_worker(settings: Settings, codec: Codec) -> None:
    sup = build(settings, codec)
    worker = faust.Worker(
        sup.app, loglevel=settings.log_level.upper(), override_logging=False, quiet=True
    )
    worker.execute_from_commandline()
