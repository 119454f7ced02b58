"""PersonState <-> bytes for the faust table's changelog (compact JSON, sorted keys)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson

from services.supervision.core.state import ClaimRec, LineRec, PersonState, Raised, Stay


def _d(s: str | None) -> dt.date | None:
    return None if s is None else dt.date.fromisoformat(s)


def dumps(state: PersonState) -> bytes:
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


def loads(raw: bytes | None) -> PersonState:
    if not raw:
        return PersonState()
    doc: dict[str, Any] = orjson.loads(raw)
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
