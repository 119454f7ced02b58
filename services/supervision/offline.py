"""Offline supervision: JSONL lines (visit events and settlements, in topic order) through
the same core with in-memory state — what the worker computes, without a broker.

Why: tests check the rules end to end on simulated traffic in a second, and an
analyst can re-run a month of traffic against a changed rule pack.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from contracts.settlement import SETTLEMENT_TOPIC
from contracts.supervision import SupervisionAlert
from events.wire.codec import Codec
from events.wire.errors import DecodeError
from services.supervision.core.person import apply_settlement, apply_visit
from services.supervision.core.rules import RuleBook
from services.supervision.core.state import PersonState
from services.supervision.translate import settlement_event, visit_event


def supervise(
    lines: Iterable[bytes | str], rules: RuleBook, codec: Codec
) -> list[SupervisionAlert]:
    """Lines in ``yidi simulate --out`` / ``yidi adjudicate`` format; settlements are told
    apart by their ce_type, as they travel on their own topic."""
    visit_states: dict[str, PersonState] = {}
    claim_states: dict[str, PersonState] = {}
    alerts: list[SupervisionAlert] = []
    for raw in lines:
        if not raw.strip():
            continue
        line = orjson.loads(raw)
        headers = [(k, v.encode()) for k, v in line["headers"].items()]
        value = orjson.dumps(line["body"], option=orjson.OPT_SORT_KEYS)
        try:
            decoded = codec.decode(
                line["key"].encode() if line["key"] else None, value, headers,
                authenticate=False,
            )  # fmt: skip
        except DecodeError:
            continue
        msg = decoded.message
        ce_id = decoded.envelope.ce_id
        if msg.topic == SETTLEMENT_TOPIC:
            s = settlement_event(msg)
            if s is not None:
                state = claim_states.get(s.person, PersonState())
                claim_states[s.person], out = apply_settlement(
                    state, s, rules.for_region(s.person[:6]), ce_id
                )
                alerts += out
            continue
        v = visit_event(msg)
        if v is not None:
            state = visit_states.get(v.person, PersonState())
            visit_states[v.person], out = apply_visit(
                state, v, rules.for_region(v.person[:6]), ce_id
            )
            alerts += out
    return alerts
