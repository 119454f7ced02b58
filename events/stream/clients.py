"""The Kafka clients every worker uses, configured once: what effectively-once needs
(manual commits, read_committed, the idempotent producer) and what latency needs
(short fetch waits) are not left to each worker to remember."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from events.stream.salvage import RawName, install
from events.stream.types import InputRecord

MAX_BATCH_MS = 300_000
"""How long a rebalance waits for a member to finish its batch in flight (a first batch
restores its partitions' state) and rejoin. aiokafka's default is the session timeout, 10 s:
a longer restore got the member expelled while it went on to publish its batch and write
state the partitions' new owner had already moved past."""


def group_consumer(
    bootstrap: str,
    group_id: str,
    *,
    client_id: str,
    instance_id: str | None = None,
    fetch_wait_ms: int = 20,
    fetch_min_bytes: int = 1,
) -> AIOKafkaConsumer:
    """``fetch_wait_ms`` / ``fetch_min_bytes``: how long the broker may hold a fetch to
    fill it. Short for a processor whose outputs someone waits for; long for a sink, whose
    cost is per batch (a transaction, a commit) and whose readers are not waiting.

    Unparseable records come out marked, not as an exception (``events/stream/salvage.py``)."""
    install()
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=f"{client_id}-consumer",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=fetch_wait_ms,
        fetch_min_bytes=fetch_min_bytes,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=2_000,
        max_poll_interval_ms=MAX_BATCH_MS,
        rebalance_timeout_ms=MAX_BATCH_MS,
        group_instance_id=instance_id,
    )


def idempotent_producer(bootstrap: str, *, client_id: str, linger_ms: int = 5) -> AIOKafkaProducer:
    """``linger_ms=0`` suits a caller that queues a whole batch before it awaits anything:
    the batch is still one request, and nothing waits for a linger timer."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=f"{client_id}-producer",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
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
    bootstrap: str, *, client_id: str, transactional_id: str
) -> AIOKafkaProducer:
    """One input partition's producer: its outputs, state writes and consumed offsets commit
    as one transaction. ``start()`` registers ``transactional_id`` with the coordinator, which
    aborts whatever an earlier holder of the id left open and fences that holder: a zombie's
    later send or commit is refused by the broker (``ProducerFenced``). aiokafka implements
    only version 0 of the transaction requests (no KIP-447 fencing by group generation), so the
    id must be per input partition, never per process."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=f"{client_id}-txn",
        enable_idempotence=True,
        transactional_id=transactional_id,
        linger_ms=0,
        max_batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
    )
