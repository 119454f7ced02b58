"""The supervision processor on faust-streaming: its own consumer group over the visit and
settlement topics, per-person state in changelog-backed tables, alerts out.

Why faust here and aiokafka elsewhere: the supervision rules are stateful per
person and read at the settlement rate, where faust's tables (a compacted
changelog per table, restored on start) carry the state; it is never on the
hospitals' ack path (its own group; a slow or stopped supervisor delays no ack).

Order of effects per batch of events (at-least-once, SIGKILL-safe; the person
agents take up to ``BATCH_MAX`` events at a time, ``adapters/batches.py``): each
event decoded and through the core, in order, on the person's newest state (the
batch's own copy or the table's); the batch's settled claims sent to the outlier
stream, one record per institution-day (``outliers.py``); then all its alerts written
to PostgreSQL (idempotent) and sent to ``yidi.supervision.v1`` and awaited; only then
are the new states written to the table. faust acks the batch's events after that, and
flushes the producer (changelog included) before it commits an offset, so the state
is never behind the committed offset; when it is ahead (crash between the table
writes and the commit), the events' ids are in the states' ``seen`` and the
replayed events change nothing — their alerts were already sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import faust
import structlog

from contracts.settlement import SETTLEMENT_TOPIC, Reversed, Settled
from contracts.supervision import SUPERVISION_TOPIC, SupervisionAlert
from contracts.visit import (
    VISIT_TOPIC,
    Discharged,
    FeesUploaded,
    FeesWithdrawn,
    VisitCancelled,
    VisitRegistered,
)
from events import catalog
from events.catalog import PERSON_PARTITIONS
from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from events.wire.errors import DecodeError
from services.supervision.adapters import sink, state_codec
from services.supervision.adapters.batches import (
    BATCH_MAX,
    BATCH_WITHIN_S,
    as_current,
    write_as,
)
from services.supervision.adapters.read_committed import ReadCommittedApp
from services.supervision.adapters.stages import Stages, timed
from services.supervision.adapters.watchdog import StallWatch, heal
from services.supervision.core.model import Claim, Reversal
from services.supervision.core.person import apply_settlement, apply_visit
from services.supervision.core.rules import RuleBook
from services.supervision.core.state import PersonState
from services.supervision.fee_lines import prepare
from services.supervision.outliers import Fed, OutlierStream
from services.supervision.translate import settlement_event, visit_event

GROUP = catalog.SUPERVISION_GROUP
RELEVANT = frozenset(
    t.encode()
    for t in (
        VisitRegistered.ce_type, VisitCancelled.ce_type, FeesUploaded.ce_type,
        FeesWithdrawn.ce_type, Discharged.ce_type, Settled.ce_type, Reversed.ce_type,
    )
)  # fmt: skip
SOURCES = frozenset((VISIT_TOPIC, SETTLEMENT_TOPIC))
PROGRESS_EVERY_S = 10.0
log = structlog.get_logger("yidi.supervision")


@dataclass
class Counters:
    """What the worker did, for the bench and the logs (no personal data)."""

    events: int = 0
    skipped: int = 0
    alerts: int = 0
    late: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    by_topic: dict[str, int] = field(default_factory=dict)


@dataclass
class Supervision:
    app: faust.App
    counters: Counters
    pool_holder: dict[str, asyncpg.Pool]
    outliers: OutlierStream | None = None


class _Handler:
    """What each agent does per event; the agents only iterate."""

    def __init__(self, rules: RuleBook, codec: Codec, database_url: str | None,
                 alerts_topic: Any) -> None:  # fmt: skip
        self.rules, self.codec, self.database_url = rules, codec, database_url
        self.alerts_topic = alerts_topic
        self.counters = Counters()
        self.pools: dict[str, asyncpg.Pool] = {}
        self.lock = asyncio.Lock()
        self.outliers: OutlierStream | None = None
        self.stages = Stages()
        self.parsed: dict[int, state_codec.Parsed] = {}
        """Per table (its ``id``): the states last written, parsed (``state_codec.Parsed``)."""

    async def pool(self) -> asyncpg.Pool | None:
        """The alerts database's pool, made on first use (None: alerts go to the topic only)."""
        if self.database_url is None:
            return None
        async with self.lock:
            if "pg" not in self.pools:
                self.pools["pg"] = await asyncpg.create_pool(
                    self.database_url, min_size=1, max_size=2
                )
        return self.pools["pg"]

    async def emit(self, alerts: list[SupervisionAlert]) -> None:
        """PostgreSQL first (idempotent, one statement batch), then the topic: every record
        sent, then all of them awaited (one wait for the broker, not one per alert)."""
        if not alerts:
            return
        pool = await self.pool()
        if pool is not None:
            with self.stages.time("alerts_pg"):
                await sink.insert(pool, alerts)
        with self.stages.time("alerts_topic"):
            sent = []
            for a in alerts:
                key, value, headers = sink.encode(self.codec, a)
                sent.append(await self.alerts_topic.send(key=key, value=value, headers=headers))
            await asyncio.gather(*sent)
        for a in alerts:
            self.counters.alerts += 1
            self.counters.by_rule[a.rule_id] = self.counters.by_rule.get(a.rule_id, 0) + 1
            log.info("alert", alert_id=a.alert_id, rule_id=a.rule_id, severity=str(a.severity))

    def passes_over(self, message: Any) -> bool:
        """True for a record of the visit or settlement topic whose type no rule reads (its
        ``ce_type`` header: pre-settlement, settlement and reversal requests, about a third
        of the visit topic), counted as ``decode`` counts it. faust's fetch loop then acks it
        at once (``adapters/drain.py``) instead of carrying it through its stream, the batch
        and the agent only to be dropped by ``decode``."""
        if message.topic not in SOURCES:
            return False
        ce_type = next((v for k, v in message.headers or () if k == "ce_type"), None)
        if ce_type is None or ce_type in RELEVANT:
            return False
        self.counters.events += 1
        self.counters.by_topic[message.topic] = self.counters.by_topic.get(message.topic, 0) + 1
        return True

    def decode(self, event: Any) -> Any:
        """The decoded message, or None for a type no rule reads (pre-settlement, settlement
        and reversal requests: their outcome arrives on the settlement topic) — told by the
        ``ce_type`` header, before any parsing — and for a message that does not decode."""
        self.counters.events += 1
        msg = event.message
        self.counters.by_topic[msg.topic] = self.counters.by_topic.get(msg.topic, 0) + 1
        ce_type = next((v for k, v in msg.headers or () if k == "ce_type"), None)
        if ce_type is not None and ce_type not in RELEVANT:
            return None
        try:
            return self.codec.decode(
                msg.key, msg.value, msg.headers or (), topic=msg.topic, prepare=prepare
            )
        except DecodeError as err:
            # adjudication dead-letters it (with its reason); supervision ignores it
            self.counters.skipped += 1
            log.debug("skipped", code=err.code, topic=msg.topic, partition=msg.partition,
                      offset=msg.offset)  # fmt: skip
            return None

    async def visits(self, events: list[Any], table: Any) -> None:
        await self._apply(events, table, visit_event, apply_visit)

    async def settlements(self, events: list[Any], table: Any) -> None:
        await self._apply(events, table, settlement_event, apply_settlement)

    async def _apply(
        self,
        events: list[Any],
        table: Any,
        to_core: Callable[[Any], Any],
        apply: Callable[[Any, Any, Any, str], tuple[Any, Any]],
    ) -> None:
        """A batch of events through the core, in order: each person's state from the
        batch's own newer copy or the table, the rules of the person's home region; then
        every alert of the batch stored and acknowledged (``emit``), reversals noted, and
        only then the changed states written, each with the event it came from as faust's
        current event (its changelog partition; ``adapters/batches.py``)."""
        stages = self.stages
        parsed = self.parsed.setdefault(id(table), state_codec.Parsed())
        changed: dict[bytes, tuple[PersonState, Any]] = {}
        alerts: list[SupervisionAlert] = []
        reversals: list[Reversal] = []
        fed: Fed = {}
        lap, now = stages.lap, time.perf_counter
        for event in events:
            t = now()
            decoded = self.decode(event)
            core = None if decoded is None else to_core(decoded.message)
            t = lap("decode", t)
            if core is None or decoded is None:
                continue
            key = core.person.encode()
            state = changed[key][0] if key in changed else parsed.read(key, table.get(key))
            t = lap("state_read", t)
            fresh = decoded.envelope.ce_id not in state.seen
            if isinstance(core, Claim) and self.outliers is not None and fresh:
                with as_current(event):
                    await self.outliers.feed(event, core, fed)
                t = lap("outlier_feed", t)
            rules = self.rules.for_region(core.person[:6])
            new, raised = apply(state, core, rules, decoded.envelope.ce_id)
            lap("rules", t)
            alerts.extend(raised)
            if isinstance(core, Reversal):
                reversals.append(core)
            if new is not state:  # the core returns the state itself when nothing changed
                changed[key] = (new, event)
        if fed and self.outliers is not None:
            with stages.time("outlier_feed"):
                await self.outliers.send_fed(fed)
        await self.emit(alerts)
        for reversal in reversals:
            await self.note_reversal(reversal)
        with stages.time("state_write"):
            for key, (new, event) in changed.items():
                raw = state_codec.dumps(new)
                write_as(event, table, key, raw)
                parsed.wrote(key, raw, new)

    async def note_reversal(self, reversal: Reversal) -> None:
        """A reversal after an alert that cites the settlement: the alert is kept and the
        reversed ``setl_id`` noted on it (migration 0012). Before the state write, like the
        alerts, so a crash in between redoes it (idempotent)."""
        pool = await self.pool()
        if pool is not None and await sink.note_reversal(
            pool, reversal.person, reversal.orig_setl_id
        ):
            log.info("alert_evidence_reversed")


def _credentials(conn: KafkaConnection) -> faust.types.auth.CredentialsT | None:
    """faust builds its own aiokafka clients: the same identity and TLS settings as every
    other client's (``events/stream/clients.py``), in faust's form."""
    if conn.uses_sasl:
        kwargs = conn.client_kwargs()
        return faust.SASLCredentials(
            username=kwargs["sasl_plain_username"],
            password=kwargs["sasl_plain_password"],
            mechanism=conn.sasl_mechanism,
            ssl_context=conn.ssl_context,
        )
    if conn.uses_tls:
        return faust.SSLCredentials(conn.ssl_context)
    return None


def _faust_app(
    group_id: str, bootstrap: KafkaConnection, store: str, datadir: str | None
) -> ReadCommittedApp:
    return ReadCommittedApp(
        group_id,
        broker=f"kafka://{bootstrap.bootstrap}",
        broker_credentials=_credentials(bootstrap),
        store=store,
        datadir=datadir,
        autodiscover=False,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=PERSON_PARTITIONS,
        topic_replication_factor=1,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # a SIGKILLed worker's partitions wait this long for its successor (faust's
        # default is 60 s; its consumer heartbeats from its own thread, so a busy agent
        # does not miss heartbeats)
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        producer_acks=-1,
        table_standby_replicas=0,
        stream_buffer_maxsize=8192,
    )


def build_app(
    *,
    bootstrap: KafkaConnection,
    group_id: str,
    rules: RuleBook,
    codec: Codec,
    database_url: str | None,
    institutions: dict[str, tuple[str, int]] | None = None,
    store: str = "memory://",
    datadir: str | None = None,
) -> Supervision:
    """A faust app (not started). ``database_url`` None: alerts go to the topic only."""
    app = _faust_app(group_id, bootstrap, store, datadir)
    visits = app.topic(VISIT_TOPIC, key_type=bytes, value_type=bytes, allow_empty=True)
    settlements = app.topic(SETTLEMENT_TOPIC, key_type=bytes, value_type=bytes, allow_empty=True)
    handler = _Handler(rules, codec, database_url, app.topic(SUPERVISION_TOPIC, key_type=bytes,
                                                             value_type=bytes))  # fmt: skip
    handler.stages = app.stages
    app.passes_over = handler.passes_over
    # bytes keys and values make faust use the raw codec for the changelog; its default
    # (json) cannot read a person key back ("330900:…") and recovery stalls
    tables: dict[str, Any] = {
        "partitions": PERSON_PARTITIONS,
        "key_type": bytes,
        "value_type": bytes,
    }
    visit_state = app.Table("visit-state", default=None, **tables)
    claim_state = app.Table("claim-state", default=None, **tables)
    # institution outliers: a repartition by province and a windowed table (outliers.py)
    handler.outliers = OutlierStream(app, rules, institutions or {}, handler.emit,
                                     handler.counters)  # fmt: skip

    @app.agent(visits, name="visits")
    async def on_visits(stream: Any) -> None:
        batches = stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S)
        async for events in timed(batches, handler.stages, "visits"):
            await handler.visits(events, visit_state)

    @app.agent(settlements, name="settlements")
    async def on_settlements(stream: Any) -> None:
        batches = stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S)
        async for events in timed(batches, handler.stages, "settlements"):
            await handler.settlements(events, claim_state)

    @app.timer(interval=PROGRESS_EVERY_S)  # type: ignore[untyped-decorator]
    async def report() -> None:
        c = handler.counters
        log.info("supervision_progress", events=c.events, skipped=c.skipped, alerts=c.alerts,
                 late=c.late, stages=handler.stages.snapshot())  # fmt: skip

    watch = StallWatch()

    @app.timer(interval=10.0)  # type: ignore[untyped-decorator]
    async def stalls() -> None:
        handled = handler.outliers.handled if handler.outliers is not None else {}
        await heal(app.consumer, watch, {**handler.counters.by_topic, **handled})

    _ = (on_visits, on_settlements, report, stalls)
    return Supervision(app, handler.counters, handler.pools, handler.outliers)
