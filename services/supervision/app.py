"""The supervision processor on faust-streaming: its own consumer group over the visit and
settlement topics, per-person state in changelog-backed tables, alerts out.

Why faust here and aiokafka elsewhere: the supervision rules are stateful per
person and read at the settlement rate, where faust's tables (a compacted
changelog per table, restored on start) carry the state; it is never on the
hospitals' ack path (its own group; a slow or stopped supervisor delays no ack).

Order of effects per event (at-least-once, SIGKILL-safe): decode; the core
computes the new state and alerts; the alerts are written to PostgreSQL
(idempotent) and sent to ``yidi.supervision.v1`` and awaited; only then is the
new state written to the table. faust flushes the producer (changelog
included) before it commits an offset, so the state is never behind the
committed offset; when it is ahead (crash between the table write and the
commit), the event's id is in the state's ``seen`` and the replayed event
changes nothing — its alert was already sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import faust
import structlog

from contracts.settlement import SETTLEMENT_TOPIC
from contracts.supervision import SUPERVISION_TOPIC, SupervisionAlert
from contracts.visit import VISIT_TOPIC
from events.catalog import PERSON_PARTITIONS
from events.codec import Codec
from events.errors import DecodeError
from services.supervision import sink, state_codec
from services.supervision.core.person import apply_settlement, apply_visit
from services.supervision.core.rules import RuleBook
from services.supervision.translate import settlement_event, visit_event

GROUP = "yidi-supervision"
log = structlog.get_logger("yidi.supervision")


@dataclass
class Counters:
    """What the worker did, for the bench and the logs (no personal data)."""

    events: int = 0
    skipped: int = 0
    alerts: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


@dataclass
class Supervision:
    app: faust.App
    counters: Counters
    pool_holder: dict[str, asyncpg.Pool]


def build_app(
    *,
    bootstrap: str,
    group_id: str,
    rules: RuleBook,
    codec: Codec,
    database_url: str | None,
    store: str = "memory://",
    datadir: str | None = None,
) -> Supervision:
    """A faust app (not started). ``database_url`` None: alerts go to the topic only."""
    app = faust.App(
        group_id,
        broker=f"kafka://{bootstrap}",
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
        producer_acks=-1,
        table_standby_replicas=0,
        stream_buffer_maxsize=8192,
    )
    counters = Counters()
    pools: dict[str, asyncpg.Pool] = {}
    visits = app.topic(VISIT_TOPIC, key_type=bytes, value_type=bytes, allow_empty=True)
    settlements = app.topic(SETTLEMENT_TOPIC, key_type=bytes, value_type=bytes, allow_empty=True)
    alerts_topic = app.topic(SUPERVISION_TOPIC, key_type=bytes, value_type=bytes)
    # bytes keys and values make faust use the raw codec for the changelog; its default
    # (json) cannot read a person key back ("330900:…") and recovery would stall
    tables: dict[str, Any] = {"partitions": PERSON_PARTITIONS, "key_type": bytes, "value_type": bytes}
    visit_state = app.Table("visit-state", default=None, **tables)
    claim_state = app.Table("claim-state", default=None, **tables)

    lock = asyncio.Lock()

    async def emit(alerts: list[SupervisionAlert]) -> None:
        if not alerts:
            return
        if database_url is not None:
            async with lock:
                if "pg" not in pools:
                    pools["pg"] = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
            await sink.insert(pools["pg"], alerts)
        for a in alerts:
            key, value, headers = sink.encode(codec, a)
            fut = await alerts_topic.send(key=key, value=value, headers=headers)
            await fut
            counters.alerts += 1
            counters.by_rule[a.rule_id] = counters.by_rule.get(a.rule_id, 0) + 1
            log.info("alert", alert_id=a.alert_id, rule_id=a.rule_id, severity=str(a.severity))

    def decode(event: Any) -> Any:
        msg = event.message
        try:
            return codec.decode(msg.key, msg.value, msg.headers or ())
        except DecodeError as err:
            # adjudication dead-letters it (with its reason); supervision ignores it
            counters.skipped += 1
            log.debug("skipped", code=err.code, topic=msg.topic, partition=msg.partition,
                      offset=msg.offset)  # fmt: skip
            return None

    @app.agent(visits, name="visits")
    async def on_visits(stream: Any) -> None:
        async for event in stream.events():
            counters.events += 1
            decoded = decode(event)
            core = None if decoded is None else visit_event(decoded.message)
            if core is None:
                continue
            key = core.person.encode()
            state = state_codec.loads(visit_state.get(key))
            rules = rules_for(core.person)
            new, alerts = apply_visit(state, core, rules, decoded.envelope.ce_id)
            await emit(alerts)
            if new != state:
                visit_state[key] = state_codec.dumps(new)

    @app.agent(settlements, name="settlements")
    async def on_settlements(stream: Any) -> None:
        async for event in stream.events():
            counters.events += 1
            decoded = decode(event)
            core = None if decoded is None else settlement_event(decoded.message)
            if core is None:
                continue
            key = core.person.encode()
            state = state_codec.loads(claim_state.get(key))
            new, alerts = apply_settlement(
                state, core, rules_for(core.person), decoded.envelope.ce_id
            )
            await emit(alerts)
            if new != state:
                claim_state[key] = state_codec.dumps(new)

    def rules_for(person: str) -> Any:
        return rules.for_region(person[:6])

    @app.timer(interval=30.0)  # type: ignore[untyped-decorator]
    async def report() -> None:
        log.info("supervision_progress", events=counters.events, skipped=counters.skipped,
                 alerts=counters.alerts)  # fmt: skip

    _ = (on_visits, on_settlements, report)
    return Supervision(app, counters, pools)
