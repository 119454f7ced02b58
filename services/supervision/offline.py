"""Offline supervision: JSONL lines (visit events and settlements, in topic order) through
the same core with in-memory state — what the worker computes, without a broker.

Why: tests check the rules end to end on simulated traffic in a second, and an
analyst can re-run a month of traffic against a changed rule pack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import orjson

from contracts.settlement import SETTLEMENT_TOPIC
from contracts.supervision import RuleKind, SupervisionAlert
from events.wire.codec import Codec
from events.wire.errors import DecodeError
from services.supervision.core.model import Claim
from services.supervision.core.outlier import InstitutionDay, empty_day, judge
from services.supervision.core.person import apply_settlement, apply_visit, to_alert
from services.supervision.core.rules import RuleBook
from services.supervision.core.state import PersonState
from services.supervision.fee_lines import prepare
from services.supervision.reference import load_institutions
from services.supervision.translate import settlement_event, visit_event


def supervise(
    lines: Iterable[bytes | str],
    rules: RuleBook,
    codec: Codec,
    institutions: dict[str, tuple[str, int]] | None = None,
) -> list[SupervisionAlert]:
    """Lines in ``yidi simulate --out`` / ``yidi adjudicate`` format; settlements are told
    apart by their ce_type, as they travel on their own topic. Institution outliers are
    judged at the end over every day seen (the input is the whole range: every day is
    closed, no claim is late)."""
    institutions = load_institutions() if institutions is None else institutions
    days: dict[tuple[str, dt.date], InstitutionDay] = {}
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
                authenticate=False, prepare=prepare,
            )  # fmt: skip
        except DecodeError:
            continue
        msg = decoded.message
        ce_id = decoded.envelope.ce_id
        if msg.topic == SETTLEMENT_TOPIC:
            s = settlement_event(msg)
            if isinstance(s, Claim):
                admdvs, level = institutions.get(s.fixmedins_code, (s.mdtrtarea_admvs, 0))
                if rules.for_region(admdvs).outlier:
                    k = (s.fixmedins_code, s.day)
                    days[k] = days.get(k, empty_day(s.fixmedins_code, admdvs, level, s.day)).add(s)
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
    return alerts + _outliers(rules, list(days.values()))


def _outliers(rules: RuleBook, days: list[InstitutionDay]) -> list[SupervisionAlert]:
    out = []
    for province in sorted({d.admdvs[:2] for d in days}):
        group = [d for d in days if d.admdvs[:2] == province]
        rules_for = {d.fixmedins_code: rules.for_region(d.admdvs).outlier for d in group}
        for f in judge(rules_for, group):
            admdvs = next(d.admdvs for d in group if d.fixmedins_code == f.subject)
            out.append(
                to_alert(RuleKind.INSTITUTION_OUTLIER, f, rules.for_region(admdvs), "institution")
            )
    return out
