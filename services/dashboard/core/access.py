"""Who sees what: the clearing center everything, a province's agency its own pairs and
statements, ops the ops pages.

Why a pure module: every page and every URL goes through these few predicates, and the
province isolation (a statement of another province is refused even when its URL is typed
by hand) is tested here without a server, and again in the browser test.

Participants: in the national scope the provinces (``330000``), in a provincial scope
(``province:330000``) the pooling regions of that one province (``330900``, ``330421``).
A province's agency sees the national pairs it pays or is paid on, its own net, and its
own provincial scope whole (every pool in it is its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from services.dashboard.core.errors import BadRequest, Forbidden

NATIONAL = "national"
_CODE = re.compile(r"^\d{6}$")
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_SCOPE = re.compile(r"^(national|province:\d{2}0000)$")


class Role(StrEnum):
    CENTER = "center"
    PROVINCE = "province"
    OPS = "ops"


class Page(StrEnum):
    CLEARING = "clearing"
    PREPAYMENTS = "prepayments"
    SUPERVISION = "supervision"
    LIVE = "live"
    OPS = "ops"


PAGES: dict[Role, tuple[Page, ...]] = {
    Role.CENTER: (Page.CLEARING, Page.PREPAYMENTS, Page.SUPERVISION, Page.LIVE, Page.OPS),
    Role.PROVINCE: (Page.CLEARING, Page.PREPAYMENTS, Page.SUPERVISION, Page.LIVE),
    Role.OPS: (Page.OPS,),
}
"""The pages each role may open, in menu order (the first is its home page)."""


def check_code(code: str) -> str:
    if not _CODE.match(code):
        raise BadRequest("a region code has 6 digits")
    return code


def check_period(period: str) -> str:
    if not _PERIOD.match(period):
        raise BadRequest("a period is YYYY-MM")
    return period


def check_scope(scope: str) -> str:
    if not _SCOPE.match(scope):
        raise BadRequest("a scope is 'national' or 'province:XX0000'")
    return scope


def province_of(code: str) -> str:
    return code[:2] + "0000"


@dataclass(frozen=True, slots=True)
class Viewer:
    """A logged-in user: its login (a broker principal's name), role and, for an agency,
    its province (``330000``)."""

    login: str
    role: Role
    province: str | None = None

    def __post_init__(self) -> None:
        if (self.role is Role.PROVINCE) != (self.province is not None):
            raise ValueError("a province login, and only one, names its province")
        if self.province is not None and (
            not _CODE.match(self.province) or not self.province.endswith("0000")
        ):
            raise ValueError("a province is XX0000")

    @property
    def pages(self) -> tuple[Page, ...]:
        return PAGES[self.role]

    def may_open(self, page: Page) -> bool:
        return page in self.pages

    def require_page(self, page: Page) -> None:
        if not self.may_open(page):
            raise Forbidden(f"{self.login} may not open the {page} page")

    def _own(self, code: str) -> bool:
        return self.province is not None and code[:2] == self.province[:2]

    def sees_scope(self, scope: str) -> bool:
        if self.role is Role.CENTER:
            return True
        if self.role is Role.OPS:
            return False
        return scope in (NATIONAL, f"province:{self.province}")

    def sees_pair(self, scope: str, payer: str, payee: str) -> bool:
        """A flow between two participants: the center all; a province those it is a side
        of, and every flow inside its own provincial scope."""
        if self.role is Role.CENTER:
            return True
        if self.role is Role.OPS or not self.sees_scope(scope):
            return False
        return scope != NATIONAL or self._own(payer) or self._own(payee)

    def sees_participant(self, scope: str, participant: str) -> bool:
        """A participant's net and its view of a statement."""
        if self.role is Role.CENTER:
            return True
        if self.role is Role.OPS or not self.sees_scope(scope):
            return False
        return scope != NATIONAL or participant == self.province

    def sees_region(self, admdvs: str) -> bool:
        """Rows about one region (a settlement's side, an alert's region)."""
        return self.role is Role.CENTER or self._own(admdvs)

    def sees_settlement(self, home: str, treatment: str) -> bool:
        return self.sees_region(home) or self.sees_region(treatment)

    def require_pair(self, scope: str, payer: str, payee: str) -> None:
        if not self.sees_pair(scope, payer, payee):
            raise Forbidden(f"{self.login} may not see {payer}->{payee} in {scope}")

    def require_participant(self, scope: str, participant: str) -> None:
        if not self.sees_participant(scope, participant):
            raise Forbidden(f"{self.login} may not see {participant}'s statement in {scope}")

    def require_settlement(self, home: str, treatment: str) -> None:
        if not self.sees_settlement(home, treatment):
            raise Forbidden(f"{self.login} may not see this settlement")

    def default_scope(self) -> str:
        return NATIONAL
