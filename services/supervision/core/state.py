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


@dataclass(frozen=True, slots=True)
class Stay:
    mdtrt_id: str
    fixmedins_code: str
    med_type: str
    begin: dt.date
    end: dt.date | None
    diagnoses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LineRec:
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
        than ``horizon_days`` before the newest date seen (an open stay by its admission)."""
        if self.latest is None:
            return self
        cut = self.latest - dt.timedelta(days=horizon_days)
        return PersonState(  # every field given: no ``replace`` (once per event)
            stays=tuple(s for s in self.stays if (s.end or s.begin) >= cut),
            lines=tuple(x for x in self.lines if x.day >= cut),
            claims=tuple(c for c in self.claims if c.day >= cut),
            raised=tuple(r for r in self.raised if r.window_end >= cut),
            seen=self.seen[-seen_max:],
            latest=self.latest,
        )
