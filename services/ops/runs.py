"""Reading the replay runs recorded in ``replay_runs`` (``ops/replay.py`` writes them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    kind: str
    target: str
    status: str
    records: int | None
    seconds: float | None
    started_at: dt.datetime
    finished_at: dt.datetime | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def list_runs(conn: asyncpg.Connection) -> list[RunRow]:
    """Every recorded run, newest first."""
    rows = await conn.fetch(
        "SELECT run_id, kind, target, status, records, seconds, started_at, finished_at "
        "FROM replay_runs ORDER BY started_at DESC"
    )
    return [RunRow(**dict(r)) for r in rows]
