"""The secured broker refuses who it should, with the error each case deserves.

Against the real local broker (SASL_SSL + SCRAM-SHA-512, StandardAuthorizer, the ACLs
``yidi security apply`` made from the catalog): a client that does not log in, logs in with a
wrong password or speaks plaintext to the TLS listener never gets a request through; hospital A,
logged in as itself, is refused hospital B's acks, hospital B's group, the processors' topics and
the DLQ, each with Kafka's authorization error; and ``yidi security check`` sees a removed ACL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.metadata import MetadataRequest

from events import catalog
from events.stream import clients
from events.stream.clients import KafkaConnection
from services.ops import security
from services.runtime import principals
from services.runtime.settings import Settings

HOSPITAL_A, HOSPITAL_B = "H33090200001", "H33090200002"
YIDI = str(Path(sys.executable).with_name("yidi"))


@pytest.fixture(scope="module")
def settings() -> Settings:
    s = Settings()
    if s.kafka_security_protocol != "SASL_SSL":
        pytest.fail("these tests need the secured broker (YIDI_KAFKA_SECURITY_PROTOCOL=SASL_SSL)")
    return s


@pytest.fixture
def hospital_a(settings: Settings) -> KafkaConnection:
    return settings.kafka(HOSPITAL_A)


async def _metadata_over(conn: KafkaConnection) -> None:
    """One connection, one metadata request: what any client does first."""
    host, port = conn.bootstrap.split(":")
    kwargs = conn.client_kwargs()
    kwargs.pop("bootstrap_servers")
    c = await create_conn(host, int(port), request_timeout_ms=10_000, **kwargs)
    try:
        await c.send(MetadataRequest([]))
    finally:
        c.close()


async def test_client_that_does_not_log_in_is_refused(hospital_a: KafkaConnection) -> None:
    """TLS but no SASL: the listener wants a SASL handshake first and closes the connection."""
    anonymous = dataclasses.replace(hospital_a, security_protocol="SSL", user=None, password=None)
    with pytest.raises(KafkaConnectionError):
        await _metadata_over(anonymous)


async def test_wrong_password_is_refused(hospital_a: KafkaConnection) -> None:
    with pytest.raises(SaslAuthenticationFailed, match="invalid credentials"):
        await _metadata_over(hospital_a.as_user(HOSPITAL_A, "not-the-password"))


async def test_plaintext_to_the_tls_listener_is_refused(hospital_a: KafkaConnection) -> None:
    plain = dataclasses.replace(hospital_a, security_protocol="SASL_PLAINTEXT")
    with pytest.raises((KafkaConnectionError, ssl.SSLError, asyncio.IncompleteReadError)):
        await _metadata_over(plain)
    raw = dataclasses.replace(hospital_a, security_protocol="PLAINTEXT")
    with pytest.raises(KafkaConnectionError):
        await _metadata_over(raw)


async def test_the_right_password_gets_in(hospital_a: KafkaConnection) -> None:
    """The control for the three refusals above: same client, right login, request answered."""
    await _metadata_over(hospital_a)


async def _read(conn: KafkaConnection, topic: str, group: str) -> None:
    consumer = clients.consumer(conn, topic, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=3000)
    finally:
        await consumer.stop()


async def _write(conn: KafkaConnection, topic: str) -> None:
    producer = clients.producer(conn, request_timeout_ms=15_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"forged", key=b"330902:x")
    finally:
        await producer.stop()


async def test_hospital_reads_its_own_acks_in_its_own_group(hospital_a: KafkaConnection) -> None:
    await _read(hospital_a, catalog.ack_topic(HOSPITAL_A), f"hospital-{HOSPITAL_A}")


async def test_hospital_cannot_read_another_hospitals_acks(hospital_a: KafkaConnection) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _read(hospital_a, catalog.ack_topic(HOSPITAL_B), f"hospital-{HOSPITAL_A}")


async def test_hospital_cannot_join_another_group(hospital_a: KafkaConnection) -> None:
    with pytest.raises(GroupAuthorizationFailedError):
        await _read(hospital_a, catalog.ack_topic(HOSPITAL_A), f"hospital-{HOSPITAL_B}")


@pytest.mark.parametrize(
    "topic", [catalog.SETTLEMENT, catalog.ADJUDICATION_STATE, catalog.CLEARING]
)
async def test_hospital_cannot_write_processor_topics(
    hospital_a: KafkaConnection, topic: str
) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(hospital_a, topic)


async def test_hospital_cannot_read_the_dlq(hospital_a: KafkaConnection) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _read(hospital_a, catalog.DLQ, f"hospital-{HOSPITAL_A}")


async def test_hospital_may_write_visits(hospital_a: KafkaConnection, unique: str) -> None:
    """The control for the refusals: its own input topic is open to it. (A record with no valid
    signature is dead-lettered by the adjudicator, as any forged visit is.)"""
    producer = clients.producer(hospital_a)
    await producer.start()
    try:
        md = await producer.send_and_wait(catalog.VISIT, b"", key=f"probe:{unique}".encode())
        assert md.offset >= 0
    finally:
        await producer.stop()


def _check() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [YIDI, "security", "check"], capture_output=True, text=True, timeout=300, check=False
    )


def test_check_is_clean_after_apply_and_reports_a_removed_acl(settings: Settings) -> None:
    applied = subprocess.run(
        [YIDI, "security", "apply"], capture_output=True, text=True, timeout=300, check=False
    )
    assert applied.returncode == 0, applied.stderr[-2000:]
    clean = _check()
    assert clean.returncode == 0, clean.stdout[-2000:]
    assert "no drift" in clean.stdout
    removed = security.Acl(
        security.user(HOSPITAL_A), "TOPIC", "LITERAL", catalog.ack_topic(HOSPITAL_A), "READ"
    )
    admin = settings.kafka(principals.ADMIN)
    assert removed in security.observe(admin).acls
    security.apply_changes(admin, [f"DELETE_ACL {removed.line()}"])
    try:
        drifted = _check()
        assert drifted.returncode == 1
        assert f"missing acl {removed.line()}" in " ".join(drifted.stdout.split())
    finally:
        again = subprocess.run(
            [YIDI, "security", "apply"], capture_output=True, text=True, timeout=300, check=False
        )
        assert again.returncode == 0
    assert _check().returncode == 0
