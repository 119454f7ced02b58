"""Every Kafka client is built by ``events/stream/clients.py``, with the process's identity.

Why a test: one constructor call written the old way (``AIOKafkaConsumer(bootstrap_servers=...)``)
connects without TLS or a login; against the secured broker it fails at run time, against an
unsecured one it silently bypasses whatever the factory adds. The scan is over the whole tree,
product code, SDK, tools and tests alike.
"""

from __future__ import annotations

import ast
import asyncio
import json
import pickle
import ssl
from pathlib import Path

import pytest

from events.stream import clients
from events.stream.clients import KafkaConnection
from services.runtime.settings import KafkaCredentialsMissing, Settings

ROOT = Path(__file__).resolve().parents[4]
FACTORY = ROOT / "events" / "stream" / "clients.py"
CONSTRUCTORS = frozenset(
    {"AIOKafkaConsumer", "AIOKafkaProducer", "AIOKafkaAdminClient", "AIOKafkaClient"}
)


def _constructor_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if name in CONSTRUCTORS:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


def test_no_kafka_client_is_constructed_outside_the_factory() -> None:
    files = [
        p for d in ("contracts", "events", "services", "tests") for p in (ROOT / d).rglob("*.py")
    ]
    assert len(files) > 100
    outside = [c for p in files if p != FACTORY for c in _constructor_calls(p)]
    assert outside == []
    assert len(_constructor_calls(FACTORY)) == len(CONSTRUCTORS), "the factory builds each kind"


def test_the_scan_sees_a_constructor(tmp_path: Path) -> None:
    probe = ROOT / "tests" / "unit" / "_probe_constructor.py"
    probe.write_text("import aiokafka\nc = aiokafka.AIOKafkaConsumer(bootstrap_servers='x')\n")
    try:
        assert _constructor_calls(probe) == ["tests/unit/_probe_constructor.py:2 AIOKafkaConsumer"]
    finally:
        probe.unlink()


def test_sasl_ssl_connection_carries_login_and_ca(tmp_path: Path) -> None:
    conn = KafkaConnection("b:1", "SASL_SSL", "SCRAM-SHA-512", "H1", "pw", ca_file=None)
    kw = conn.client_kwargs()
    assert kw["security_protocol"] == "SASL_SSL"
    assert kw["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kw["sasl_plain_username"], kw["sasl_plain_password"]) == ("H1", "pw")
    assert isinstance(kw["ssl_context"], ssl.SSLContext)
    assert kw["ssl_context"].check_hostname is True
    assert "pw" not in repr(conn)

    async def build() -> tuple[str, str]:
        consumer = clients.consumer(conn, "t", group_id="g")
        return consumer._client._security_protocol, consumer._client._sasl_plain_username

    assert asyncio.run(build()) == ("SASL_SSL", "H1")


def test_connection_survives_pickling_after_its_context_was_built() -> None:
    conn = KafkaConnection("b:1", "SASL_SSL", "SCRAM-SHA-512", "H1", "pw")
    assert conn.ssl_context is not None
    back = pickle.loads(pickle.dumps(conn))
    assert back == conn and isinstance(back.ssl_context, ssl.SSLContext)


def test_sasl_without_password_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a user and a password"):
        KafkaConnection("b:1", "SASL_SSL").client_kwargs()


def test_plaintext_connection_adds_nothing() -> None:
    kw = KafkaConnection("b:1").client_kwargs()
    assert kw == {"bootstrap_servers": "b:1", "security_protocol": "PLAINTEXT"}


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    secrets = tmp_path / "kafka" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "users.json").write_text(json.dumps({"admin": "a-pw", "yidi-ledger": "l-pw"}))
    for var in ("YIDI_KAFKA_USER", "YIDI_KAFKA_PASSWORD", "YIDI_KAFKA_SECRETS_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("YIDI_RUN_DIR", str(tmp_path))
    monkeypatch.setenv("YIDI_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    return Settings()


def test_local_default_finds_each_principal_under_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path, monkeypatch)
    ledger = s.kafka("yidi-ledger")
    assert (ledger.user, ledger.password) == ("yidi-ledger", "l-pw")
    assert ledger.ca_file == str(tmp_path / "kafka" / "secrets" / "ca.pem")
    assert s.kafka().user == "admin"
    with pytest.raises(KafkaCredentialsMissing, match="yidi security apply"):
        s.kafka("H33090200001")


def test_explicit_user_wins_over_the_process_principal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings(tmp_path, monkeypatch)
    monkeypatch.setenv("YIDI_KAFKA_USER", "svc-x")
    monkeypatch.setenv("YIDI_KAFKA_PASSWORD", "x-pw")
    monkeypatch.setenv("YIDI_KAFKA_CA_FILE", "/etc/ca.pem")
    s = Settings()
    conn = s.kafka("yidi-ledger")
    assert (conn.user, conn.password, conn.ca_file) == ("svc-x", "x-pw", "/etc/ca.pem")
    assert "x-pw" not in repr(s)
