"""The registration projection (``filings`` / ``insured_persons``): declared once
(``FILINGS``, read by replay, rebuild, shadow and bootstrap), written in one place, and
behind a port.

The projection is the stream task's, not a sink's: the live worker lands the rows after each
batch (``services/entry/bootstrap.py``) and commits its positions in Kafka; a rebuild
(``services/ops/filings_rebuild.py``) keeps its progress under ``positions_group``. The task
emits each accepted message's projection rows through the ``PendingRows`` port it is given;
the worker drains them once per batch and lands them through a ``FilingsProjection``. A newer source
offset wins, so a replay writes the same rows again. ``PgFilingsProjection`` is the
PostgreSQL adapter, ``MemoryFilingsProjection`` the fake; ``tests/port_suites/filings.py``
is the contract both pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import asyncpg

from events import catalog
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


class PendingRows:
    """The port the registration tasks emit their projection rows through, and the worker
    drains once per batch (the live worker in the engine's ``on_batch``, a rebuild after
    each batch it drives): one per engine, shared by its tasks, so the worker never reaches
    into the engine's tasks.

    Why a port and not a sink reading a topic, like the ledger: a row is the task's
    *verdict* (a revocation lands only when the state accepted it), computed from state
    the task already holds; no topic carries it. Rows of a batch the engine later drops (a
    member the group expelled) may still land with the next batch: they are what the
    partition's next owner computes from the same input, and the upsert keeps the newest
    source offset, so landing them early or twice changes nothing."""

    def __init__(self) -> None:
        self._rows: list[ProjectionRow] = []

    def add(self, rows: Sequence[ProjectionRow]) -> None:
        self._rows.extend(rows)

    def __len__(self) -> int:
        return len(self._rows)

    def drain(self, keep_from: Mapping[int, int] | None = None) -> list[ProjectionRow]:
        """The rows added since the last drain (then forgotten). ``keep_from`` (partition ->
        offset) keeps only the rows of records at or after it: a rebuild recomputes state
        from offset 0 but writes only what an interrupted run had not (a row's last two
        columns are its source partition and offset)."""
        rows, self._rows = self._rows, []
        if keep_from is None:
            return rows
        return [r for r in rows if cast(int, r[1][-1]) >= keep_from.get(cast(int, r[1][-2]), 0)]


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
