"""The filings projection (``filings``, ``insured_persons``), declared once and written in
one place: from the registration task's accepted messages, by the live worker after each
batch (``services/bootstrap.py``) and by a rebuild (``services/ops/replay.py``).

The rows come from the task's state (``RegistrationTask.pending_rows``), so the projection
is the stream task's, not a sink's: the live worker commits its positions in Kafka and a
rebuild keeps its progress under ``positions_group``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import asyncpg

from events import catalog
from events.stream.types import Task
from services.registration.task import RegistrationTask, write_rows
from services.runtime.positions import record_positions
from services.runtime.projection import Projection

Row = tuple[str, tuple[object, ...]]

FILINGS = Projection(
    name="filings",
    topic=catalog.REGISTRATION,
    group=catalog.REGISTRATION_GROUP,
    tables=("filings", "insured_persons"),
    positions_group="replay:filings",
)


def take_rows(tasks: Iterable[Task], keep: bool = True) -> list[Row]:
    """The projection rows the tasks accumulated since the last call (then forgotten);
    ``keep=False`` only forgets them (a rebuild recomputing state before its range)."""
    rows: list[Row] = []
    for task in tasks:
        assert isinstance(task, RegistrationTask)
        if keep:
            rows.extend(task.pending_rows)
        task.pending_rows.clear()
    return rows


async def land(
    conn: asyncpg.Connection,
    rows: list[Row],
    positions_group: str | None = None,
    positions: Mapping[tuple[str, int], int] | None = None,
) -> None:
    """Upsert ``rows`` (newest source offset wins) and, for a rebuild, its progress, in one
    transaction."""
    async with conn.transaction():
        if rows:
            await write_rows(conn, rows)
        if positions_group is not None and positions:
            await record_positions(conn, positions_group, positions)
