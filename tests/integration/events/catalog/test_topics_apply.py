"""`topics apply` against the real broker: create, no-op, config drift, partition growth."""

from __future__ import annotations

from dataclasses import replace

from events.admin import apply, delete_topics
from events.catalog import CATALOG
from services.runtime.settings import Settings


async def test_apply_twice_then_drift(settings: Settings, unique: str) -> None:
    catalog = tuple(replace(t, name=f"it.{unique}.{t.name}") for t in CATALOG[:3])
    names = [t.name for t in catalog]
    try:
        first = await apply(settings.kafka(), catalog, "test")
        assert [(c.topic, c.action) for c in first] == [(n, "create") for n in names]
        assert await apply(settings.kafka(), catalog, "test") == []

        changed = (replace(catalog[0], retention_ms=123_000, partitions=catalog[0].partitions + 2),)
        plan = await apply(settings.kafka(), changed, "test")
        assert sorted(c.action for c in plan) == ["add_partitions", "alter_configs"]
        assert await apply(settings.kafka(), changed, "test") == []

        shrunk = (replace(changed[0], partitions=1),)
        refused = await apply(settings.kafka(), shrunk, "test", dry_run=True)
        assert [c.action for c in refused] == ["refuse"]
    finally:
        await delete_topics(settings.kafka(), names)
