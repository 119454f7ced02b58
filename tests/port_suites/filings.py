"""The registration projection port's contract (``services.registration.projection``)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.registration.projection import FilingsProjection, ProjectionRow

D = dt.date


def filing(offset: int, *, revoked: D | None = None, end: D | None = None) -> ProjectionRow:
    return ("filing", (
        "F1", "P330200000001", "330200", "1", "310104", D(2026, 1, 1), end, revoked, "online",
        "AG330200", "3302**********0011", 0, offset,
    ))  # fmt: skip


def person(offset: int, status: str, types: list[str]) -> ProjectionRow:
    return ("person", ("330200", "P330200000001", types, status, False, 0, offset))


class FilingsProjectionContract:
    @pytest.fixture
    def projection(self) -> FilingsProjection:
        raise NotImplementedError

    async def test_the_newest_source_offset_wins_and_a_replay_changes_nothing(
        self, projection: FilingsProjection
    ) -> None:
        assert await projection.filing("F1") is None
        await projection.write([filing(5), person(6, "active", ["310", "390"])])
        await projection.write([filing(9, revoked=D(2026, 3, 1), end=D(2026, 3, 1))])
        await projection.write([filing(5), person(2, "suspended", ["310"])])  # older: ignored
        f = await projection.filing("F1")
        p = await projection.person("330200", "P330200000001")
        assert f is not None and p is not None
        assert (f.revoked_on, f.enddate, f.src_offset, f.certno_masked, f.begndate) == (
            D(2026, 3, 1), D(2026, 3, 1), 9, "3302**********0011", D(2026, 1, 1))  # fmt: skip
        assert (p.status, p.insutypes, p.src_offset) == ("active", ("310", "390"), 6)
        await projection.write([person(8, "suspended", ["310"])])
        p = await projection.person("330200", "P330200000001")
        assert p is not None and (p.status, p.insutypes) == ("suspended", ("310",))
        assert await projection.person("330200", "nobody") is None

    async def test_an_empty_batch_is_a_no_op(self, projection: FilingsProjection) -> None:
        await projection.write([])
        assert await projection.filing("F1") is None
