"""A person's duplicate memory (``ce_id`` -> what it got) as persistent views of one log.

Why not a dict copied on every note: the row a record starts from must stay as it was
until the record's outcome is stored (a raise changes nothing), so ``_note`` copied the
whole dict, up to ``SEEN_LIMIT`` (256) entries, on every record; once full it dropped the
first entry on every note, so the row's JSON, remembered as one array, never matched and
all 256 entries were serialised again on every write (about 100 µs a write for a
long-lived person, more than the record itself).

Here every version of a person's memory is a view ``[lo, hi)`` of one append-only log
shared by the versions: noting appends to the log when the view is its newest version
(``hi`` at the log's end) and returns a new view one entry longer, its front moved past
the limit; the older view does not see the new entry (its ``hi`` is below it), so it is
unchanged, whoever holds it. Anything else (a view that is not the newest, a ``ce_id``
the log held before, a log grown to twice the limit) copies the view's entries into a new
log: the rare path, and at most once per ``limit`` notes for a long-lived person. Each
entry's JSON is written once, appended to the log's text; a view's JSON is one slice of
it (a person at the limit, one note and one row write: 37.4 -> 5.5 µs, 2026-12-04).

``tests/unit/adjudication/test_seen_log.py`` holds every view, after any sequence of notes
on any versions, to a plain dict with the old copy-and-drop rule, and its JSON to the
whole array written afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson


@dataclass(slots=True)  # a value: never mutated
class Seen:
    offset: int
    status: str
    code: str | None = None
    text: str | None = None
    setl_id: str | None = None


class _Log:
    """Append-only: entry ``i`` is ``keys[i]`` -> ``values[i]``; ``index`` maps each key to
    its position. ``text`` holds the JSON of entries ``start`` onwards, each followed by a
    comma; ``ends[j]`` is where entry ``start + j``'s comma ends (``start`` None: none)."""

    __slots__ = ("ends", "index", "keys", "start", "text", "values")

    def __init__(self, keys: list[str], values: list[Seen]) -> None:
        self.keys = keys
        self.values = values
        self.index = {k: i for i, k in enumerate(keys)}
        self.start: int | None = None
        self.text = bytearray()
        self.ends: list[int] = []


class SeenLog:
    """One version of a person's ``seen``: insertion-ordered, read like a mapping."""

    __slots__ = ("_hi", "_lo", "_log")

    def __init__(self, log: _Log | None = None, lo: int = 0, hi: int = 0) -> None:
        self._log = _Log([], []) if log is None else log
        self._lo = lo
        self._hi = hi

    @classmethod
    def of(cls, entries: Iterable[tuple[str, Seen]]) -> SeenLog:
        """A fresh log holding ``entries`` in order (a later repeat of a key replaces the
        earlier one in its place, as a dict built from them would)."""
        merged = dict(entries)
        log = _Log(list(merged), list(merged.values()))
        return cls(log, 0, len(merged))

    def get(self, key: str) -> Seen | None:
        log = self._log
        at = log.index.get(key)
        if at is None or not self._lo <= at < self._hi:
            return None
        return log.values[at]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return self._hi - self._lo

    def __iter__(self) -> Iterator[str]:
        return iter(self._log.keys[self._lo : self._hi])

    def items(self) -> list[tuple[str, Seen]]:
        lo, hi, log = self._lo, self._hi, self._log
        return list(zip(log.keys[lo:hi], log.values[lo:hi], strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SeenLog):
            return self.items() == other.items()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking container: not hashable

    def __repr__(self) -> str:
        return f"SeenLog({dict(self.items())!r})"

    def noted(self, key: str, seen: Seen, limit: int) -> SeenLog:
        """This memory with ``key`` -> ``seen`` appended (``key`` must not be in it), the
        oldest entries dropped beyond ``limit``. ``self`` is unchanged."""
        log = self._log
        lo, hi = self._lo, self._hi
        if hi == len(log.keys) and key not in log.index and hi < 2 * limit:
            log.keys.append(key)
            log.values.append(seen)
            log.index[key] = hi
            hi += 1
            return SeenLog(log, hi - limit if hi - limit > lo else lo, hi)
        keys = [*log.keys[lo:hi], key]
        values = [*log.values[lo:hi], seen]
        drop = max(0, len(keys) - limit)
        fresh = _Log(keys[drop:], values[drop:])
        return SeenLog(fresh, 0, len(fresh.keys))

    def to_json(self) -> bytes:
        """``orjson.dumps([[ce_id, offset, status, code, text, setl_id], ...])``: each
        entry's JSON written once into the log's text, then this view's part of it."""
        log, lo, hi = self._log, self._lo, self._hi
        if lo == hi:
            return b"[]"
        start = log.start
        if start is None or start > lo:
            start = log.start = lo
            log.text = bytearray()
            log.ends = []
        text, ends, keys, values = log.text, log.ends, log.keys, log.values
        for at in range(start + len(ends), hi):
            s = values[at]
            text += orjson.dumps([keys[at], s.offset, s.status, s.code, s.text, s.setl_id]) + b","
            ends.append(len(text))
        first = 0 if lo == start else ends[lo - start - 1]
        return b"".join((b"[", text[first : ends[hi - start - 1] - 1], b"]"))

    def forget_json(self) -> None:
        """Drop the entries' kept JSON (memory); it is written again when needed."""
        log = self._log
        log.start = None
        log.text = bytearray()
        log.ends = []
