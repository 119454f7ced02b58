"""The topic catalog: every topic yidi uses, as code, per environment.

Why code and not a wiki: ``yidi topics apply`` makes the broker match this
file, and the co-partitioning rule (person-keyed topics share partition count
and key, so one adjudicator task sees a person's filings, visits and
accumulators in order) is checked by a unit test instead of by memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from contracts.clearing import (
    AuditDeduction,
    ClearingConfirmed,
    ClearingStatement,
    PeriodCommand,
    PositionUpdated,
    PrepaymentWarning,
)
from contracts.common import Contract
from contracts.filing import FilingCreated, FilingRevoked, PersonStatus
from contracts.recon import DetailReconRequested, ReconSummary, TotalsReconRequested
from contracts.settlement import Reversed, Settled
from contracts.visit import VISIT_MESSAGES

Environment = Literal["local", "test", "prod"]
CleanupPolicy = Literal["delete", "compact", "compact,delete"]

DAY_MS = 24 * 3600 * 1000
PERSON_PARTITIONS = 12


# -- names: every topic, processor and consumer group, declared once --------------------------

REGISTRATION = "yidi.registration.v1"
VISIT = "yidi.visit.v1"
SETTLEMENT = "yidi.settlement.v1"
RECON = "yidi.recon.v1"
CLEARING = "yidi.clearing.v1"
ADJUDICATION_STATE = "yidi.adjudication.state.v1"
REGISTRATION_STATE = "yidi.registration.state.v1"
SUPERVISION = "yidi.supervision.v1"
DLQ = "yidi.dlq.v1"

ADJUDICATION_ID = "yidi-adjudication"
REGISTRATION_ID = "yidi-registration"
LEDGER_ID = "yidi-ledger"
CLEARING_ID = "yidi-clearing"
RECON_ID = "yidi-recon"
SUPERVISION_ID = "yidi-supervision"
"""Processor ids: the ``sender`` of what a processor publishes, the ``owner`` of a topic,
and (plus the settings' suffix for the sinks) its consumer group."""
ADJUDICATION_GROUP = ADJUDICATION_ID
REGISTRATION_GROUP = REGISTRATION_ID
LEDGER_GROUP = LEDGER_ID
CLEARING_GROUP = CLEARING_ID
"""The clearing processor's settlement-feed group."""
CLEARING_COMMANDS_GROUP = "yidi-clearing-commands"
RECON_GROUP = RECON_ID
SUPERVISION_GROUP = SUPERVISION_ID
ENGINE_GROUPS: dict[str, tuple[str, ...]] = {
    REGISTRATION: (REGISTRATION_GROUP, ADJUDICATION_GROUP),
    VISIT: (ADJUDICATION_GROUP,),
}
"""Stream-processor groups that consume each input topic (positions committed in Kafka)."""

INSTITUTION, AGENCY = "institution", "agency"
"""Sender kinds (``events.wire.envelope.sender_kind``); a processor is named by its id."""


@dataclass(frozen=True, slots=True)
class Accepts:
    """One message type a topic carries, and who may send it: sender kinds (``institution``,
    ``agency``) or processor ids (``yidi-adjudication``)."""

    ce_type: str
    senders: frozenset[str]


def _accepts(types: tuple[type[Contract], ...], *senders: str) -> tuple[Accepts, ...]:
    return tuple(Accepts(t.ce_type, frozenset(senders)) for t in types)


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic's intended shape. ``configs`` holds extra topic-level settings.

    ``accepts`` is the topic's message ownership: the only ``ce_type``s (and, per type, the
    only senders) a processor reading it applies; anything else is ``E_WRONG_TOPIC``
    (a filing signed by a hospital on the visit topic is a filing the home agency never
    made). ``owner`` is the one processor that dead-letters and acks the topic's bad input;
    other readers skip what they do not apply, so one bad input is one DLQ record."""

    name: str
    key: str
    content: str
    partitions: int
    cleanup_policy: CleanupPolicy = "delete"
    retention_ms: int = 30 * DAY_MS
    configs: dict[str, str] = field(default_factory=dict)
    accepts: tuple[Accepts, ...] = ()
    owner: str | None = None

    def accepted_senders(self, ce_type: str) -> frozenset[str] | None:
        """Who may send ``ce_type`` here; ``None`` when the topic does not carry it."""
        for a in self.accepts:
            if a.ce_type == ce_type:
                return a.senders
        return None

    def replication_factor(self, env: Environment, brokers: int | None = None) -> int:
        """Production: 3, whatever answers (creating a topic on a smaller cluster fails rather
        than under-replicating it). Elsewhere the cluster's size, at most 3 (``brokers``: the
        brokers ``yidi topics apply`` found): 1 on the single local node, 3 on the local
        three-node cluster (``make up BROKERS=3``)."""
        if env == "prod":
            return 3
        return max(1, min(3, brokers or 1))

    def topic_configs(self, env: Environment, brokers: int | None = None) -> dict[str, str]:
        """The managed topic-level configs, exactly as the broker reports them. Three replicas
        take ``min.insync.replicas=2``: an ``acks=all`` write is on two brokers before it is
        acknowledged, and one broker may be lost without stopping writes."""
        out = {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}
        if self.replication_factor(env, brokers) >= 3:
            out["min.insync.replicas"] = "2"
        out.update(self.configs)
        return out


PERSON_KEY = "{insuplc_admdvs}:{psn_no}"

CATALOG: tuple[Topic, ...] = (
    Topic(
        REGISTRATION,
        PERSON_KEY,
        "filings created / revoked, insured-person status",
        PERSON_PARTITIONS,
        retention_ms=-1,
        accepts=(
            *_accepts((PersonStatus, FilingRevoked), AGENCY),
            *_accepts(
                (FilingCreated,), AGENCY, INSTITUTION
            ),  # a hospital files via channel hospital
        ),
        owner=REGISTRATION_ID,  # the adjudicator reads it too and skips what it refuses
    ),
    Topic(
        VISIT,
        PERSON_KEY,
        "visit lifecycle: registered, fees, pre-settle, settle, reverse, discharged, cancelled",
        PERSON_PARTITIONS,
        retention_ms=90 * DAY_MS,
        accepts=_accepts(VISIT_MESSAGES, INSTITUTION),
        owner=ADJUDICATION_ID,
    ),
    Topic(
        SETTLEMENT,
        PERSON_KEY,
        "adjudicated settlements and reversals (ledger feed)",
        PERSON_PARTITIONS,
        retention_ms=-1,
        accepts=_accepts((Settled, Reversed), ADJUDICATION_ID),
        owner=LEDGER_ID,  # clearing reads it too and skips what it refuses
    ),
    Topic(
        RECON,
        "{fixmedins_code}",
        "hospital reconciliation requests (answers go to each hospital's ack topic)",
        6,
        retention_ms=90 * DAY_MS,
        accepts=_accepts((TotalsReconRequested, DetailReconRequested), INSTITUTION),
        owner=RECON_ID,
    ),
    Topic(
        CLEARING,
        "{participant}",
        "positions, prepayment warnings, statements, confirmations, period commands, deductions",
        6,
        retention_ms=-1,
        accepts=(
            *_accepts((PeriodCommand, ClearingConfirmed, AuditDeduction), AGENCY),
            *_accepts((PositionUpdated, PrepaymentWarning, ClearingStatement), CLEARING_ID),
            *_accepts((ReconSummary,), RECON_ID),
        ),
        owner=CLEARING_ID,
    ),
    Topic(
        ADJUDICATION_STATE,
        PERSON_KEY,
        "adjudicator's per-person state (changelog: filings, visits, accumulators, seen ids)",
        PERSON_PARTITIONS,
        cleanup_policy="compact",
        retention_ms=-1,
    ),
    Topic(
        REGISTRATION_STATE,
        PERSON_KEY,
        "registration's per-person state (changelog: accepted filings and status)",
        PERSON_PARTITIONS,
        cleanup_policy="compact",
        retention_ms=-1,
    ),
    Topic(
        SUPERVISION,
        "{subject}: person key or institution code",
        "supervision alerts (cn.yidi.supervision.alert.v1), once per rule, subject and window",
        PERSON_PARTITIONS,
        retention_ms=-1,
    ),
    Topic(
        DLQ,
        "original key",
        "original bytes + headers + reason + source position",
        6,
        retention_ms=-1,
    ),
)

ACK_TOPIC_PREFIX = "yidi.ack.v1."
ACK_PARTITIONS = 3
SHADOW_PREFIX = "yidi.shadow."


def shadow_topic(run: str, kind: Literal["settlement", "ack"]) -> str:
    """Where a shadow run (``yidi replay shadow``) publishes: never a production topic."""
    return f"{SHADOW_PREFIX}{run}.{kind}.v1"


def ack_topic(fixmedins_code: str) -> str:
    """Acks are routed per institution: one topic each, so a broker ACL (READ on this
    topic and group ``hospital-<code>``) confines a hospital to its own acks."""
    return ACK_TOPIC_PREFIX + fixmedins_code


def ack_topic_spec(fixmedins_code: str) -> Topic:
    return Topic(
        ack_topic(fixmedins_code),
        "{ce_id of the acknowledged message}",
        f"acks to {fixmedins_code}: accepted / rejected / duplicate",
        ACK_PARTITIONS,
        retention_ms=14 * DAY_MS,
    )


def with_ack_topics(
    codes: list[str], catalog: tuple[Topic, ...] | None = None
) -> tuple[Topic, ...]:
    """The catalog plus one ack topic per institution (registrants included)."""
    base = CATALOG if catalog is None else catalog
    return base + tuple(ack_topic_spec(c) for c in sorted(set(codes)))


CO_PARTITIONED = (
    REGISTRATION, VISIT, SETTLEMENT, ADJUDICATION_STATE,
)  # fmt: skip


def by_name(catalog: tuple[Topic, ...] = CATALOG) -> dict[str, Topic]:
    return {t.name: t for t in catalog}


INPUT_TOPICS: dict[str, Topic] = {t.name: t for t in CATALOG if t.accepts}
"""The topics a processor decodes messages from, with what each accepts."""


def owns(topic: str, processor: str) -> bool:
    """Whether ``processor`` dead-letters (and error-acks) ``topic``'s bad input. A topic
    outside the catalog (a test's, a shadow run's) belongs to whoever reads it."""
    spec = INPUT_TOPICS.get(topic)
    return spec is None or spec.owner in (None, processor)
