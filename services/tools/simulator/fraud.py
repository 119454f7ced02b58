"""A supervision day: clean traffic that breaks no rule, plus planted patterns at a known
rate, each recorded (rule kind, person key, visits) so precision and recall can be measured.

Why clean traffic is shaped here: the ordinary simulator bills random items with
random counts and lets a person visit several times a day, which real fraud
rules would rightly flag (a consultation billed 3 times in one visit). Here each
clean person has one visit, once-a-day items are billed once, and every planted
pattern has its own person, so an alert either matches a plant or is a false
positive — nothing in between.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from aiokafka.partitioner import murmur2

from services.tools.simulator.plan import Category, FeeItem, Mix, Step, _day_steps, _finish
from services.tools.simulator.world import Hospital, Person

ONCE_A_DAY = ("110200001", "110200005", "120100001", "210300001", "210500001")
SUPPLY_ITEM = "XA10BAA"
PERSON_PATTERNS = ("overlapping_stays", "decomposed_hospitalization", "duplicate_billing",
                   "frequency", "days_supply")  # fmt: skip
PATTERNS = (*PERSON_PATTERNS, "institution_outlier")
# an institution-outlier plant: every other outpatient institution of the target's province
# gets PEER_VISITS ordinary bills and the target TARGET_VISITS bills OUTLIER_TIMES larger,
# enough to stay 8x the peers' median under the clean traffic the target also gets
# (the national pack: min_settlements 5, min_peers 3, min_ratio 8)
PEER_VISITS = 6
TARGET_VISITS = 12
PEER_BILL_FEN = 300_000
OUTLIER_TIMES = 100
MIN_PEERS = 3
SETTLEMENT_PARTITIONS = 12
# the close of a day needs a later business date in every settlement partition
# (services/supervision/outliers.py): one clean visit CLOSE_AFTER_DAYS later per partition
CLOSE_AFTER_DAYS = 2
TAIL_CANDIDATES = 120
TZ = dt.timezone(dt.timedelta(hours=8))
CLEAN_MIX = Mix(duplicate_share=0.0, bad_share=0.0, reversal_share=0.0)


@dataclass(frozen=True, slots=True)
class Plant:
    rule_kind: str
    subject: str
    mdtrt_ids: tuple[str, ...]


def plan_supervision_day(
    rng: random.Random,
    persons: list[Person],
    hospitals: list[Hospital],
    visits: int,
    day: dt.date,
    fraud_rate: float,
    salt: int,
) -> tuple[list[Step], list[Plant]]:
    """``visits`` clean visits (one per person) and ``max(1, round(rate × visits))`` plants
    of each pattern, each by its own person. ``persons`` must hold enough people."""
    per_pattern = max(1, round(fraud_rate * visits)) if fraud_rate > 0 else 0
    need = persons_needed(visits, per_pattern)
    if len(persons) < need:
        raise ValueError(f"need {need} persons, got {len(persons)}")
    registration: list[Step] = []
    steps: list[Step] = []
    chosen: dict[tuple[str, str], str] = {}
    for i in range(visits):
        reg, vs = _day_steps(rng, [persons[i]], hospitals, 1, day, CLEAN_MIX, salt, first_visit=i)
        registration += reg
        steps += [_compliant(s, chosen) for s in vs]
    plants: list[Plant] = []
    serial = visits
    for k, pattern in enumerate(PERSON_PATTERNS):
        for j in range(per_pattern):
            person = persons[visits + k * per_pattern + j]
            planter = _PLANTERS[pattern]
            reg, vs, mdtrt_ids = planter(rng, person, hospitals, day, salt, serial)
            serial += 10
            registration += reg
            steps += vs
            plants.append(Plant(pattern, f"{person.insuplc_admdvs}:{person.psn_no}", mdtrt_ids))
    more = iter(persons[visits + per_pattern * len(PERSON_PATTERNS) :])
    for target, days_before in _outlier_targets(hospitals, per_pattern):
        on = day - dt.timedelta(days=days_before)
        reg, vs, mdtrt_ids = _outlier(rng, more, hospitals, target, on, salt, serial)
        serial += 1000
        registration += reg
        steps += vs
        plants.append(Plant("institution_outlier", target.fixmedins_code, mdtrt_ids))
    if per_pattern:
        reg, vs = _day_close_tail(rng, more, hospitals, day, salt, serial)
        registration += reg
        steps += vs
    return _finish(rng, registration, steps, CLEAN_MIX), plants


def persons_needed(visits: int, per_pattern: int) -> int:
    """Persons a supervision day uses: one per clean visit and person plant, the outlier
    plants' visitors (one each), and the candidates for the day-close tail."""
    outlier = per_pattern * (PEER_VISITS * 8 + TARGET_VISITS)
    return visits + per_pattern * len(PERSON_PATTERNS) + outlier + TAIL_CANDIDATES


def _outpatient_sites(hospitals: list[Hospital]) -> dict[str, list[Hospital]]:
    by_province: dict[str, list[Hospital]] = {}
    for h in sorted(hospitals, key=lambda h: h.fixmedins_code):
        if "outpatient" in h.networked and len(_plain_items("x", h, 3)) == 3:
            by_province.setdefault(h.admdvs[:2], []).append(h)
    return by_province


def institution_days(hospitals: list[Hospital], per_pattern: int, day: dt.date) -> list[dt.date]:
    """The business days a supervision day's institution alerts can be about: its outlier
    plants' days (a day earlier each round of targets) through the run's day."""
    rounds = max((b for _, b in _outlier_targets(hospitals, per_pattern)), default=0)
    return [day - dt.timedelta(days=b) for b in range(rounds, -1, -1)]


def _outlier_targets(hospitals: list[Hospital], n: int) -> list[tuple[Hospital, int]]:
    """``n`` (target institution, days before the run's day): one target per province and
    day, in the provinces with more than ``MIN_PEERS`` outpatient institutions, round robin,
    a day earlier each round (two targets in one province-day would be each other's peers)."""
    provinces = [ps for _, ps in sorted(_outpatient_sites(hospitals).items())
                 if len(ps) > MIN_PEERS]  # fmt: skip
    if n and not provinces:
        raise ValueError("no province has enough outpatient institutions for an outlier plant")
    out = []
    for i in range(n):
        sites, days_before = provinces[i % len(provinces)], i // len(provinces)
        out.append((sites[days_before % len(sites)], days_before))
    return out


def _outlier(
    rng: random.Random, persons: Iterator[Person], hs: list[Hospital], target: Hospital,
    day: dt.date, salt: int, serial: int,
) -> tuple[list[Step], list[Step], tuple[str, ...]]:  # fmt: skip
    """Ordinary bills at every other outpatient institution of the province, bills
    ``OUTLIER_TIMES`` larger at the target, each visit by its own person (no person rule)."""
    registration: list[Step] = []
    steps: list[Step] = []
    ids: list[str] = []
    peers = _outpatient_sites(hs)[target.admdvs[:2]]
    for h in peers:
        times = OUTLIER_TIMES if h is target else 1
        for _ in range(TARGET_VISITS if h is target else PEER_VISITS):
            p = next(persons)
            m = _mdtrt(h, salt, serial)
            serial += 1
            t = dt.datetime.combine(day, dt.time(9, 0), tzinfo=TZ) + dt.timedelta(
                minutes=rng.randrange(360)
            )
            # bills vary a little (a day of identical peers has MAD 0: no score at all)
            items = tuple(
                replace(x, cnt=1, pric_fen=PEER_BILL_FEN * times // 3 + rng.randrange(20_000))
                for x in _plain_items(m, h, 3)
            )
            registration += _registration(p, h, t - dt.timedelta(hours=1))
            steps += _visit(p, h, m, "outpatient", t, items)
            if h is target:
                ids.append(m)
    return registration, steps, tuple(ids)


def _day_close_tail(
    rng: random.Random, persons: Iterator[Person], hs: list[Hospital], day: dt.date,
    salt: int, serial: int,
) -> tuple[list[Step], list[Step]]:  # fmt: skip
    """One ordinary visit ``CLOSE_AFTER_DAYS`` later in every settlement partition (persons
    chosen by the partition of their key): the supervisor closes a day only when every
    partition has passed it, as real traffic does every day."""
    registration: list[Step] = []
    steps: list[Step] = []
    covered: set[int] = set()
    sites = [h for ps in _outpatient_sites(hs).values() for h in ps]
    for p in persons:
        part = murmur2(f"{p.insuplc_admdvs}:{p.psn_no}".encode()) & 0x7FFFFFFF
        part %= SETTLEMENT_PARTITIONS
        if part in covered:
            continue
        covered.add(part)
        h = sites[len(covered) % len(sites)]
        m = _mdtrt(h, salt, serial + len(covered))
        t = dt.datetime.combine(day + dt.timedelta(days=CLOSE_AFTER_DAYS), dt.time(10, 0),
                                tzinfo=TZ) + dt.timedelta(minutes=rng.randrange(60))  # fmt: skip
        registration += _registration(p, h, t - dt.timedelta(hours=1))
        steps += _visit(p, h, m, "outpatient", t, _plain_items(m, h, 2))
        if len(covered) == SETTLEMENT_PARTITIONS:
            return registration, steps
    raise ValueError("not enough persons to reach every settlement partition")


def _compliant(step: Step, chosen: dict[tuple[str, str], str]) -> Step:
    """Once-a-day items at most once per visit and count 1 (the rest of the bill unchanged).
    ``chosen`` maps (visit, item) to the fee line kept, so the uploads and the settlement's
    full bill drop the same lines (and their totals agree)."""
    if not step.items:
        return step
    items = []
    for item in step.items:
        if item.item_code not in ONCE_A_DAY:
            items.append(item)
            continue
        sn = chosen.setdefault((step.mdtrt_id, item.item_code), item.feedetl_sn)
        if sn == item.feedetl_sn:
            items.append(replace(item, cnt=1))
    return replace(step, items=tuple(items))


def _pick(
    hospitals: list[Hospital], kind: str, person: Person, exclude: tuple[str, ...] = ()
) -> Hospital:
    """A networked institution of ``kind`` outside the person's city when there is one (the
    only pharmacy may be in it), chosen by the person number (deterministic)."""
    ok = [
        h for h in hospitals
        if kind in h.networked and h.fixmedins_code not in exclude
        and ONCE_A_DAY[0] in h.items and SUPPLY_ITEM in h.items
    ]  # fmt: skip
    away = [h for h in ok if h.admdvs[:4] != person.insuplc_admdvs[:4]]
    ok = sorted(away or ok, key=lambda h: h.fixmedins_code)
    return ok[int(person.psn_no[-6:]) % len(ok)]


def _registration(person: Person, hospital: Hospital, at: dt.datetime) -> list[Step]:
    return [
        Step("person", at, person),
        Step("filing", at, person, hospital, filing_kind="long_term",
             meta={"target": hospital.admdvs[:2] + "0000"}),
    ]  # fmt: skip


def _visit(
    person: Person, hospital: Hospital, mdtrt_id: str, category: Category, at: dt.datetime,
    items: tuple[FeeItem, ...], *, discharge_at: dt.datetime | None = None,
    diagnoses: tuple[str, ...] = (),
) -> list[Step]:  # fmt: skip
    meta = {"dise_codg": ",".join(diagnoses)} if diagnoses else {}
    who = (person, hospital, mdtrt_id, category)
    out = [Step("register", at, *who, meta=meta)]
    out.append(Step("fees", at + dt.timedelta(minutes=5), *who, items=items))
    t = at + dt.timedelta(minutes=10)
    if category == "inpatient":
        t = discharge_at or t
        out.append(Step("discharge", t, *who))
    settle_at = t + dt.timedelta(minutes=2)
    out.append(Step("settle", settle_at, *who, items=items, medins_setl_id=f"S{mdtrt_id}-1"))
    return out


def _plain_items(mdtrt_id: str, hospital: Hospital, n: int = 3) -> tuple[FeeItem, ...]:
    codes = [c for c in hospital.items if c not in ONCE_A_DAY and c != SUPPLY_ITEM][:n]
    return tuple(FeeItem(f"{mdtrt_id}-{i + 1:03d}", c, 1, 2500) for i, c in enumerate(codes))


def _consult(m: str) -> tuple[FeeItem, ...]:
    return (FeeItem(f"{m}-c", ONCE_A_DAY[0], 1, 2500),)


def _drug(m: str) -> tuple[FeeItem, ...]:
    return (FeeItem(f"{m}-d", SUPPLY_ITEM, 60, 120),)


def _mdtrt(h: Hospital, salt: int, serial: int) -> str:
    return f"{h.fixmedins_code}{salt:06d}{serial:07d}"


Planted = tuple[list[Step], list[Step], tuple[str, ...]]


def _overlap(
    rng: random.Random, p: Person, hs: list[Hospital], day: dt.date, salt: int, n: int
) -> Planted:
    a = _pick(hs, "inpatient", p)
    b = next(h for h in hs if "inpatient" in h.networked and h.admdvs[:2] != a.admdvs[:2]
             and h.admdvs[:4] != p.insuplc_admdvs[:4] and h.items)  # fmt: skip
    t = dt.datetime.combine(day, dt.time(7, 0), tzinfo=TZ) + dt.timedelta(minutes=rng.randrange(60))
    m1, m2 = _mdtrt(a, salt, n), _mdtrt(b, salt, n + 1)
    end = t + dt.timedelta(hours=10)
    steps = _visit(p, a, m1, "inpatient", t, _plain_items(m1, a), discharge_at=end)
    steps += _visit(p, b, m2, "inpatient", t + dt.timedelta(hours=2), _plain_items(m2, b),
                    discharge_at=end + dt.timedelta(hours=1))  # fmt: skip
    return _registration(p, a, t - dt.timedelta(hours=2)), steps, (m1, m2)


def _readmit(
    rng: random.Random, p: Person, hs: list[Hospital], day: dt.date, salt: int, n: int
) -> Planted:
    a = _pick(hs, "inpatient", p)
    first = dt.datetime.combine(day - dt.timedelta(days=9), dt.time(9, 0), tzinfo=TZ)
    m1, m2 = _mdtrt(a, salt, n), _mdtrt(a, salt, n + 1)
    steps = _visit(p, a, m1, "inpatient", first, _plain_items(m1, a), diagnoses=("K35.8",),
                   discharge_at=first + dt.timedelta(days=3))  # fmt: skip
    again = dt.datetime.combine(day, dt.time(9, 0), tzinfo=TZ) + dt.timedelta(
        minutes=rng.randrange(120)
    )
    steps += _visit(p, a, m2, "inpatient", again, _plain_items(m2, a), diagnoses=("K35.8",),
                    discharge_at=again + dt.timedelta(hours=6))  # fmt: skip
    return _registration(p, a, first - dt.timedelta(hours=2)), steps, (m1, m2)


def _duplicate(
    rng: random.Random, p: Person, hs: list[Hospital], day: dt.date, salt: int, n: int
) -> Planted:
    a = _pick(hs, "outpatient", p)
    b = next(h for h in sorted(hs, key=lambda h: h.fixmedins_code)
             if "outpatient" in h.networked and h.fixmedins_code != a.fixmedins_code
             and h.admdvs[:4] != p.insuplc_admdvs[:4] and ONCE_A_DAY[0] in h.items)  # fmt: skip
    t = dt.datetime.combine(day, dt.time(9, 0), tzinfo=TZ) + dt.timedelta(
        minutes=rng.randrange(240)
    )
    m1, m2 = _mdtrt(a, salt, n), _mdtrt(b, salt, n + 1)
    steps = _visit(p, a, m1, "outpatient", t, _consult(m1) + _plain_items(m1, a, 1))
    steps += _visit(
        p, b, m2, "outpatient", t + dt.timedelta(hours=2), _consult(m2) + _plain_items(m2, b, 1)
    )
    return _registration(p, a, t - dt.timedelta(hours=2)), steps, (m1, m2)


def _frequency(
    rng: random.Random, p: Person, hs: list[Hospital], day: dt.date, salt: int, n: int
) -> Planted:
    a = _pick(hs, "outpatient", p)
    start = dt.datetime.combine(day, dt.time(8, 0), tzinfo=TZ) + dt.timedelta(
        minutes=rng.randrange(60)
    )
    steps: list[Step] = []
    ids = []
    for k in range(5):
        m = _mdtrt(a, salt, n + k)
        steps += _visit(
            p, a, m, "outpatient", start + dt.timedelta(hours=2 * k), _plain_items(m, a, 2)
        )
        ids.append(m)
    return _registration(p, a, start - dt.timedelta(hours=2)), steps, tuple(ids)


def _supply(
    rng: random.Random, p: Person, hs: list[Hospital], day: dt.date, salt: int, n: int
) -> Planted:
    a = _pick(hs, "pharmacy", p)
    t = dt.datetime.combine(day, dt.time(10, 0), tzinfo=TZ) + dt.timedelta(
        minutes=rng.randrange(120)
    )
    m1, m2 = _mdtrt(a, salt, n), _mdtrt(a, salt, n + 1)
    steps = _visit(p, a, m1, "pharmacy", t - dt.timedelta(days=6), _drug(m1))
    steps += _visit(p, a, m2, "pharmacy", t, _drug(m2))
    return _registration(p, a, t - dt.timedelta(days=6, hours=2)), steps, (m1, m2)


_PLANTERS = {
    "overlapping_stays": _overlap,
    "decomposed_hospitalization": _readmit,
    "duplicate_billing": _duplicate,
    "frequency": _frequency,
    "days_supply": _supply,
}
