"""Shared test helpers: unique names so tests never collide on the shared broker."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, group and schema names of one test."""
    return uuid.uuid4().hex[:10]
