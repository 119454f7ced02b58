"""Clearing periods: which scope a flow belongs to, which month it is cleared in, and the
period life cycle OPEN -> CLOSING -> CLOSED -> CONFIRMED -> SETTLED.

A closed statement never changes, so a settlement whose own month is no longer
OPEN is cleared in the next OPEN month and flagged late (DOMAIN.md section 6).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from contracts.pools import PoolingRegions
from services.clearing.core.errors import BadPeriod, BadScope, WrongState

Status = Literal["OPEN", "CLOSING", "CLOSED", "CONFIRMED", "SETTLED"]
NATIONAL = "national"
NATIONAL_PARTICIPANT = "000000"
"""The national platform: the participant named on national statements and commands."""

CHINA = dt.timezone(dt.timedelta(hours=8))
"""Periods are calendar months in China time."""
_SCOPE = re.compile(r"^(?:national|province:(\d{2})0000)$")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_LOOKAHEAD = 120
"""Months a late settlement may be pushed forward before something is clearly wrong."""


def province_of(admdvs: str) -> str:
    return admdvs[:2] + "0000"


def parse_scope(text: str) -> str:
    """``national`` or ``province:XX0000`` (what the CLI and the tables use)."""
    if not _SCOPE.fullmatch(text):
        raise BadScope(f"scope {text!r} is neither 'national' nor 'province:XX0000'")
    return text


def scope_of(home_pool: str, treatment_pool: str) -> str | None:
    """Cross-province flows clear nationally, flows between two pooling regions of one
    province provincially; a settlement inside its own pooling region is not cleared at all.
    The arguments are pools (``flow_of`` resolves them), never raw districts."""
    if home_pool[:2] != treatment_pool[:2]:
        return NATIONAL
    if home_pool != treatment_pool:
        return f"province:{province_of(home_pool)}"
    return None


def participants(home_pool: str, treatment_pool: str, scope: str) -> tuple[str, str]:
    """(payer, payee) as the scope names them: provinces nationally, pooling regions inside one."""
    if scope == NATIONAL:
        return province_of(home_pool), province_of(treatment_pool)
    return home_pool, treatment_pool


@dataclass(frozen=True, slots=True)
class Flow:
    """Where one settlement is cleared: its scope and the participants paying and paid."""

    scope: str
    home_pool: str
    treatment_pool: str
    payer: str
    payee: str


def flow_of(
    home: str, treatment: str, pools: PoolingRegions, route: str | None = None
) -> Flow | None:
    """The clearing flow of a settlement between divisions ``home`` and ``treatment``, or
    ``None`` when it stays inside one pooling region.

    Pools come from ``contracts.pools`` — the adjudicator's rule on the same reference
    data — so a settlement the adjudicator routed ``local`` resolves to one pool here. The
    route, when given, is the adjudicator's own decision and wins: a ``local`` settlement
    is never cleared, even if this process's reference data were to disagree.
    """
    if route == "local":
        return None
    home_pool, treatment_pool = pools.pool_of(home), pools.pool_of(treatment)
    scope = scope_of(home_pool, treatment_pool)
    if scope is None:
        return None
    payer, payee = participants(home_pool, treatment_pool, scope)
    return Flow(scope, home_pool, treatment_pool, payer, payee)


def misplaced(
    keys: Iterable[tuple[str, str, str, str]], scope: str, pools: PoolingRegions
) -> list[str]:
    """(home, treatment, payer, payee) keys of ``scope`` that today's rule puts elsewhere:
    inside one pool (not cleared) or between other participants. Empty when every key is
    where ``flow_of`` places it now."""
    out = []
    for home, treatment, payer, payee in sorted(keys):
        flow = flow_of(home, treatment, pools)
        if flow is None:
            out.append(f"{home}->{treatment}: inside pool {pools.pool_of(home)}, not cleared")
        elif (flow.scope, flow.payer, flow.payee) != (scope, payer, payee):
            out.append(
                f"{home}->{treatment}: {payer}->{payee} in {scope}, "
                f"now {flow.payer}->{flow.payee} in {flow.scope}"
            )
    return out


def scope_participant(scope: str) -> str:
    """Who a scope's statements and commands are about: the platform or the province."""
    return NATIONAL_PARTICIPANT if scope == NATIONAL else parse_scope(scope).split(":", 1)[1]


def scope_kind(scope: str) -> Literal["national", "provincial"]:
    return "national" if scope == NATIONAL else "provincial"


def scope_from_message(kind: str, participant: str) -> str:
    """The table scope of a message's (scope, participant)."""
    if kind == "national":
        return NATIONAL
    if kind == "provincial" and participant.endswith("0000"):
        return parse_scope(f"province:{participant}")
    raise BadScope(f"no clearing scope {kind} for participant {participant}")


def parse_period(text: str) -> str:
    if not _PERIOD.fullmatch(text):
        raise BadPeriod(f"period {text!r} is not YYYY-MM")
    return text


def period_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_period(period: str) -> str:
    year, month = (int(x) for x in parse_period(period).split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def require_ended(period: str, today: dt.date) -> None:
    """A month is closed once it is over (China time): its settlements are still arriving."""
    first_after = dt.date.fromisoformat(next_period(period) + "-01")
    if today < first_after:
        raise WrongState(f"{period} has not ended: it can be closed from {first_after}")


def period_year(period: str) -> int:
    return int(parse_period(period)[:4])


@dataclass(frozen=True, slots=True)
class Assignment:
    period: str
    natural_period: str

    @property
    def late(self) -> bool:
        return self.period != self.natural_period


def assign(
    natural: str,
    statuses: Mapping[str, Status],
    counted_before: Callable[[str], bool] | None = None,
) -> Assignment:
    """The first period at or after ``natural`` that was OPEN when this settlement was read.

    A period without a status is OPEN. ``counted_before(period)`` says the settlement sits
    before the feed position recorded when ``period`` froze: a rebuild or replay reading
    it again must put it where it was, not in a later month.
    """
    period = natural
    for _ in range(MAX_LOOKAHEAD):
        if statuses.get(period, "OPEN") == "OPEN" or (
            counted_before is not None and counted_before(period)
        ):
            return Assignment(period, natural)
        period = next_period(period)
    raise WrongState(f"no open period within {MAX_LOOKAHEAD} months after {natural}")


_NEXT: dict[str, tuple[Status, ...]] = {
    "close": ("OPEN", "CLOSING"),
    "confirm": ("CLOSED",),
    "settle": ("CONFIRMED",),
}


def require(step: Literal["close", "confirm", "settle"], status: Status, what: str) -> None:
    """Refuse a step the period's state does not allow (closing an already closed period is
    not a step: the caller returns the existing statement instead)."""
    if status not in _NEXT[step]:
        allowed = " or ".join(_NEXT[step])
        raise WrongState(f"{what} is {status}; {step} needs {allowed}")
