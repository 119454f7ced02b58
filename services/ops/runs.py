"""The runs of ``yidi replay`` (rebuild, production, shadow) as recorded in ``replay_runs``:
opened (or found unfinished, to resume), closed with their report, and listed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import asyncpg
import orjson

from services.ops.core.replay import Span

Progress = Callable[[int], None]
"""Called with the number of records just handled."""


@dataclass(slots=True)
class RunReport:
    run_id: str
    records: int
    inserted: int
    already_present: int
    skipped: int
    """Records the projection does not take (bad records, same-pool settlements for
    clearing); their DLQ records were written when they were first read."""
    seconds: float
    resumed: bool
    spans: dict[str, dict[str, list[int]]]

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "records": self.records,
            "inserted": self.inserted,
            "already_present": self.already_present,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.rate),
            "resumed": self.resumed,
            "spans": self.spans,
        }


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


async def open_run(
    conn: asyncpg.Connection, run_id: str, kind: str, target: str, spans: Mapping[str, object]
) -> bool:
    """Start a run, or find the unfinished one of the same id: True when resuming."""
    status = await conn.fetchval("SELECT status FROM replay_runs WHERE run_id = $1", run_id)
    if status == "running":
        return True
    await conn.execute(
        """INSERT INTO replay_runs (run_id, kind, target, status, spans)
           VALUES ($1, $2, $3, 'running', $4)
           ON CONFLICT (run_id) DO UPDATE SET status = 'running', spans = EXCLUDED.spans,
               records = 0, seconds = NULL, result = NULL, started_at = now(), finished_at = NULL""",
        run_id, kind, target, orjson.dumps(spans).decode(),
    )  # fmt: skip
    return False


async def close_run(conn: asyncpg.Connection, report: RunReport, result: object = None) -> None:
    await conn.execute(
        """UPDATE replay_runs SET status = 'done', records = $2, seconds = $3, result = $4,
               finished_at = now() WHERE run_id = $1""",
        report.run_id, report.records, report.seconds,
        orjson.dumps(result if result is not None else report.as_dict()).decode(),
    )  # fmt: skip


async def run_spans(conn: asyncpg.Connection, run_id: str) -> dict[str, dict[str, list[int]]]:
    raw = await conn.fetchval("SELECT spans FROM replay_runs WHERE run_id = $1", run_id)
    spans: dict[str, dict[str, list[int]]] = orjson.loads(raw)
    return spans


def spans_json(topic: str, spans: Sequence[Span]) -> dict[str, dict[str, list[int]]]:
    return {topic: {str(s.partition): [s.start, s.end] for s in spans}}
