"""The registration projection (``filings`` / ``insured_persons``): declared once
(``FILINGS``, read by replay, rebuild, shadow and bootstrap), written in one place, and
behind a port.

The projection is the stream task's, not a sink's: the live worker lands the rows after each
batch (``services/bootstrap.py``) and commits its positions in Kafka; a rebuild
(``services/ops/replay.py``) keeps its progress under ``positions_group``. The task turns
each accepted message into projection rows (``RegistrationTask.pending_rows``); the engine
lands them with the batch through a ``FilingsProjection``. A newer source
offset wins, so a replay writes the same rows again. ``PgFilingsProjection`` is the
PostgreSQL adapter, ``MemoryFilingsProjection`` the fake; ``tests/port_suites/filings.py``
is the contract both pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import asyncpg

from events import catalog
from events.stream.types import Task
from services.runtime.positions import record_positions
from services.runtime.projection import Projection

ProjectionRow = tuple[str, tuple[object, ...]]
"""("filing", filings columns) or ("person", insured_persons columns), in table order."""
Row = ProjectionRow

FILINGS = Projection(
    name="filings",
    topic=catalog.REGISTRATION,
    group=catalog.REGISTRATION_GROUP,
    tables=("filings", "insured_persons"),
    positions_group="replay:filings",
)


@dataclass(frozen=True, slots=True)
class FilingView:
    filing_id: str
    psn_no: str
    insuplc_admdvs: str
    mdtrtarea_admvs: str
    begndate: dt.date
    enddate: dt.date | None
    revoked_on: dt.date | None
    certno_masked: str
    src_offset: int


@dataclass(frozen=True, slots=True)
class PersonView:
    insuplc_admdvs: str
    psn_no: str
    insutypes: tuple[str, ...]
    status: str
    poor: bool
    src_offset: int


class FilingsProjection(Protocol):
    async def write(self, rows: Sequence[ProjectionRow]) -> None:
        """Upsert the batch's rows atomically; a row from an older source offset is ignored."""

    async def filing(self, filing_id: str) -> FilingView | None: ...
    async def person(self, insuplc_admdvs: str, psn_no: str) -> PersonView | None: ...


class PgFilingsProjection:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def write(self, rows: Sequence[ProjectionRow]) -> None:
        await write_rows(self.conn, rows)

    async def filing(self, filing_id: str) -> FilingView | None:
        r = await self.conn.fetchrow(
            "SELECT filing_id, psn_no, insuplc_admdvs, mdtrtarea_admvs, begndate, enddate, "
            "revoked_on, certno_masked, src_offset FROM filings WHERE filing_id = $1",
            filing_id,
        )
        return None if r is None else FilingView(*r.values())

    async def person(self, insuplc_admdvs: str, psn_no: str) -> PersonView | None:
        r = await self.conn.fetchrow(
            "SELECT insuplc_admdvs, psn_no, insutypes, status, poor, src_offset "
            "FROM insured_persons WHERE insuplc_admdvs = $1 AND psn_no = $2",
            insuplc_admdvs,
            psn_no,
        )
        if r is None:
            return None
        return PersonView(r[0], r[1], tuple(r[2]), r[3], r[4], r[5])


class MemoryFilingsProjection:
    """The projection as two dicts: what ``write_rows`` keeps, column for column."""

    def __init__(self) -> None:
        self.filings: dict[str, FilingView] = {}
        self.persons: dict[tuple[str, str], PersonView] = {}
        self.batches = 0

    async def write(self, rows: Sequence[ProjectionRow]) -> None:
        filings, persons = dict(self.filings), dict(self.persons)
        for kind, r in rows:
            if kind == "filing":
                (fid, psn, home, _type, treat, begn, end, revoked, _ch, _reg, masked, _p, off) = r
                new = FilingView(
                    str(fid), str(psn), str(home), str(treat), cast(dt.date, begn),
                    cast(dt.date | None, end), cast(dt.date | None, revoked), str(masked),
                    cast(int, off),
                )  # fmt: skip
                old = filings.get(new.filing_id)
                if old is None:
                    filings[new.filing_id] = new
                elif old.src_offset <= new.src_offset:
                    filings[new.filing_id] = FilingView(
                        old.filing_id, old.psn_no, old.insuplc_admdvs, old.mdtrtarea_admvs,
                        old.begndate, new.enddate, new.revoked_on, old.certno_masked, new.src_offset,
                    )  # fmt: skip
            elif kind == "person":
                (home, psn, types, status, poor, _p, off) = r
                new_p = PersonView(
                    str(home), str(psn), tuple(cast(list[str], types)), str(status), bool(poor),
                    cast(int, off),
                )  # fmt: skip
                old_p = persons.get((new_p.insuplc_admdvs, new_p.psn_no))
                if old_p is None or old_p.src_offset <= new_p.src_offset:
                    persons[(new_p.insuplc_admdvs, new_p.psn_no)] = new_p
            else:
                raise ValueError(f"unknown projection row kind {kind!r}")
        self.filings, self.persons = filings, persons
        self.batches += 1

    async def filing(self, filing_id: str) -> FilingView | None:
        return self.filings.get(filing_id)

    async def person(self, insuplc_admdvs: str, psn_no: str) -> PersonView | None:
        return self.persons.get((insuplc_admdvs, psn_no))


async def write_rows(conn: asyncpg.Connection, rows: Sequence[ProjectionRow]) -> None:
    """Upsert the batch's projection rows in one transaction; a newer source offset wins."""
    filings = [r for kind, r in rows if kind == "filing"]
    persons = [r for kind, r in rows if kind == "person"]
    async with conn.transaction():
        if filings:
            await conn.executemany(
                """INSERT INTO filings (filing_id, psn_no, insuplc_admdvs, filing_type, mdtrtarea_admvs, begndate,
                       enddate, revoked_on, channel, registrant, certno_masked, src_partition, src_offset)
                   VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
                   ON CONFLICT (filing_id) DO UPDATE SET revoked_on = EXCLUDED.revoked_on,
                       enddate = EXCLUDED.enddate, src_offset = EXCLUDED.src_offset, updated_at = now()
                   WHERE filings.src_offset <= EXCLUDED.src_offset""",
                filings,
            )
        if persons:
            await conn.executemany(
                """INSERT INTO insured_persons (insuplc_admdvs, psn_no, insutypes, status, poor, src_partition, src_offset)
                   VALUES ($1,$2,$3,$4,$5,$6,$7)
                   ON CONFLICT (insuplc_admdvs, psn_no) DO UPDATE SET insutypes = EXCLUDED.insutypes,
                       status = EXCLUDED.status, poor = EXCLUDED.poor, src_offset = EXCLUDED.src_offset,
                       updated_at = now()
                   WHERE insured_persons.src_offset <= EXCLUDED.src_offset""",
                persons,
            )


def take_rows(tasks: Iterable[Task], keep: bool = True) -> list[ProjectionRow]:
    """The projection rows the tasks accumulated since the last call (then forgotten);
    ``keep=False`` only forgets them (a rebuild recomputing state before its range)."""
    from services.registration.task import RegistrationTask  # the task imports this module

    rows: list[ProjectionRow] = []
    for task in tasks:
        assert isinstance(task, RegistrationTask)
        if keep:
            rows.extend(task.pending_rows)
        task.pending_rows.clear()
    return rows


async def land(
    conn: asyncpg.Connection,
    rows: list[ProjectionRow],
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
