"""Alerts per rule, and precision and recall against a simulator's plants.

An alert is a true positive when a plant of its rule kind names its subject;
a plant is recalled when an alert of its kind names its subject. Only the run's
alerts count (``of_run``): on its own persons (``subjects`` in the plants file:
persons are made for each run), and on its institutions only within its days
(``institution_days``: institutions are shared by every run, and the log of a
long-lived stack holds other days' outlier alerts about them), so another run's
alerts in the same table are neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class AlertRow:
    alert_id: str
    rule_id: str
    rule_kind: str
    severity: str
    subject: str
    amount: Decimal
    window_start: dt.date | None = None
    window_end: dt.date | None = None


def of_run(alerts: list[AlertRow], plants: dict[str, Any]) -> list[AlertRow]:
    """The alerts about the run of ``plants``: its persons', and its institutions' within
    the run's ``institution_days`` (all days when the file predates that field)."""
    subjects = set(plants["subjects"])
    days = {dt.date.fromisoformat(d) for d in plants.get("institution_days", ())}

    def mine(a: AlertRow) -> bool:
        if a.subject not in subjects:
            return False
        if ":" in a.subject or not days or a.window_start is None or a.window_end is None:
            return True  # a person (the run's own) or nothing to scope by
        return min(days) <= a.window_start and a.window_end <= max(days)

    return [a for a in alerts if mine(a)]


def per_rule(alerts: list[AlertRow]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for a in alerts:
        row = out.setdefault(a.rule_id, {"kind": a.rule_kind, "alerts": 0, "amount": Decimal(0)})
        row["alerts"] += 1
        row["amount"] += a.amount
    return dict(sorted(out.items()))


def against_plants(alerts: list[AlertRow], plants: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per rule kind: planted, alerts, true positives, recall and precision (None when
    undefined: no plant, or no alert)."""
    mine = of_run(alerts, plants)
    planted = {(p["rule_kind"], p["subject"]) for p in plants["plants"]}
    kinds = sorted({k for k, _ in planted} | {a.rule_kind for a in mine})
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        want = {s for k, s in planted if k == kind}
        got = [a for a in mine if a.rule_kind == kind]
        hit_subjects = {a.subject for a in got} & want
        tp = sum(1 for a in got if a.subject in want)
        out[kind] = {
            "planted": len(want),
            "alerts": len(got),
            "true_positives": tp,
            "recall": len(hit_subjects) / len(want) if want else None,
            "precision": tp / len(got) if got else None,
            "amount": sum((a.amount for a in got), start=Decimal(0)),
        }
    return out
