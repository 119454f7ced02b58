"""Settings from the environment, built once at start-up and frozen.

Why one object: every worker and command reads the same endpoints; a typo in
an env var name must not silently fall back to a default, so unknown
``YIDI_*`` variables are refused.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.stream.clients import KafkaConnection, SaslMechanism, SecurityProtocol

Environment = Literal["local", "test", "prod"]

LOCAL_KAFKA_BOOTSTRAP = "127.0.0.1:39092"
LOCAL_DATABASE_URL = "postgresql://yidi@127.0.0.1:55432/yidi"
REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_PRINCIPAL = "admin"
"""The broker's super user: admin tooling only (topics, ACLs, users, tests' set-up)."""
CREDENTIALS_FILE = "users.json"
"""Under the secrets directory: principal -> SCRAM password (mode 0600, written by
``make up`` for the admin and by ``yidi security apply`` for the others)."""


class KafkaCredentialsMissing(RuntimeError):
    """No password for the principal: set YIDI_KAFKA_USER / YIDI_KAFKA_PASSWORD, or run
    ``make up`` and ``yidi security apply`` to create the local ones."""


class Settings(BaseSettings):
    """Endpoints and knobs of one yidi process.

    When ``YIDI_KAFKA_BOOTSTRAP`` / ``YIDI_DATABASE_URL`` are set the local
    runtime (``make up``) starts nothing and everything talks to them.
    """

    model_config = SettingsConfigDict(env_prefix="YIDI_", frozen=True, extra="forbid")

    env: Environment = "local"
    kafka_bootstrap: str = LOCAL_KAFKA_BOOTSTRAP
    kafka_security_protocol: SecurityProtocol = "SASL_SSL"
    """The local broker's client listener is SASL_SSL; PLAINTEXT only for a cluster that has
    no security (the benchmark's unsecured comparison)."""
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_user: str | None = Field(default=None, min_length=1, max_length=64)
    """Set for an existing cluster (with ``kafka_password``): this process's principal. Unset:
    the principal the process asks for (a worker its service's), password from the local
    credentials under ``kafka_secrets_dir``."""
    kafka_password: SecretStr | None = None
    kafka_ca_file: Path | None = None
    """The CA that signed the brokers' certificates; unset: ``<kafka_secrets_dir>/ca.pem``."""
    run_dir: Path = REPO_ROOT / ".run"
    """The local runtime's directory (the same ``YIDI_RUN_DIR`` deploy/local/*.sh read)."""
    kafka_secrets_dir: Path | None = None
    """Local CA, broker keystore and SCRAM passwords; unset: ``<run_dir>/kafka/secrets``."""
    database_url: SecretStr = SecretStr(LOCAL_DATABASE_URL)
    database_roles: bool = True
    """Each worker connects as its own role (``yidi_<service>``, services/runtime/db_roles.py)
    on the server and database of ``database_url``; false: every process uses ``database_url``."""
    database_url_registration: SecretStr | None = None
    database_url_ledger: SecretStr | None = None
    database_url_clearing: SecretStr | None = None
    database_url_recon: SecretStr | None = None
    database_url_supervision: SecretStr | None = None
    database_url_dashboard: SecretStr | None = None
    """A service's own URL (with its password on a real server); unset: ``database_url`` with
    the user replaced by ``yidi_<service>`` (local trust authentication, no password)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    client_id: str = Field(default="yidi", min_length=1, max_length=64)
    instance_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    """Static consumer-group membership: a crashed worker restarted with the same id takes
    its partitions back at once instead of after the session timeout; one stopped on purpose
    leaves its groups as it stops (events/stream/leave.py)."""
    group_suffix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,40}$")
    """Appended to the consumer groups of the PostgreSQL sinks (ledger, clearing, ...): a second
    database fed from the same topics (a shadow, a test) needs groups of its own."""
    key_registry: Path | None = None
    """Sender keys; unset outside prod means the public demo keys (events/wire/demo_keys.py)."""
    agency_keys: Path | None = None
    """Agencies' Ed25519 public keys that verify sign-offs (``yidi keys gen-agency``); unset
    outside prod means the deterministic demo keys (events/wire/demo_keys.py)."""
    signing_keys: Path | None = None
    """An agency's Ed25519 private keys, read only by the CLI commands that send sign-offs
    (``yidi clearing confirm``, ``yidi clearing command``); never given to a worker. Unset
    outside prod means the deterministic demo keys."""
    reference_dir: Path | None = None
    """Reference data (policy packs, catalogs, institutions); unset: deploy/reference."""
    transactions: bool = True
    """The stream processors commit each batch as one Kafka transaction of the member: the
    group refuses a frozen member it has moved past (KIP-447, docs/guarantees.md). Off
    (``YIDI_TRANSACTIONS=0``) only to measure what they cost and to show the zombie test
    failing without them."""
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """This worker's Prometheus ``/metrics`` port; unset: the worker's own default
    (``services/runtime/metrics.py`` DEFAULT_PORTS, docs/metrics.md); 0: no endpoint."""
    metrics_host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    """The address ``/metrics`` listens on (``0.0.0.0`` in a container scraped from outside)."""
    fault_pause_before_publish: int = Field(default=0, ge=0)
    """Fault injection for the zombie test: the adjudication worker stops itself (SIGSTOP) when
    its Nth batch is computed, just before publishing it. 0: never; refused in prod."""

    @model_validator(mode="after")
    def _no_fault_injection_in_prod(self) -> Settings:
        if self.env == "prod" and self.fault_pause_before_publish:
            raise ValueError("YIDI_FAULT_PAUSE_BEFORE_PUBLISH is a test hook: not in prod")
        return self

    @property
    def secrets_dir(self) -> Path:
        return self.kafka_secrets_dir or self.run_dir / "kafka" / "secrets"

    def local_credentials(self) -> dict[str, str]:
        """principal -> password, as the local runtime stored them (empty when none yet)."""
        path = self.secrets_dir / CREDENTIALS_FILE
        if not path.exists():
            return {}
        data: dict[str, str] = json.loads(path.read_text())
        return data

    def kafka(self, principal: str | None = None) -> KafkaConnection:
        """The connection for ``principal`` (a worker passes its service's, the SDK its
        institution's; ``None``: the admin tooling's super user). ``YIDI_KAFKA_USER`` wins:
        a deployed process gets exactly one identity from its environment."""
        protocol = self.kafka_security_protocol
        ca = self.kafka_ca_file or self.secrets_dir / "ca.pem"
        conn = KafkaConnection(
            self.kafka_bootstrap,
            protocol,
            self.kafka_sasl_mechanism,
            ca_file=str(ca) if protocol in ("SSL", "SASL_SSL") else None,
        )
        if not conn.uses_sasl:
            return conn
        if self.kafka_user is not None:
            if self.kafka_password is None:
                raise KafkaCredentialsMissing(
                    "YIDI_KAFKA_USER is set but YIDI_KAFKA_PASSWORD is not"
                )
            return conn.as_user(self.kafka_user, self.kafka_password.get_secret_value())
        user = principal or ADMIN_PRINCIPAL
        password = self.local_credentials().get(user)
        if password is None:
            raise KafkaCredentialsMissing(
                f"no Kafka credentials for principal {user!r} under {self.secrets_dir}: "
                "run `make up` (admin) and `yidi security apply` (every other principal), "
                "or set YIDI_KAFKA_USER / YIDI_KAFKA_PASSWORD"
            )
        return conn.as_user(user, password)

    def service_database_url(self, service: str) -> str:
        """The URL a worker of ``service`` connects with (docs/security.md, "Database roles")."""
        own = getattr(self, f"database_url_{service}", None)
        if own is not None:
            return str(own.get_secret_value())
        url = self.database_url.get_secret_value()
        if not self.database_roles:
            return url
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"yidi_{service}@{host}"))

    def role_passwords(self) -> dict[str, str]:
        """Service -> the password in its own URL (``yidi db migrate`` sets it on the role)."""
        out: dict[str, str] = {}
        for service in ("registration", "ledger", "clearing", "recon", "supervision", "dashboard"):
            own = getattr(self, f"database_url_{service}")
            password = urlsplit(own.get_secret_value()).password if own is not None else None
            if password:
                out[service] = unquote(password)
        return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use (never at import)."""
    return Settings()
