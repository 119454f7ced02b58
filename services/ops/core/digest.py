"""A canonical digest of tables: the same content gives the same SHA-256 on any machine.

Why canonical and not ``pg_dump | sha256sum``: two ledgers built from the same
traffic differ in what does not matter (``landed_at``, which partition and
offset a row came from, insertion order, the server's collation and
locale) and must still hash equal; a dump sees all of that. Here each table
contributes only the columns its ``TableSpec`` lists, rows in key order, each
value in one canonical text form (money without trailing zeros, times in UTC
to the microsecond, bytes in hex), so the digest changes exactly when a listed
value does.

Key order is checked, not trusted: the reader sorts in SQL by byte order
(``COLLATE "C"``), and the hasher refuses a row whose key is not greater
than the previous one, so a reader that sorted by a locale's rules fails
loudly instead of producing a machine-dependent digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import orjson

from services.ops.core.errors import BadArgument, DigestError

FORMAT = "yidi-ledger-hash/v1"
"""Part of the digest's input: a change of canonical form changes every digest."""

PeriodScope = Literal["setl_date", "period", "statement", "year", "settlement_of_period"]
"""How ``--period YYYY-MM`` restricts a table: by business date, by its own ``period``
column, by its statement's period, by the period's year, or by the settlement it is about."""

Canonical = str | int | bool | None | list["Canonical"]


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One table's contribution: ``key`` (unique, the sort order) then the other ``columns``."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    period: PeriodScope

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.key + self.columns


@dataclass(frozen=True, slots=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        match = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", text.strip())
        if match is None:
            raise BadArgument(f"not a period YYYY-MM: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def next_first_day(self) -> dt.date:
        return dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _decimal(value: Decimal) -> str:
    return "0" if not value else format(value.normalize(), "f")


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise DigestError("a timestamp without time zone cannot be digested canonically")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _same(value: Canonical) -> Canonical:
    return value


_BY_TYPE: dict[type, Callable[[Any], Canonical]] = {
    str: _same, int: _same, bool: _same, type(None): _same, Decimal: _decimal,
    dt.datetime: _timestamp, dt.date: dt.date.isoformat, bytes: bytes.hex,
}  # fmt: skip
"""Exact-type dispatch: one dict lookup per value on the hot path (millions of values)."""


def canonical(value: object) -> Canonical:
    """One value's canonical form; the column (not the value) fixes its meaning."""
    exact = _BY_TYPE.get(type(value))
    if exact is not None:
        return exact(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    raise DigestError(f"no canonical form for {type(value).__name__}")


def _order_key(value: object) -> bytes:
    """Byte order equal to PostgreSQL's ``ORDER BY … COLLATE "C"`` for the key types used."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, bool):
        raise DigestError("a boolean cannot be a digest key")
    if isinstance(value, int):
        return (value + (1 << 63)).to_bytes(8, "big")
    if isinstance(value, dt.date):
        return value.isoformat().encode()
    raise DigestError(f"a {type(value).__name__} cannot be a digest key")


@dataclass(frozen=True, slots=True)
class TableDigest:
    name: str
    present: bool
    rows: int
    sha256: str


class TableHasher:
    """Feed a table's rows in key order (values in ``spec.all_columns`` order), then ``finish``."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.rows = 0
        self._hash = hashlib.sha256()
        self._hash.update(orjson.dumps([spec.name, list(spec.all_columns)]) + b"\n")
        self._last: tuple[bytes, ...] | None = None
        self._width = len(spec.all_columns)
        self._key_width = len(spec.key)

    def add(self, row: Sequence[object]) -> None:
        if len(row) != self._width:
            raise DigestError(f"{self.spec.name}: row has {len(row)} values, not {self._width}")
        key = tuple(_order_key(v) for v in row[: self._key_width])
        if self._last is not None and key <= self._last:
            raise DigestError(
                f"{self.spec.name}: rows not in strictly increasing key order "
                f"(the reader must sort by {', '.join(self.spec.key)} in byte order)"
            )
        self._last = key
        self._hash.update(orjson.dumps([canonical(v) for v in row]) + b"\n")
        self.rows += 1

    def finish(self) -> TableDigest:
        return TableDigest(self.spec.name, True, self.rows, self._hash.hexdigest())


def absent(spec: TableSpec) -> TableDigest:
    """A listed table the database does not have (an older schema): it still shapes the digest."""
    return TableDigest(
        spec.name, False, 0, hashlib.sha256(b"absent:" + spec.name.encode()).hexdigest()
    )


@dataclass(frozen=True, slots=True)
class LedgerDigest:
    sha256: str
    period: str | None
    tables: tuple[TableDigest, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "digest": f"sha256:{self.sha256}",
            "period": self.period,
            "tables": [
                {"table": t.name, "present": t.present, "rows": t.rows, "sha256": t.sha256}
                for t in self.tables
            ],
        }


def combine(tables: Sequence[TableDigest], period: Period | None) -> LedgerDigest:
    """The overall digest: the format, the period, and each table's name, presence, rows, hash."""
    h = hashlib.sha256()
    h.update(orjson.dumps([FORMAT, None if period is None else str(period)]) + b"\n")
    for t in tables:
        h.update(orjson.dumps([t.name, t.present, t.rows, t.sha256]) + b"\n")
    return LedgerDigest(h.hexdigest(), None if period is None else str(period), tuple(tables))


def digest_rows(
    specs: Sequence[TableSpec],
    rows: Sequence[Sequence[Sequence[object]] | None],
    period: Period | None = None,
) -> LedgerDigest:
    """The whole digest from in-memory rows (``None``: table absent); the reader streams instead."""
    parts: list[TableDigest] = []
    for spec, table_rows in zip(specs, rows, strict=True):
        if table_rows is None:
            parts.append(absent(spec))
            continue
        hasher = TableHasher(spec)
        for row in table_rows:
            hasher.add(row)
        parts.append(hasher.finish())
    return combine(parts, period)
