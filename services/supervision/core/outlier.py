"""Institution outliers: a day's average bill (or fund share) far above the peers'.

Peers are the other institutions of the same level in the same province of
treatment with at least ``min_settlements`` settlements that day. The score
is the robust z of Iglewicz and Hoaglin: 0.6745 × (x − median) / MAD over the
peers (leave-one-out, so an outlier does not pull its own yardstick); above
``threshold`` (3.5 is their usual cut) is a finding. A MAD of 0 (identical
peers) gives no score and no finding: nothing robust can be said.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from statistics import median

from contracts.supervision import InstitutionOutlier
from services.supervision.core.model import Finding

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

    def metric(self, kind: str) -> Fraction:
        if kind == "avg_bill":
            return Fraction(self.medfee_fen, max(self.settlements, 1))
        return Fraction(self.fund_fen, self.medfee_fen) if self.medfee_fen else Fraction(0)


def robust_z(x: Fraction, peers: list[Fraction]) -> Fraction | None:
    """0.6745 (x − median) / MAD, exact; None when the MAD is 0."""
    med = median(peers)
    mad = median([abs(p - med) for p in peers])
    if mad == 0:
        return None
    return CONSISTENCY * (x - Fraction(med)) / Fraction(mad)


def check(rule: InstitutionOutlier, days: list[InstitutionDay]) -> list[Finding]:
    eligible = [d for d in days if d.settlements >= rule.min_settlements]
    out = []
    for d in sorted(eligible, key=lambda d: d.fixmedins_code):
        peers = [
            p.metric(rule.metric)
            for p in eligible
            if p.fixmedins_code != d.fixmedins_code
            and p.level == d.level
            and p.admdvs[:2] == d.admdvs[:2]
            and p.day == d.day
        ]
        if len(peers) < rule.min_peers:
            continue
        z = robust_z(d.metric(rule.metric), peers)
        if z is None or z <= Fraction(rule.threshold):
            continue
        out.append(
            Finding(
                rule_id=rule.rule_id,
                subject=d.fixmedins_code,
                window_start=d.day,
                window_end=d.day,
                setl_ids=(),
                mdtrt_ids=(),
                fixmedins_codes=(d.fixmedins_code,),
                fen=d.medfee_fen,
                detail=f"{rule.metric} robust z {float(z):.1f} > {rule.threshold} "
                f"over {len(peers)} peers",
            )
        )
    return out
