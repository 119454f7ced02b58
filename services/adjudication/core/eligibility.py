"""May this person settle this visit here, and with which cross-region cut?

Why one module: insured status, the route (local, registration-free zone,
filing, emergency treated as filed, or unfiled), and the institution's
networking together decide whether the request is rejected and which ratio cut
applies (DOMAIN.md section 2). The best route for the person wins: a zone or
a filing with a smaller cut beats an emergency cut.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from contracts.policy import Category
from contracts.reference import FilingState, Institution, Insurance, InsuredPerson
from services.adjudication.core.errors import (
    InstitutionNotNetworked,
    InsuranceSuspended,
    NotInsured,
    NoValidFiling,
)
from services.adjudication.core.tables import CompiledPolicy, RuleTerms

EMERGENCY_MED_TYPES = frozenset({"13", "24"})
"""Emergency outpatient and emergency-to-inpatient: treated as filed (视同已备案)."""

MED_TYPE_CATEGORY: dict[str, Category] = {
    "11": "outpatient",
    "13": "outpatient",
    "14": "chronic_outpatient",
    "21": "inpatient",
    "22": "inpatient",
    "24": "inpatient",
    "28": "inpatient",
    "41": "pharmacy",
    "51": "outpatient",
    "52": "inpatient",
}

RouteBasis = Literal[
    "local", "zone", "unfiled", "long_term", "referral", "emergency", "other_temporary"
]
"""How a visit was allowed: inside the home pool, a registration-free zone, unfiled
(the home region cuts instead of rejecting), or the filing kind that covered it
(``emergency`` also for emergency treatment without a filing)."""


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Route:
    """How the visit is allowed and the ratio cut it costs (basis points)."""

    basis: RouteBasis
    cut_bp: int
    filing_id: str | None = None

    @property
    def cross_region(self) -> bool:
        """Anything but a visit inside the home pool."""
        return self.basis != "local"


def insurance_of(person: InsuredPerson, insutype: str) -> Insurance:
    """The person's active insurance of ``insutype``, or the matching rejection."""
    row = person.insurance(insutype)
    if row is None:
        raise NotInsured(f"insutype {insutype}")
    if row.status != "active":
        raise InsuranceSuspended(f"insutype {insutype}")
    return row


def category_of(med_type: str) -> Category:
    """The benefit category for a ``med_type``; unknown types settle as outpatient."""
    return MED_TYPE_CATEGORY.get(med_type, "outpatient")


def chronic_or_ordinary(
    policy: CompiledPolicy, insutype: str, psn_type: str, level: int, diseases: Iterable[str]
) -> tuple[Category, RuleTerms]:
    """A chronic visit whose diagnoses are all off the home list settles as ordinary outpatient."""
    terms = policy.rule(insutype, psn_type, "chronic_outpatient", level)
    if terms.diseases.intersection(diseases):
        return "chronic_outpatient", terms
    return "outpatient", policy.rule(insutype, psn_type, "outpatient", level)


def resolve_route(
    policy: CompiledPolicy,
    treatment_pool: str,
    treatment_admdvs: str,
    med_type: str,
    filings: Iterable[FilingState],
    on: dt.date,
) -> Route:
    """The cheapest allowed route for the person, or ``NoValidFiling``."""
    home = policy.pack.admdvs
    if treatment_pool == home:
        return Route("local", 0)
    best: tuple[int, RouteBasis, str] | None = None
    zone_cut = policy.zone_cut_bp.get(treatment_pool)
    if zone_cut is not None:
        best = (zone_cut, "zone", "")
    for filing in filings:
        if filing.insuplc_admdvs == home and filing.covers(treatment_admdvs, on):
            candidate: tuple[int, RouteBasis, str] = (
                policy.cut_bp[filing.kind],
                filing.kind,
                filing.filing_id,
            )
            if best is None or candidate < best:
                best = candidate
    if med_type in EMERGENCY_MED_TYPES:
        emergency: tuple[int, RouteBasis, str] = (policy.cut_bp["emergency"], "emergency", "")
        if best is None or emergency < best:
            best = emergency
    if best is None:
        if policy.no_filing_reject:
            raise NoValidFiling(f"home {home} treatment {treatment_admdvs} on {on.isoformat()}")
        return Route("unfiled", policy.cut_bp["none"])
    cut, basis, filing_id = best
    return Route(basis, cut, filing_id or None)


def check_networked(institution: Institution, category: Category, route: Route) -> None:
    """Cross-region settlement needs the institution networked for the category."""
    if route.cross_region and category not in institution.networked:
        raise InstitutionNotNetworked(f"{institution.fixmedins_code} for {category}")
