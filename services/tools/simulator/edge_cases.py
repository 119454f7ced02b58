"""Planted cases an ordinary simulated day never produces: stays costly enough to cross a
critical-illness deductible (``costly_stays``) and the year-boundary cases
(``boundary_steps``: a stay across 31 December, an outpatient cap that runs out on it).

Steps as in ``plan.py`` (whose ``plan_days`` adds the boundary cases to a range across the
new year); ``build.py`` turns them into signed messages.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from services.tools.simulator.plan import FeeItem, Step, _fees
from services.tools.simulator.world import Hospital, Person, make_certno


def costly_stays(
    persons: list[Person],
    hospital: Hospital,
    day: dt.date,
    salt: int,
    bill_fen: int = 30_000_000,
    stays: int = 2,
) -> list[Step]:
    """Each person filed long-term at ``hospital`` and admitted ``stays`` times with a bill of
    about ``bill_fen``: enough to cross a critical-illness deductible, which an ordinary
    simulated day (bills of a few thousand yuan) never does."""
    tz = dt.timezone(dt.timedelta(hours=8))
    t = dt.datetime.combine(day, dt.time(7, 0), tzinfo=tz)
    steps: list[Step] = []
    for n, person in enumerate(persons):
        steps.append(Step("person", t, person))
        steps.append(
            Step("filing", t, person, hospital, filing_kind="long_term",
                 meta={"target": hospital.admdvs[:4] + "00"})
        )  # fmt: skip
        for s in range(stays):
            mdtrt_id = f"{hospital.fixmedins_code}{salt:06d}9{n:03d}{s:03d}"
            base = {"person": person, "hospital": hospital, "mdtrt_id": mdtrt_id,
                    "category": "inpatient"}  # fmt: skip
            codes = hospital.items[:10]
            items = tuple(
                FeeItem(f"{mdtrt_id}-{i + 1:03d}", code, 1, bill_fen // len(codes))
                for i, code in enumerate(codes)
            )
            at = t + dt.timedelta(hours=1 + 3 * s)
            steps += [
                Step("register", at, **base),  # type: ignore[arg-type]
                Step("fees", at + dt.timedelta(minutes=10), items=items, **base),  # type: ignore[arg-type]
                Step("discharge", at + dt.timedelta(minutes=20), **base),  # type: ignore[arg-type]
                Step("settle", at + dt.timedelta(minutes=30), items=items,
                     medins_setl_id=f"S{mdtrt_id}-1", **base),  # type: ignore[arg-type]
            ]  # fmt: skip
    for i, step in enumerate(steps):
        step.seq = i
    return steps


def boundary_steps(
    rng: random.Random,
    homes: list[str],
    hospitals: list[Hospital],
    first_day: dt.date,
    days: int,
    salt: int,
) -> tuple[list[Step], list[Step]]:
    """The year-boundary cases, when the days from ``first_day`` include 31 December and
    1 January (China time); otherwise nothing.

    Per home region: (1) a resident and an employee admitted on 30 (or 31) December in
    another province, fee uploads on each December day and at 00:30 on 1 January,
    discharged and settled on the last day of the range (a stay across the boundary:
    its home pack's ``cross_year_stay`` rule decides the year); (2) a resident whose 2026
    outpatient cap runs out (three large outpatient bills on 31 December) and who visits
    again on 1 January (the 2027 counters start empty). Each person is filed long-term for
    the treatment city; none of them appears in the ordinary visits.
    """
    last = first_day + dt.timedelta(days=days - 1)
    dec31 = next(
        (
            first_day + dt.timedelta(days=d)
            for d in range(days - 1)
            if (first_day + dt.timedelta(days=d)).strftime("%m-%d") == "12-31"
        ),
        None,
    )
    if dec31 is None:
        return [], []
    tz = dt.timezone(dt.timedelta(hours=8))
    admit_day = max(first_day, dec31 - dt.timedelta(days=1))
    registration: list[Step] = []
    visit_steps: list[Step] = []
    for n, home in enumerate(homes):
        away = [h for h in hospitals if h.admdvs[:2] != home[:2] and h.items]
        for k, (insutype, psn_type, category) in enumerate(
            (("390", "31", "inpatient"), ("310", "11", "inpatient"), ("390", "31", "outpatient"))
        ):
            choices = [h for h in away if category in h.networked]
            if not choices:
                continue
            hospital = rng.choice(choices)
            person = Person(
                f"{home}{salt:06d}8{n:03d}{k:04d}", make_certno(rng, home), home, insutype,
                psn_type, False, False,
            )  # fmt: skip
            at = dt.datetime.combine(admit_day, dt.time(7, 0), tzinfo=tz)
            registration.append(Step("person", at, person))
            registration.append(
                Step("filing", at, person, hospital, filing_kind="long_term",
                     meta={"target": hospital.admdvs[:4] + "00"})
            )  # fmt: skip
            if category == "inpatient":
                visit_steps += _stay_across(
                    rng, person, hospital, admit_day, dec31, last, salt, n, k
                )
            else:
                visit_steps += _cap_runs_out(person, hospital, dec31, salt, n, k)
    return registration, visit_steps


def _stay_across(
    rng: random.Random,
    person: Person,
    hospital: Hospital,
    admit_day: dt.date,
    dec31: dt.date,
    last: dt.date,
    salt: int,
    n: int,
    k: int,
) -> list[Step]:
    tz = dt.timezone(dt.timedelta(hours=8))
    mdtrt_id = f"{hospital.fixmedins_code}{salt:06d}8{n:03d}{k:03d}"
    base: dict[str, Any] = {
        "person": person, "hospital": hospital, "mdtrt_id": mdtrt_id, "category": "inpatient"
    }  # fmt: skip
    items = _fees(rng, hospital, "inpatient", mdtrt_id)
    times = [dt.datetime.combine(admit_day, dt.time(9, 0), tzinfo=tz)]
    day = admit_day
    while day <= dec31:
        times.append(dt.datetime.combine(day, dt.time(23, 50), tzinfo=tz))
        day += dt.timedelta(days=1)
    times.append(dt.datetime.combine(dec31 + dt.timedelta(days=1), dt.time(0, 30), tzinfo=tz))
    register_at, upload_at = times[0], times[1:]
    chunk = -(-len(items) // len(upload_at))
    steps = [Step("register", register_at, **base)]
    for u, when in enumerate(upload_at):
        part = items[u * chunk : (u + 1) * chunk]
        if part:
            steps.append(Step("fees", when, items=part, **base))
    out = dt.datetime.combine(last, dt.time(10, 0), tzinfo=tz)
    steps.append(Step("discharge", out, **base))
    steps.append(
        Step("settle", out + dt.timedelta(minutes=5), items=items,
             medins_setl_id=f"S{mdtrt_id}-1", **base)
    )  # fmt: skip
    return steps


def _cap_runs_out(
    person: Person, hospital: Hospital, dec31: dt.date, salt: int, n: int, k: int
) -> list[Step]:
    """Three outpatient bills of 10 x 1,500 yuan on 31 December (enough to use up a yearly
    outpatient cap of a few thousand yuan), one more on 1 January."""
    tz = dt.timezone(dt.timedelta(hours=8))
    codes = hospital.items[:10]
    steps: list[Step] = []
    for j, (day, hour) in enumerate(
        ((dec31, 9), (dec31, 13), (dec31, 17), (dec31 + dt.timedelta(days=1), 9))
    ):
        mdtrt_id = f"{hospital.fixmedins_code}{salt:06d}8{n:03d}{k:01d}{j:02d}"
        base: dict[str, Any] = {
            "person": person,
            "hospital": hospital,
            "mdtrt_id": mdtrt_id,
            "category": "outpatient",
        }
        at = dt.datetime.combine(day, dt.time(hour, 0), tzinfo=tz)
        items = tuple(
            FeeItem(f"{mdtrt_id}-{i + 1:03d}", code, 1, 150_000) for i, code in enumerate(codes)
        )
        steps += [
            Step("register", at, **base),
            Step("fees", at + dt.timedelta(minutes=10), items=items, **base),
            Step("settle", at + dt.timedelta(minutes=20), items=items,
                 medins_setl_id=f"S{mdtrt_id}-1", **base),
        ]  # fmt: skip
    return steps
