"""What happens in a simulated day: a seeded, ordered list of steps per person.

Steps are plain data; ``build.py`` turns each into a signed contract message.
Mixes follow DOMAIN.md section 7's national Q1 2025 shares (ordinary
outpatient and pharmacy dominate, inpatient is rarer but costly); the exact
shares, duplicate and bad-message rates are parameters.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Literal

from services.tools.simulator.world import Hospital, Person

StepKind = Literal[
    "person", "filing", "register", "fees", "presettle", "settle", "reverse", "discharge"
]
Category = Literal["outpatient", "chronic_outpatient", "pharmacy", "inpatient"]
MED_TYPE: dict[str, str] = {
    "outpatient": "11", "chronic_outpatient": "14", "pharmacy": "41", "inpatient": "21",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Mix:
    """Shares of visit kinds and of anomalies; every number is a knob, not a rule."""

    outpatient: float = 0.55
    chronic_outpatient: float = 0.10
    pharmacy: float = 0.22
    inpatient: float = 0.13
    filing_share: float = 0.65
    emergency_share: float = 0.05
    reversal_share: float = 0.03
    duplicate_share: float = 0.02
    bad_share: float = 0.01
    bad_kinds: tuple[str, ...] = (
        "truncated",
        "unsigned",
        "foreign_signed",
        "bad_amount",
        "unknown_code",
    )
    """Which bad variants (``services.tools.simulator.bad.KINDS``), taken in turn, so a run with as
    many bad messages as kinds has each."""
    extra_header_share: float = 0.0
    """Good messages that carry an unknown header (ignored: processed and acked as usual)."""


@dataclass(frozen=True, slots=True)
class FeeItem:
    feedetl_sn: str
    item_code: str
    cnt: int
    pric_fen: int


@dataclass(slots=True)
class Step:
    kind: StepKind
    at: dt.datetime
    person: Person
    hospital: Hospital | None = None
    mdtrt_id: str = ""
    category: Category = "outpatient"
    emergency: bool = False
    filing_kind: str = ""
    items: tuple[FeeItem, ...] = ()
    medins_setl_id: str = ""
    seq: int = 0
    duplicate_of: int | None = None
    corrupt: str | None = None
    extra_header: bool = False
    meta: dict[str, str] = field(default_factory=dict)


def _pick_category(rng: random.Random, mix: Mix, hospital: Hospital) -> Category | None:
    weights = {
        "outpatient": mix.outpatient, "chronic_outpatient": mix.chronic_outpatient,
        "pharmacy": mix.pharmacy, "inpatient": mix.inpatient,
    }  # fmt: skip
    allowed = {k: w for k, w in weights.items() if k in hospital.networked}
    if not allowed:
        return None
    return rng.choices(list(allowed), weights=list(allowed.values()))[0]  # type: ignore[return-value]


def _fees(
    rng: random.Random, hospital: Hospital, category: Category, prefix: str
) -> tuple[FeeItem, ...]:
    count = {"outpatient": 8, "chronic_outpatient": 6, "pharmacy": 4, "inpatient": 60}[category]
    count = max(1, int(rng.gauss(count, count / 4)))
    items = []
    for i in range(count):
        price = rng.choice([500, 1200, 2500, 3800, 8000, 15000, 42000])
        items.append(
            FeeItem(f"{prefix}-{i + 1:03d}", rng.choice(hospital.items), rng.randint(1, 3), price)
        )
    return tuple(items)


def _filing_target(rng: random.Random, hospital: Hospital) -> str:
    """Filed for the treatment city most of the time, sometimes the whole province."""
    return hospital.admdvs[:2] + "0000" if rng.random() < 0.3 else hospital.admdvs[:4] + "00"


def plan_day(
    rng: random.Random,
    persons: list[Person],
    hospitals: list[Hospital],
    visits: int,
    day: dt.date,
    mix: Mix = Mix(),
    salt: int = 0,
) -> list[Step]:
    """Person and filing steps first (registration phase), then every visit's steps in time order.

    A person may visit several times in the day, in several regions; their
    visits never overlap in time, so per-person order is the time order.
    """
    registration, visit_steps = _day_steps(rng, persons, hospitals, visits, day, mix, salt)
    return _finish(rng, registration, visit_steps, mix)


def plan_days(
    rng: random.Random,
    persons: list[Person],
    hospitals: list[Hospital],
    visits: int,
    first_day: dt.date,
    days: int,
    mix: Mix = Mix(),
    salt: int = 0,
) -> list[Step]:
    """``days`` consecutive days of ``visits`` visits each from ``first_day`` (China dates),
    one person introduced once; when the range crosses 31 December, the year-boundary
    cases of ``boundary_steps`` are added. Registration first, then every visit in time
    order (a person's visits never overlap, also across days)."""
    registration: list[Step] = []
    visit_steps: list[Step] = []
    introduced: set[str] = set()
    busy_until: dict[str, dt.datetime] = {}
    for d in range(days):
        reg, steps = _day_steps(
            rng, persons, hospitals, visits, first_day + dt.timedelta(days=d), mix, salt,
            introduced=introduced, busy_until=busy_until, first_visit=d * visits,
        )  # fmt: skip
        registration += reg
        visit_steps += steps
    from services.tools.simulator.edge_cases import boundary_steps  # it builds on this module

    reg, steps = boundary_steps(rng, sorted({p.insuplc_admdvs for p in persons}), hospitals,
                                first_day, days, salt)  # fmt: skip
    return _finish(rng, registration + reg, visit_steps + steps, mix)


def _finish(
    rng: random.Random, registration: list[Step], visit_steps: list[Step], mix: Mix
) -> list[Step]:
    visit_steps.sort(key=lambda s: s.at)
    ordered = registration + visit_steps
    for i, step in enumerate(ordered):
        step.seq = i
    return _with_anomalies(rng, ordered, mix)


def _day_steps(
    rng: random.Random,
    persons: list[Person],
    hospitals: list[Hospital],
    visits: int,
    day: dt.date,
    mix: Mix,
    salt: int,
    *,
    introduced: set[str] | None = None,
    busy_until: dict[str, dt.datetime] | None = None,
    first_visit: int = 0,
) -> tuple[list[Step], list[Step]]:
    tz = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime.combine(day, dt.time(8, 0), tzinfo=tz)
    registration: list[Step] = []
    visit_steps: list[Step] = []
    introduced = set() if introduced is None else introduced
    busy_until = {} if busy_until is None else busy_until
    for v in range(first_visit, first_visit + visits):
        person = rng.choice(persons)
        hospital = rng.choice(
            [h for h in hospitals if h.admdvs[:4] != person.insuplc_admdvs[:4]] or hospitals
        )
        category = _pick_category(rng, mix, hospital)
        if category is None:
            continue
        if person.psn_no not in introduced:
            introduced.add(person.psn_no)
            registration.append(Step("person", start - dt.timedelta(hours=1), person))
            if rng.random() < mix.filing_share:
                kind = rng.choices(["long_term", "referral", "other_temporary"], weights=[5, 3, 2])[
                    0
                ]
                registration.append(
                    Step(
                        "filing", start - dt.timedelta(hours=1), person, hospital,
                        filing_kind=kind, meta={"target": _filing_target(rng, hospital)},
                    )
                )  # fmt: skip
        t = max(
            start + dt.timedelta(seconds=rng.randrange(0, 12 * 3600)),
            busy_until.get(person.psn_no, start),
        )
        mdtrt_id = f"{hospital.fixmedins_code}{salt:06d}{v:07d}"
        emergency = category in ("outpatient", "inpatient") and rng.random() < mix.emergency_share
        base = {
            "person": person,
            "hospital": hospital,
            "mdtrt_id": mdtrt_id,
            "category": category,
            "emergency": emergency,
        }
        steps = [Step("register", t, **base)]  # type: ignore[arg-type]
        items = _fees(rng, hospital, category, mdtrt_id)
        uploads = 3 if category == "inpatient" else 1
        chunk = -(-len(items) // uploads)
        for u in range(uploads):
            part = items[u * chunk : (u + 1) * chunk]
            if not part:
                break  # a short bill fits in fewer uploads
            t += dt.timedelta(minutes=rng.randint(1, 20))
            steps.append(Step("fees", t, items=part, **base))  # type: ignore[arg-type]
        if category == "inpatient":
            t += dt.timedelta(minutes=5)
            steps.append(Step("discharge", t, **base))  # type: ignore[arg-type]
            t += dt.timedelta(minutes=1)
            steps.append(Step("presettle", t, items=items, medins_setl_id=f"P{mdtrt_id}", **base))  # type: ignore[arg-type]
        t += dt.timedelta(minutes=2)
        steps.append(Step("settle", t, items=items, medins_setl_id=f"S{mdtrt_id}-1", **base))  # type: ignore[arg-type]
        if rng.random() < mix.reversal_share:
            t += dt.timedelta(minutes=3)
            steps.append(Step("reverse", t, items=items, medins_setl_id=f"S{mdtrt_id}-1", **base))  # type: ignore[arg-type]
            t += dt.timedelta(minutes=3)
            steps.append(Step("settle", t, items=items, medins_setl_id=f"S{mdtrt_id}-2", **base))  # type: ignore[arg-type]
        busy_until[person.psn_no] = t + dt.timedelta(minutes=1)
        visit_steps.extend(steps)
    return registration, visit_steps


def _with_anomalies(rng: random.Random, steps: list[Step], mix: Mix) -> list[Step]:
    """Duplicates (the same message again, later) and bad messages (extra, never replacing)."""
    out: list[Step] = []
    bad_count = 0
    for step in steps:
        out.append(step)
        if step.kind in ("person", "filing"):
            continue
        if mix.extra_header_share and rng.random() < mix.extra_header_share:
            step.extra_header = True
        if rng.random() < mix.duplicate_share:
            dup = Step(**{f: getattr(step, f) for f in step.__dataclass_fields__})
            dup.duplicate_of = step.seq
            out.append(dup)
        if rng.random() < mix.bad_share:
            bad = Step(**{f: getattr(step, f) for f in step.__dataclass_fields__})
            bad.extra_header = False
            bad.corrupt = mix.bad_kinds[bad_count % len(mix.bad_kinds)]
            bad_count += 1
            out.append(bad)
    return out
