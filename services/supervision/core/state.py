"""Per-person state the rules read, with an explicit expiry computed here.

Why not faust windows alone: a stay can last longer than any window, and
decomposed hospitalization looks back from a readmission to the previous
discharge; a tumbling or hopping window would cut such a pair at its
boundary (a missed alert) or count it in two windows (a double one). So the
adapter keeps one value per person in a changelog-backed faust table and the
core drops what no rule can need any more: records older than the longest
window of the pack, measured from the newest business date seen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from operator import attrgetter


@dataclass(frozen=True, slots=True)
class Stay:
    mdtrt_id: str
    fixmedins_code: str
    med_type: str
    begin: dt.date
    end: dt.date | None
    diagnoses: tuple[str, ...]


@dataclass(slots=True)
class LineRec:
    """One fee line kept. Not frozen: a frozen dataclass's ``__init__`` sets each of its eight
    fields through ``object.__setattr__``, and a line is made for every fee line read (the
    fee uploads and every state parsed back); nothing hashes a line, nothing assigns to one
    (treat it as immutable: states share their lines)."""

    mdtrt_id: str
    fixmedins_code: str
    med_type: str
    sn: str
    item: str
    cnt: Decimal
    fen: int
    day: dt.date


@dataclass(frozen=True, slots=True)
class ClaimRec:
    setl_id: str
    mdtrt_id: str
    fixmedins_code: str
    med_type: str
    day: dt.date
    medfee_fen: int


@dataclass(frozen=True, slots=True)
class Raised:
    """An alert already raised: suppresses a second one for an overlapping window."""

    rule_id: str
    window_start: dt.date
    window_end: dt.date


@dataclass(frozen=True, slots=True)
class PersonState:
    """Everything kept about one person. ``seen`` holds the ids of applied events, so an
    event delivered twice (at-least-once after a crash) changes nothing the second time."""

    stays: tuple[Stay, ...] = ()
    lines: tuple[LineRec, ...] = ()
    claims: tuple[ClaimRec, ...] = ()
    raised: tuple[Raised, ...] = ()
    seen: tuple[str, ...] = ()
    latest: dt.date | None = None

    def already_raised(self, rule_id: str, start: dt.date, end: dt.date) -> bool:
        return any(
            r.rule_id == rule_id and r.window_start <= end and start <= r.window_end
            for r in self.raised
        )

    def advanced(self, day: dt.date) -> PersonState:
        latest = day if self.latest is None or day > self.latest else self.latest
        return replace(self, latest=latest)

    def expired(self, horizon_days: int, seen_max: int = 256) -> PersonState:
        """Drop what no rule can need: stays ended, lines, claims and raised windows older
        than ``horizon_days`` before the newest date seen (an open stay by its admission).

        Once per event: a collection with nothing to drop (the usual case: a person's records
        span days, the horizon months) is kept as it is, told by its oldest date (``min``
        over the dates, in C) instead of rebuilt element by element; nothing dropped at all
        returns the state itself."""
        if self.latest is None:
            return self
        cut = self.latest - dt.timedelta(days=horizon_days)
        stays, lines, claims, raised = self.stays, self.lines, self.claims, self.raised
        keep = True
        if stays and min(s.end or s.begin for s in stays) < cut:
            stays, keep = tuple(s for s in stays if (s.end or s.begin) >= cut), False
        if lines and min(map(_DAY, lines)) < cut:
            lines, keep = tuple(x for x in lines if x.day >= cut), False
        if claims and min(map(_DAY, claims)) < cut:
            claims, keep = tuple(c for c in claims if c.day >= cut), False
        if raised and min(map(_END, raised)) < cut:
            raised, keep = tuple(r for r in raised if r.window_end >= cut), False
        seen = self.seen
        if len(seen) > seen_max:
            seen, keep = seen[-seen_max:], False
        if keep:
            return self
        return PersonState(  # every field given: no ``replace``
            stays=stays, lines=lines, claims=claims, raised=raised, seen=seen, latest=self.latest
        )


_DAY = attrgetter("day")
_END = attrgetter("window_end")
