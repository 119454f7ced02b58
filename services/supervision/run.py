"""Start the supervision worker: settings and codec -> rules, faust app -> faust's Worker.

The codec comes from the caller (the CLI builds it with ``services.entry.bootstrap``): a processor
does not import the entry points (``tests/unit/architecture/test_layers.py``).

Why faust's Worker and not the shared lifecycle: it owns the event loop, the
signal handling (SIGTERM: agents stop, offsets commit) and table recovery.
"""

from __future__ import annotations

import asyncio

import faust

from events.admin import apply
from events.catalog import PERSON_KEY, PERSON_PARTITIONS, Environment, Topic
from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from services.runtime import principals
from services.runtime.metrics import WorkerMetrics
from services.runtime.settings import Settings
from services.supervision.app import GROUP, Supervision, build_app
from services.supervision.metrics import install
from services.supervision.outliers import CLAIMS, LATE
from services.supervision.reference import load_institutions, load_rules


def build(settings: Settings, codec: Codec, group_id: str | None = None) -> Supervision:
    return build_app(
        bootstrap=settings.kafka(principals.SUPERVISION),
        group_id=group_id or GROUP + settings.group_suffix,
        rules=load_rules(settings.reference_dir),
        codec=codec,
        database_url=settings.service_database_url("supervision"),
        institutions=load_institutions(settings.reference_dir),
    )


def changelog_topics(sup: Supervision) -> tuple[Topic, ...]:
    """The tables' changelog topics, as faust names them (``<group>-<table>-changelog``), and
    the outlier stream's repartition and late topics (``services/supervision/outliers.py``).
    A windowed table's changelog is compacted and deleted after faust's ``expires``."""
    out = []
    for table in sup.app.tables.values():
        window = getattr(table, "window", None)
        expires_ms = int(window.expires * 1000) if window is not None and window.expires else -1
        out.append(
            Topic(
                table.changelog_topic.get_topic_name(), PERSON_KEY,
                f"supervision state ({table.name}) of {sup.app.conf.id}", PERSON_PARTITIONS,
                cleanup_policy="compact,delete" if expires_ms > 0 else "compact",
                retention_ms=expires_ms,
            )
        )  # fmt: skip
    for name, content in ((CLAIMS, "settled claims by province"), (LATE, "late claims")):
        topic = f"{sup.app.conf.id}-{name}"
        out.append(Topic(topic, "{province}", f"{content} ({topic})", PERSON_PARTITIONS))
    return tuple(out)


def declare_changelogs(sup: Supervision, bootstrap: KafkaConnection, env: Environment) -> None:
    """Create the changelog topics and wait until the broker's metadata shows them, before
    faust starts. Why: faust declares them itself at start-up, but its consumer's metadata
    may not list a topic created a moment ago ("Topic … not found in cluster metadata",
    the assignor "Ignoring missing topic"); the first table write then finds the changelog
    with 0 partitions, raises ``PartitionsMismatch`` and the agent crashes — a fresh group
    (a replay) then never finishes its range (tests/e2e/test_supervision.py failed 1 run in
    6 this way)."""
    asyncio.run(apply(bootstrap, changelog_topics(sup), env))


def run_worker(settings: Settings, codec: Codec, metrics: WorkerMetrics | None = None) -> None:
    sup = build(settings, codec)
    if metrics is not None:
        install(sup, metrics)
    declare_changelogs(sup, settings.kafka(principals.SUPERVISION), settings.env)
    worker = faust.Worker(
        sup.app, loglevel=settings.log_level.upper(), override_logging=False, quiet=True
    )
    worker.execute_from_commandline()
