"""Institution outliers: a day's average bill (or fund share) far above the peers'.

Peers are the other institutions of the same province of treatment (and of the
same level when the rule says ``province_level``) with at least
``min_settlements`` settlements that day. The score is the robust z of
Iglewicz and Hoaglin: 0.6745 × (x − median) / MAD over the peers (leave-one-out,
so an outlier does not pull its own yardstick); a finding needs it above
``threshold`` (3.5 is their usual cut) *and* x at least ``min_ratio`` times the
peers' median: with a handful of peers that happen to agree the MAD is tiny and a
robust z alone flags an ordinary gap. A MAD of 0 (identical peers) gives no score
and no finding: nothing robust can be said.

A day is judged once, when it is closed (``close_through``): every source
partition of the settlement topic has seen a business date more than
``grace_days`` past it. A claim older than its own source partition's newest
business date minus ``grace_days`` is late (``is_late``) and not counted: the
day it belongs to may have been judged already. Both are decided on the order of
one source partition's records, so a restart or a replay judges the same claims.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from statistics import median

from contracts.supervision import InstitutionOutlier
from services.supervision.core.model import Claim, Finding

CONSISTENCY = Fraction(6745, 10000)


@dataclass(frozen=True, slots=True)
class InstitutionDay:
    fixmedins_code: str
    admdvs: str
    level: int
    day: dt.date
    settlements: int
    medfee_fen: int
    fund_fen: int
    setl_ids: tuple[str, ...] = ()

    def metric(self, kind: str) -> Fraction:
        if kind == "avg_bill":
            return Fraction(self.medfee_fen, max(self.settlements, 1))
        return Fraction(self.fund_fen, self.medfee_fen) if self.medfee_fen else Fraction(0)

    def add(self, claim: Claim) -> InstitutionDay:
        """The day with one more settlement; a ``setl_id`` already counted changes nothing
        (a claim redelivered after a restart)."""
        if claim.setl_id in self.setl_ids:
            return self
        return replace(
            self,
            settlements=self.settlements + 1,
            medfee_fen=self.medfee_fen + claim.medfee_fen,
            fund_fen=self.fund_fen + claim.fund_fen,
            setl_ids=(*self.setl_ids, claim.setl_id),
        )

    def add_all(self, claims: Iterable[Claim]) -> InstitutionDay:
        """``add`` of each claim in turn, with one copy of the day instead of one a claim
        (the stream receives a batch's claims of one institution-day together)."""
        known = set(self.setl_ids)
        added: list[str] = []
        medfee = fund = 0
        for c in claims:
            if c.setl_id in known:
                continue
            known.add(c.setl_id)
            added.append(c.setl_id)
            medfee += c.medfee_fen
            fund += c.fund_fen
        if not added:
            return self
        return replace(
            self,
            settlements=self.settlements + len(added),
            medfee_fen=self.medfee_fen + medfee,
            fund_fen=self.fund_fen + fund,
            setl_ids=(*self.setl_ids, *added),
        )


def empty_day(fixmedins_code: str, admdvs: str, level: int, day: dt.date) -> InstitutionDay:
    return InstitutionDay(fixmedins_code, admdvs, level, day, 0, 0, 0)


def robust_z(x: Fraction, peers: list[Fraction]) -> Fraction | None:
    """0.6745 (x − median) / MAD, exact; None when the MAD is 0."""
    med = median(peers)
    mad = median([abs(p - med) for p in peers])
    if mad == 0:
        return None
    return CONSISTENCY * (x - Fraction(med)) / Fraction(mad)


def peer_group(rule: InstitutionOutlier, d: InstitutionDay) -> tuple[str, int | None]:
    return d.admdvs[:2], d.level if rule.peers == "province_level" else None


def check(rule: InstitutionOutlier, days: list[InstitutionDay]) -> list[Finding]:
    eligible = [d for d in days if d.settlements >= rule.min_settlements]
    out = []
    for d in sorted(eligible, key=lambda d: (d.day, d.fixmedins_code)):
        peers = [
            p.metric(rule.metric)
            for p in eligible
            if p.fixmedins_code != d.fixmedins_code
            and peer_group(rule, p) == peer_group(rule, d)
            and p.day == d.day
        ]
        if len(peers) < rule.min_peers:
            continue
        x = d.metric(rule.metric)
        z = robust_z(x, peers)
        if z is None or z <= Fraction(rule.threshold):
            continue
        med = Fraction(median(peers))
        if x < Fraction(rule.min_ratio) * med:
            continue
        out.append(
            Finding(
                rule_id=rule.rule_id,
                subject=d.fixmedins_code,
                window_start=d.day,
                window_end=d.day,
                setl_ids=d.setl_ids,
                mdtrt_ids=(),
                fixmedins_codes=(d.fixmedins_code,),
                fen=d.medfee_fen,
                detail=f"{rule.metric} robust z {float(z):.1f} > {rule.threshold}, "
                f"{float(x / med) if med else float('inf'):.1f}x the median of {len(peers)} peers",
            )
        )
    return out


def is_late(newest: dt.date | None, day: dt.date, grace_days: int) -> bool:
    """A claim dated ``day`` after its source partition has seen ``newest``: late when more
    than ``grace_days`` older (its day may be closed already)."""
    return newest is not None and (newest - day).days > grace_days


def close_through(marks: Mapping[int, dt.date], partitions: int, grace_days: int) -> dt.date | None:
    """The last day that may be judged: every one of ``partitions`` source partitions has a
    newest business date (``marks``) more than ``grace_days`` past it; None until each has
    one. A non-late claim of that day from any partition was sent before its partition's
    mark passed the day, so it has been counted."""
    if len(marks) < partitions or not marks:
        return None
    return min(marks.values()) - dt.timedelta(days=grace_days + 1)


def judge(
    rules_for: Mapping[str, tuple[InstitutionOutlier, ...]], days: Iterable[InstitutionDay]
) -> list[Finding]:
    """Every outlier finding over closed institution-days. ``rules_for`` maps each
    institution to the outlier rules of its treatment region's pack; peers are every day
    given (the caller passes one province's), so each rule sees its whole peer group."""
    days = sorted(days, key=lambda d: (d.day, d.fixmedins_code))
    rules = {r.rule_id: r for group in rules_for.values() for r in group}
    out: list[Finding] = []
    for rule_id in sorted(rules):
        for f in check(rules[rule_id], days):
            if any(r.rule_id == rule_id for r in rules_for.get(f.subject, ())):
                out.append(f)
    return out
