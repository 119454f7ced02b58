"""Settings come from YIDI_* variables, once, and are frozen."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.runtime.settings import LOCAL_KAFKA_BOOTSTRAP, Settings


def test_defaults_point_at_the_local_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIDI_KAFKA_BOOTSTRAP", raising=False)
    assert Settings().kafka_bootstrap == LOCAL_KAFKA_BOOTSTRAP


def test_env_overrides_and_secret_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIDI_KAFKA_BOOTSTRAP", "kafka-1:9092")
    monkeypatch.setenv("YIDI_DATABASE_URL", "postgresql://u:hunter2@db/yidi")
    s = Settings()
    assert s.kafka_bootstrap == "kafka-1:9092"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())


def test_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.kafka_bootstrap = "elsewhere:9092"  # type: ignore[misc]


def test_bad_values_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIDI_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError):
        Settings()
