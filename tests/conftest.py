"""Shared test helpers: unique names so tests never collide on the shared broker, and the
suite's hypothesis settings."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import settings

# No per-example deadline: the suite runs on a 2-core box shared with brokers, PostgreSQL and
# workers, where hypothesis' 200 ms deadline measured the box's load, not the code (a property
# of clearing's scopes failed that way at 334 ms). Speed is the benchmarks' job (docs/performance.md).
settings.register_profile("yidi", deadline=None)
settings.load_profile("yidi")


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, group and schema names of one test."""
    return uuid.uuid4().hex[:10]
