"""View models of the supervision, ops and live pages.

Live: the ledger's statement trigger (deploy/migrations/0013_settlements_notify.sql) sends one
notification per landed batch: its count, per province pair its count and fund, and up to ten
of its rows (no ``psn_no``). ``live_update`` keeps what one viewer may see of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import orjson

from services.dashboard.core.access import NATIONAL, Viewer, province_of
from services.dashboard.core.divisions import Divisions


@dataclass(frozen=True, slots=True)
class AlertRow:
    alert_id: str
    rule_id: str
    rule_kind: str
    severity: str
    subject_kind: str
    subject: str
    admdvs: str
    window_start: dt.date
    window_end: dt.date
    setl_ids: tuple[str, ...]
    amount: Decimal
    detail: str
    first_seen_at: dt.datetime


@dataclass(slots=True)
class RuleGroup:
    rule_id: str
    rule_kind: str
    alerts: list[AlertRow] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return sum((a.amount for a in self.alerts), Decimal(0))


def mask_subject(subject_kind: str, subject: str) -> str:
    """A person key shows its region and the last four of ``psn_no``; an institution code is
    not personal and shows whole. The browser never receives a whole person number."""
    if subject_kind != "person":
        return subject
    region, _, psn = subject.partition(":")
    return f"{region}:****{psn[-4:]}" if psn else "****"


def alert_groups(rows: Iterable[AlertRow], viewer: Viewer) -> list[RuleGroup]:
    """Alerts per rule, newest first inside each; rules with the most alerts first."""
    groups: dict[str, RuleGroup] = {}
    for r in rows:
        if viewer.sees_region(r.admdvs):
            groups.setdefault(r.rule_id, RuleGroup(r.rule_id, r.rule_kind)).alerts.append(r)
    for g in groups.values():
        g.alerts.sort(key=lambda a: (a.first_seen_at, a.alert_id), reverse=True)
    return sorted(groups.values(), key=lambda g: (-len(g.alerts), g.rule_id))


@dataclass(frozen=True, slots=True)
class LagRow:
    """One consumer group on one topic: where it is (committed or sink position), the log's
    end, the difference, and its rate over the recent samples."""

    processor: str
    group: str
    topic: str
    position: int
    end: int
    lag: int
    worst_partition_lag: int
    rate: float | None
    updated_at: dt.datetime | None


def lag_rows(
    positions: Mapping[tuple[str, str], Mapping[int, int]],
    ends: Mapping[str, Mapping[int, int]],
    rates: Mapping[tuple[str, str], float | None],
    updated: Mapping[tuple[str, str], dt.datetime | None],
) -> list[LagRow]:
    out = []
    for (group, topic), parts in sorted(positions.items()):
        end = ends.get(topic, {})
        per = [max(0, end.get(p, off) - off) for p, off in parts.items()]
        per += [e for p, e in end.items() if p not in parts]  # never committed: all of it
        processor = (
            group.removeprefix("yidi-").split("-")[0] if group.startswith("yidi-") else group
        )
        out.append(LagRow(processor, group, topic, sum(parts.values()), sum(end.values()),
                          sum(per), max(per, default=0), rates.get((group, topic)),
                          updated.get((group, topic))))  # fmt: skip
    return out


def rate_of(samples: Sequence[tuple[float, int]]) -> float | None:
    """Records per second between the oldest and newest sample (``(monotonic s, total)``)."""
    if len(samples) < 2 or samples[-1][0] - samples[0][0] < 0.5:
        return None
    (t0, n0), (t1, n1) = samples[0], samples[-1]
    return max(0.0, (n1 - n0) / (t1 - t0))


@dataclass(frozen=True, slots=True)
class Landed:
    setl_id: str
    kind: str
    home: str
    treatment: str
    fund: str
    medfee: str
    setl_time: str
    landed_at: str


@dataclass(frozen=True, slots=True)
class LiveBatch:
    count: int
    pairs: tuple[tuple[str, str, int, str], ...]
    latest: tuple[Landed, ...]
    truncated: bool

    @classmethod
    def parse(cls, payload: str) -> LiveBatch:
        doc = orjson.loads(payload)
        pairs = tuple((str(h), str(t), int(c), str(f)) for h, t, c, f in doc.get("pairs", ()))
        latest = tuple(Landed(*(str(x) for x in row)) for row in doc.get("latest", ()))
        return cls(int(doc["n"]), pairs, latest, bool(doc.get("truncated", False)))


SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _shanghai(stamp: str) -> str:
    """PostgreSQL's JSON timestamp (session time zone) as Beijing time, to the second."""
    try:
        return dt.datetime.fromisoformat(stamp).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


def live_update(batch: LiveBatch, viewer: Viewer, names: Divisions) -> dict[str, object] | None:
    """What ``viewer`` may see of a landed batch (``None``: nothing of it). Pairs are by
    province (home -> treatment); a province sees the pairs it is a side of."""
    seen = [
        p for p in batch.pairs if viewer.sees_pair(NATIONAL, province_of(p[0]), province_of(p[1]))
    ]
    pairs = [
        {"home": names.label(h), "treatment": names.label(t), "count": c, "fund": f}
        for h, t, c, f in seen
    ]
    latest = [
        {"setl_id": r.setl_id, "kind": r.kind, "home": names.label(r.home),
         "treatment": names.label(r.treatment), "fund": r.fund, "medfee": r.medfee,
         "setl_time": _shanghai(r.setl_time), "landed_at": _shanghai(r.landed_at)}
        for r in batch.latest
        if viewer.sees_settlement(r.home, r.treatment)
    ]  # fmt: skip
    if not pairs and not latest:
        return None
    count = batch.count if len(seen) == len(batch.pairs) else sum(p[2] for p in seen)
    return {"count": count, "pairs": pairs, "latest": latest, "truncated": batch.truncated}
