"""The Kafka clients every yidi process uses, built in one place.

Why one factory: what effectively-once needs (manual commits, read_committed, the idempotent
producer), what latency needs (short fetch waits) and what the secured broker needs (TLS with
the cluster's CA, a SCRAM login as the process's own principal) are not left to each caller to
remember. Nothing outside this module calls an ``AIOKafka*`` constructor (a unit test checks);
a caller passes a :class:`KafkaConnection`, built from the settings by ``services/runtime``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context
from aiokafka.structs import ConsumerRecord

from events.stream import kip447, txn_backoff
from events.stream.partitioner import partition
from events.stream.salvage import RawName, install
from events.stream.types import InputRecord

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


@dataclass(frozen=True)
class KafkaConnection:
    """Where the brokers are and who this client is: bootstrap servers, security protocol,
    SASL mechanism, user, password and the CA file that signed the brokers' certificates.

    The password never appears in ``repr`` (a logged config must not leak it)."""

    bootstrap: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | None:
        """One context per connection (loading the CA per client would cost a file read and
        a parse each time); hostname checking stays on: the broker's certificate names it."""
        return create_ssl_context(cafile=self.ca_file) if self.uses_tls else None

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (the trusted rebuild hands it to its worker processes): the SSL context
        is not, and is rebuilt from the CA file on the other side."""
        state = dict(self.__dict__)
        state.pop("ssl_context", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def as_user(self, user: str, password: str) -> KafkaConnection:
        """The same cluster, another principal (a test's hospital, the bench's workers)."""
        return replace(self, user=user, password=password)

    def client_kwargs(self) -> dict[str, Any]:
        """The keyword arguments every aiokafka client takes for this connection."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.uses_tls:
            kwargs["ssl_context"] = self.ssl_context
        if self.uses_sasl:
            if self.user is None or self.password is None:
                raise ValueError(
                    f"{self.security_protocol} needs a user and a password (YIDI_KAFKA_USER / "
                    "YIDI_KAFKA_PASSWORD, or the local credentials under .run/)"
                )
            kwargs.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.user,
                sasl_plain_password=self.password,
            )
        return kwargs


def consumer(conn: KafkaConnection, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A plain consumer (a reader, a test's probe): ``options`` are aiokafka's own."""
    return AIOKafkaConsumer(*topics, **conn.client_kwargs(), **options)


def producer(conn: KafkaConnection, **options: Any) -> AIOKafkaProducer:
    """A plain producer: ``options`` are aiokafka's own (acks, linger, idempotence). Keys
    are partitioned as aiokafka's default does, their hashes remembered (``partitioner``)."""
    options.setdefault("partitioner", partition)
    return AIOKafkaProducer(**conn.client_kwargs(), **options)


def admin(conn: KafkaConnection, **options: Any) -> AIOKafkaAdminClient:
    """An admin client (topics, groups, offsets)."""
    return AIOKafkaAdminClient(**conn.client_kwargs(), **options)


def raw_client(conn: KafkaConnection, **options: Any) -> AIOKafkaClient:
    """aiokafka's protocol-level client (a test sending hand-built record batches)."""
    return AIOKafkaClient(**conn.client_kwargs(), **options)


MAX_BATCH_MS = 300_000
"""How long a rebalance waits for a member to finish its batch in flight (a first batch
restores its partitions' state) and rejoin. aiokafka's default is the session timeout, 10 s:
a longer restore got the member expelled while it went on to publish its batch and write
state the partitions' new owner had already moved past."""


def group_consumer(
    conn: KafkaConnection,
    group_id: str,
    *,
    client_id: str,
    instance_id: str | None = None,
    fetch_wait_ms: int = 20,
    fetch_min_bytes: int = 1,
    session_timeout_ms: int = 10_000,
) -> AIOKafkaConsumer:
    """``fetch_wait_ms`` / ``fetch_min_bytes``: how long the broker may hold a fetch to
    fill it. Short for a processor whose outputs someone waits for; long for a sink, whose
    cost is per batch (a transaction, a commit) and whose readers are not waiting.

    Unparseable records come out marked, not as an exception (``events/stream/salvage.py``)."""
    install()
    return consumer(
        conn,
        client_id=f"{client_id}-consumer",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=fetch_wait_ms,
        fetch_min_bytes=fetch_min_bytes,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=2_000,
        max_poll_interval_ms=MAX_BATCH_MS,
        rebalance_timeout_ms=MAX_BATCH_MS,
        group_instance_id=instance_id,
    )


OUTAGE_PATIENCE_MS = 300_000
"""How long a queued record may wait for its partition to have a leader again. aiokafka fails
a batch whose partition has had no leader for ``request_timeout_ms`` (40 s by default) even
with idempotence, which otherwise retries forever: with every broker of the cluster killed
and restarted that is a worker stopping for nothing (the record was never sent)."""


def idempotent_producer(
    conn: KafkaConnection, *, client_id: str, linger_ms: int = 5
) -> AIOKafkaProducer:
    """``linger_ms=0`` suits a caller that queues a whole batch before it awaits anything:
    the batch is still one request, and nothing waits for a linger timer."""
    return producer(
        conn,
        client_id=f"{client_id}-producer",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
        request_timeout_ms=OUTAGE_PATIENCE_MS,
    )


def to_input(rec: ConsumerRecord[bytes, bytes]) -> InputRecord:
    """aiokafka's record -> the engine's record (no aiokafka type leaks into tasks). A record
    the salvage adapter had to parse itself carries its damage and raw header names."""
    headers = rec.headers or ()
    if headers and type(first := headers[0][0]) is RawName:
        kept = [(str(k), v or b"") for k, v in headers if not getattr(k, "synthetic", False)]
        return InputRecord(
            rec.topic, rec.partition, rec.offset, rec.key, rec.value, kept, rec.timestamp,
            damaged=first.damage,
            raw_header_names=tuple(
                k.raw if isinstance(k, RawName) else k.encode() for k, _ in headers
                if not getattr(k, "synthetic", False)
            ),
        )  # fmt: skip
    return InputRecord(
        rec.topic, rec.partition, rec.offset, rec.key, rec.value, headers, rec.timestamp
    )


def transactional_producer(
    conn: KafkaConnection,
    *,
    client_id: str,
    transactional_id: str,
    transaction_timeout_ms: int = 60_000,
) -> AIOKafkaProducer:
    """A member's producer: a batch's outputs, state writes and consumed offsets commit as
    one transaction. ``start()`` registers ``transactional_id`` with the coordinator, which
    aborts whatever an earlier holder of the id left open and fences that holder: its later
    send or commit is refused by the broker (``ProducerFenced``). Offsets sent with a
    ``kip447.GroupMember`` go as ``TxnOffsetCommit`` v3, which the group refuses from a member
    whose generation is over (events/stream/kip447.py). Its ``CONCURRENT_TRANSACTIONS``
    retries are short (``events/stream/txn_backoff.py``): back-to-back transactions meet one
    each."""
    txn_backoff.install()
    kip447.install()
    return producer(
        conn,
        client_id=f"{client_id}-txn",
        enable_idempotence=True,
        transactional_id=transactional_id,
        transaction_timeout_ms=transaction_timeout_ms,
        linger_ms=0,
        max_batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
    )
