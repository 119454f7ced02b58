"""Settings from the environment, built once at start-up and frozen.

Why one object: every worker and command reads the same endpoints; a typo in
an env var name must not silently fall back to a default, so unknown
``YIDI_*`` variables are refused.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["local", "test", "prod"]

LOCAL_KAFKA_BOOTSTRAP = "127.0.0.1:39092"
LOCAL_DATABASE_URL = "postgresql://yidi@127.0.0.1:55432/yidi"


class Settings(BaseSettings):
    """Endpoints and knobs of one yidi process.

    When ``YIDI_KAFKA_BOOTSTRAP`` / ``YIDI_DATABASE_URL`` are set the local
    runtime (``make up``) starts nothing and everything talks to them.
    """

    model_config = SettingsConfigDict(env_prefix="YIDI_", frozen=True, extra="forbid")

    env: Environment = "local"
    kafka_bootstrap: str = LOCAL_KAFKA_BOOTSTRAP
    database_url: SecretStr = SecretStr(LOCAL_DATABASE_URL)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    client_id: str = Field(default="yidi", min_length=1, max_length=64)
    instance_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    """Static consumer-group membership: a restarted worker with the same id takes its
    partitions back at once instead of after the session timeout."""
    group_suffix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,40}$")
    """Appended to the consumer groups of the PostgreSQL sinks (ledger, clearing, ...): a second
    database fed from the same topics (a shadow, a test) needs groups of its own."""
    key_registry: Path | None = None
    """Sender keys; unset outside prod means the public demo keys (events/demo_keys.py)."""
    reference_dir: Path | None = None
    """Reference data (policy packs, catalogs, institutions); unset: deploy/reference."""
    transactions: bool = True
    """The stream processors commit each batch as Kafka transactions (one per input partition):
    the broker fences a frozen member the group has moved past (docs/guarantees.md). Off
    (``YIDI_TRANSACTIONS=0``) only to measure what they cost and to show the zombie test
    failing without them."""
    fault_pause_before_publish: int = Field(default=0, ge=0)
    """Fault injection for the zombie test: the adjudication worker stops itself (SIGSTOP) when
    its Nth batch is computed, just before publishing it. 0: never; refused in prod."""

    @model_validator(mode="after")
    def _no_fault_injection_in_prod(self) -> Settings:
        if self.env == "prod" and self.fault_pause_before_publish:
            raise ValueError("YIDI_FAULT_PAUSE_BEFORE_PUBLISH is a test hook: not in prod")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use (never at import)."""
    return Settings()
