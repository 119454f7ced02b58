"""The adjudicator's inputs as core commands, and one function that applies any of them.

Why: the stream processor and the offline runner both turn wire messages into
these commands and call ``apply``; the mapping from a command to a state
transition lives once, here, and stays pure. ``apply`` returns the new state
and an ``Outcome``; a ``Rejection`` propagates to the caller, which acks it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from contracts.reference import FilingState, InsuredPerson
from services.adjudication.core import person as people
from services.adjudication.core.adjudicator import SettleRequest, pre_settle, reverse, settle
from services.adjudication.core.errors import NotInsured
from services.adjudication.core.person import PersonState
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.settlement import Reversal, Settlement
from services.adjudication.core.tables import ReferenceData
from services.adjudication.core.visit import VisitState


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class RecordFiling:
    """A filing created or changed (2501 or the agency's channels)."""

    filing: FilingState


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class RevokeFiling:
    """A filing revoked from a date (2502 or the agency's channels)."""

    filing_id: str
    revoked_on: dt.date


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class RegisterVisit:
    """Outpatient registration or admission (2201/2401)."""

    visit: VisitState


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class UploadFees:
    """Fee details upload (2204/2301)."""

    mdtrt_id: str
    lines: tuple[FeeLine, ...]


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class WithdrawFees:
    """Fee details cancel (2205/2302); ``feedetl_sns`` None withdraws all pending lines."""

    mdtrt_id: str
    feedetl_sns: tuple[str, ...] | None


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Discharge:
    """Discharge (2402)."""

    mdtrt_id: str


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class CancelVisit:
    """Registration or admission cancel (2202/2404)."""

    mdtrt_id: str


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Settle:
    """Settlement (2207/2304), or pre-settlement (2206/2303) when ``pre``."""

    request: SettleRequest
    pre: bool = False


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Reverse:
    """Reversal (2208/2305/2601) of ``setl_id`` at ``at``."""

    setl_id: str
    at: dt.datetime


Command = (
    RecordFiling
    | RevokeFiling
    | RegisterVisit
    | UploadFees
    | WithdrawFees
    | Discharge
    | CancelVisit
    | Settle
    | Reverse
)
OutcomeKind = Literal["accepted", "settled", "pre_settled", "reversed"]


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Outcome:
    """What a command produced: a settlement, a reversal, or a plain acceptance."""

    kind: OutcomeKind
    settlement: Settlement | None = None
    reversal: Reversal | None = None


_ACCEPTED = Outcome("accepted")
"""Every plain acceptance's outcome: one value (never mutated), not one built per command."""


def apply(
    state: PersonState, command: Command, person: InsuredPerson | None, ref: ReferenceData
) -> tuple[PersonState, Outcome]:
    """Apply one command to one person's state. Settlement needs the person (1101)."""
    match command:
        case RecordFiling(filing):
            return people.record_filing(state, filing), _ACCEPTED
        case RevokeFiling(filing_id, revoked_on):
            return people.revoke_filing(state, filing_id, revoked_on), _ACCEPTED
        case RegisterVisit(visit):
            return people.register_visit(state, visit), _ACCEPTED
        case UploadFees(mdtrt_id, lines):
            return people.upload_fees(state, mdtrt_id, lines), _ACCEPTED
        case WithdrawFees(mdtrt_id, sns):
            return people.withdraw_fees(state, mdtrt_id, sns), _ACCEPTED
        case Discharge(mdtrt_id):
            return people.discharge(state, mdtrt_id), _ACCEPTED
        case CancelVisit(mdtrt_id):
            return people.cancel_visit(state, mdtrt_id), _ACCEPTED
        case Settle(request, pre):
            if person is None:
                raise NotInsured("no person record (1101) for this person key")
            if pre:
                quote = pre_settle(state, request, person, ref)
                return state, Outcome("pre_settled", settlement=quote)
            new_state, settlement = settle(state, request, person, ref)
            return new_state, Outcome("settled", settlement=settlement)
        case Reverse(setl_id, at):
            new_state, reversal = reverse(state, setl_id, at)
            return new_state, Outcome("reversed", reversal=reversal)
    raise TypeError(f"unknown command {type(command).__name__}")
