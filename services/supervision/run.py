"""Start the supervision worker: settings and codec -> rules, faust app -> faust's Worker.

The codec comes from the caller (the CLI builds it with ``services.entry.bootstrap``): a processor
does not import the entry points (``tests/unit/architecture/test_layers.py``).

Why faust's Worker and not the shared lifecycle: it owns the event loop, the
signal handling (SIGTERM: agents stop, offsets commit) and table recovery.
"""

from __future__ import annotations

import asyncio
import gc

import faust
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata

from contracts.settlement import SETTLEMENT_TOPIC
from contracts.visit import VISIT_TOPIC
from events.admin import apply
from events.catalog import PERSON_KEY, PERSON_PARTITIONS, Environment, Topic
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from services.runtime import principals
from services.runtime.metrics import WorkerMetrics
from services.runtime.settings import Settings
from services.supervision.app import GROUP, Supervision, build_app
from services.supervision.metrics import install
from services.supervision.outliers import CLAIMS, LATE
from services.supervision.reference import load_institutions, load_rules


def datadir(settings: Settings) -> str:
    """faust's data directory, one per group, under the run directory (``.run/``, ignored by
    git): ``<run_dir>/supervision/<group>-data``. Why: faust's default is
    ``<group>-data`` in the working directory, so every worker (the e2e tests' and the
    benches' groups each) left a ``yidi-supervision-*-data`` directory in the repository's
    root. faust creates the last component itself (``mkdir`` without parents); the parent
    is made here. ``{conf.name}`` is faust's own placeholder for the group."""
    parent = settings.run_dir / "supervision"
    parent.mkdir(parents=True, exist_ok=True)
    return str(parent / "{conf.name}-data")


def build(settings: Settings, codec: Codec, group_id: str | None = None) -> Supervision:
    return build_app(
        bootstrap=settings.kafka(principals.SUPERVISION),
        group_id=group_id or GROUP + settings.group_suffix,
        rules=load_rules(settings.reference_dir),
        codec=codec,
        database_url=settings.service_database_url("supervision"),
        institutions=load_institutions(settings.reference_dir),
        datadir=datadir(settings),
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


async def start_at_ends(bootstrap: KafkaConnection, group: str) -> bool:
    """Commit the visit and settlement topics' current ends for ``group`` when it has
    committed nothing yet, so its worker judges only what comes next (False: the group
    already has positions, left as they are). Why: a new supervision group otherwise starts
    at the beginning of the log (faust's ``earliest``) and re-judges all of it first — the
    demo on a long-lived stack reported before its worker had got through ~7,700 earlier
    alerts' worth of traffic to the demo's own day."""
    tps = [TopicPartition(t, p) for t in (VISIT_TOPIC, SETTLEMENT_TOPIC)
           for p in range(PERSON_PARTITIONS)]  # fmt: skip
    consumer = clients.consumer(bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        if any([await consumer.committed(tp) is not None for tp in tps]):
            return False
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in ends.items()})
        return True
    finally:
        await consumer.stop()


GC_THRESHOLDS = (50_000, 20, 100)
"""The collector's generation thresholds for the worker (CPython's: 700, 10, 10)."""


def tune_gc() -> None:
    """Everything alive once the worker is built (modules, faust, the contracts' schemas,
    the rules) is moved out of the collector's reach (``gc.freeze``), and the youngest
    generation is collected every 50,000 allocations instead of 700.

    Why: the worker allocates per record (the decoded message, the core's events and
    states), so CPython collected ~2,100 times in one ``yidi bench supervision`` run over
    54,437 records, each older-generation pass walking the hundreds of thousands of objects
    the imports left: 1.9-2.2 s of the worker's own thread CPU (measured with
    ``gc.callbacks`` and ``time.thread_time``), ~15 % of the run's CPU. Frozen and with these
    thresholds it collected under 100 times (docs/supervision.md, "Throughput"). Cycles are
    still collected, less often; nothing is ever frozen that is made after start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_worker(settings: Settings, codec: Codec, metrics: WorkerMetrics | None = None) -> None:
    sup = build(settings, codec)
    if metrics is not None:
        install(sup, metrics)
    declare_changelogs(sup, settings.kafka(principals.SUPERVISION), settings.env)
    tune_gc()
    worker = faust.Worker(
        sup.app, loglevel=settings.log_level.upper(), override_logging=False, quiet=True
    )
    worker.execute_from_commandline()
