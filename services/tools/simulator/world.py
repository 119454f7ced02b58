"""Who exists in a simulated run: hospitals (from the reference data) and insured persons.

Seeded and pure: the same seed and reference data give the same world, so a
run's event file can be regenerated and compared.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from stdnum.cn import ric


@dataclass(frozen=True, slots=True)
class Hospital:
    fixmedins_code: str
    admdvs: str
    level: int
    kind: str
    networked: tuple[str, ...]
    items: tuple[str, ...]
    """Catalog item codes of the treatment region this hospital bills with."""


@dataclass(frozen=True, slots=True)
class Person:
    psn_no: str
    certno: str
    insuplc_admdvs: str
    insutype: str
    psn_type: str
    poor: bool
    assistance_eligible: bool


def make_certno(rng: random.Random, admdvs: str) -> str:
    """A resident ID with a valid GB 11643 check character (synthetic, never a real person)."""
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 60))
    body = f"{admdvs}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric.calc_check_digit(body)


def make_persons(rng: random.Random, homes: list[str], count: int, salt: int = 0) -> list[Person]:
    """``salt`` (6 digits) keeps different runs' persons apart on a shared broker."""
    persons: list[Person] = []
    for i in range(count):
        home = rng.choice(homes)
        employee = rng.random() < 0.6
        persons.append(
            Person(
                psn_no=f"{home}{salt:06d}{i:08d}",
                certno=make_certno(rng, home),
                insuplc_admdvs=home,
                insutype="310" if employee else "390",
                psn_type=("21" if rng.random() < 0.4 else "11") if employee else "31",
                poor=(not employee) and rng.random() < 0.08,
                assistance_eligible=rng.random() < 0.05,
            )
        )
    return persons


def hospitals_from_reference(reference_dir: Path) -> list[Hospital]:
    """Networked institutions with the item codes of their treatment province's catalog."""
    from contracts.reference import Catalog, Institutions

    insts = Institutions.model_validate_json((reference_dir / "institutions.json").read_bytes())
    catalogs: dict[str, tuple[str, ...]] = {}
    for path in sorted((reference_dir / "catalogs").glob("*.json")):
        cat = Catalog.model_validate_json(path.read_bytes())
        catalogs[cat.admdvs[:2]] = tuple(sorted(cat.items))
    return [
        Hospital(
            i.fixmedins_code, i.admdvs, i.level, i.kind, tuple(i.networked), catalogs[i.admdvs[:2]]
        )
        for i in insts.institutions
        if i.networked and i.admdvs[:2] in catalogs
    ]


def home_regions(reference_dir: Path) -> list[str]:
    """Pooling regions that have a policy pack (persons can only be insured where one exists)."""
    return sorted({p.name.split("-")[0] for p in (reference_dir / "policies").glob("*.json")})
