"""PersonState <-> bytes for the faust table's changelog.

Written: a compact JSON array (``[2, latest, stays, line runs, claims, raised, seen]``).
Read: that, or the first format (a JSON object with sorted keys) that earlier workers wrote,
so a worker upgraded in place restores the changelog it finds.

Why compact: the state is written once per person per batch, whole (a compacted changelog
needs whole values), and fee lines are most of it. In the first format every line repeated
its visit's id, institution and medical type, and its ``feedetl_sn`` began with the visit's
id again: ~4 KB a person in the pipeline bench's traffic, 22 MB of changelog for 18,000
visit records — as many bytes as the worker read, each encrypted (TLS) on the worker's only
thread. Here lines are grouped in runs of the same visit (order kept exactly), a
``feedetl_sn`` that starts with the visit's id keeps only its tail (``[tail]``; a string is a
whole number), and dates are ordinals. ``tests/unit/supervision/test_state_codec.py`` checks
the round trip of both formats against each other (hypothesis).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from decimal import Decimal
from typing import Any

import orjson

from services.supervision.core.state import ClaimRec, LineRec, PersonState, Raised, Stay

FORMAT = 2
_ord = dt.date.toordinal
_day = dt.date.fromordinal


def dumps(state: PersonState) -> bytes:
    runs: list[list[Any]] = []
    run: list[list[Any]] | None = None
    head: tuple[str, str, str] | None = None
    for x in state.lines:
        if head != (x.mdtrt_id, x.fixmedins_code, x.med_type):
            head = (x.mdtrt_id, x.fixmedins_code, x.med_type)
            run = []
            runs.append([*head, run])
        sn: Any = [x.sn[len(x.mdtrt_id) :]] if x.sn.startswith(x.mdtrt_id) else x.sn
        run.append([sn, x.item, str(x.cnt), x.fen, _ord(x.day)])  # type: ignore[union-attr]
    doc = [
        FORMAT,
        None if state.latest is None else _ord(state.latest),
        [[s.mdtrt_id, s.fixmedins_code, s.med_type, _ord(s.begin),
          None if s.end is None else _ord(s.end), list(s.diagnoses)] for s in state.stays],
        runs,
        [[c.setl_id, c.mdtrt_id, c.fixmedins_code, c.med_type, _ord(c.day), c.medfee_fen]
         for c in state.claims],
        [[r.rule_id, _ord(r.window_start), _ord(r.window_end)] for r in state.raised],
        list(state.seen),
    ]  # fmt: skip
    return orjson.dumps(doc)


def loads(raw: bytes | None) -> PersonState:
    if not raw:
        return PersonState()
    doc: Any = orjson.loads(raw)
    if isinstance(doc, dict):
        return _loads_v1(doc)
    version, latest, stays, runs, claims, raised, seen = doc
    if version != FORMAT:
        raise ValueError(f"supervision state format {version} is not known")
    return PersonState(
        stays=tuple(
            Stay(m, f, t, _day(b), None if e is None else _day(e), tuple(dx))
            for m, f, t, b, e, dx in stays
        ),
        lines=tuple(
            LineRec(
                m, f, t, m + sn[0] if type(sn) is list else sn, item, Decimal(cnt), fen, _day(day)
            )
            for m, f, t, rows in runs
            for sn, item, cnt, fen, day in rows
        ),
        claims=tuple(ClaimRec(s, m, f, t, _day(day), fen) for s, m, f, t, day, fen in claims),
        raised=tuple(Raised(r, _day(a), _day(b)) for r, a, b in raised),
        seen=tuple(seen),
        latest=None if latest is None else _day(latest),
    )


def _d(s: str | None) -> dt.date | None:
    return None if s is None else dt.date.fromisoformat(s)


def dumps_v1(state: PersonState) -> bytes:
    """The first format (JSON object, ISO dates, one full row per line): written by earlier
    workers, kept to test that ``loads`` still reads it."""
    doc = {
        "stays": [[s.mdtrt_id, s.fixmedins_code, s.med_type, s.begin.isoformat(),
                   s.end.isoformat() if s.end else None, list(s.diagnoses)] for s in state.stays],
        "lines": [[x.mdtrt_id, x.fixmedins_code, x.med_type, x.sn, x.item, str(x.cnt), x.fen,
                   x.day.isoformat()] for x in state.lines],
        "claims": [[c.setl_id, c.mdtrt_id, c.fixmedins_code, c.med_type, c.day.isoformat(),
                    c.medfee_fen] for c in state.claims],
        "raised": [[r.rule_id, r.window_start.isoformat(), r.window_end.isoformat()]
                   for r in state.raised],
        "seen": list(state.seen),
        "latest": state.latest.isoformat() if state.latest else None,
    }  # fmt: skip
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def _loads_v1(doc: dict[str, Any]) -> PersonState:
    return PersonState(
        stays=tuple(
            Stay(m, f, t, dt.date.fromisoformat(b), _d(e), tuple(dx))
            for m, f, t, b, e, dx in doc["stays"]
        ),
        lines=tuple(
            LineRec(m, f, t, sn, item, Decimal(cnt), fen, dt.date.fromisoformat(day))
            for m, f, t, sn, item, cnt, fen, day in doc["lines"]
        ),
        claims=tuple(
            ClaimRec(s, m, f, t, dt.date.fromisoformat(day), fen)
            for s, m, f, t, day, fen in doc["claims"]
        ),
        raised=tuple(
            Raised(r, dt.date.fromisoformat(a), dt.date.fromisoformat(b))
            for r, a, b in doc["raised"]
        ),
        seen=tuple(doc["seen"]),
        latest=_d(doc["latest"]),
    )


class Parsed:
    """The states this worker wrote last, parsed, by key: reading a key whose bytes are the
    very object written (``is``, the memory store hands back what it was given) skips the
    parse; any other bytes (recovered from the changelog, another store) are parsed.

    Why: a person's records come in bursts (registration, fee uploads, discharge within
    seconds), so most reads of a batch find the state the previous batch wrote, and parsing
    it back was ~10 % of the agents' own work. A ``PersonState`` is immutable, so the
    object kept is the object the bytes were made from. At most ``size`` states (LRU)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.items: OrderedDict[bytes, tuple[bytes, PersonState]] = OrderedDict()

    def read(self, key: bytes, raw: bytes | None) -> PersonState:
        hit = self.items.get(key)
        if hit is not None and raw is not None and hit[0] is raw:
            self.items.move_to_end(key)
            return hit[1]
        return loads(raw)

    def wrote(self, key: bytes, raw: bytes, state: PersonState) -> None:
        self.items[key] = (raw, state)
        self.items.move_to_end(key)
        if len(self.items) > self.size:
            self.items.popitem(last=False)
