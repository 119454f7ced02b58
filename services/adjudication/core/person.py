"""Everything the adjudicator remembers about one person, as one immutable value.

Why per person: person-keyed topics are co-partitioned, so one task sees a
person's filings, visits and settlements in order and keeps this value in one
table row. Every transition returns a new ``PersonState``; nothing is mutated,
so a pre-settlement or a rejected request cannot change anything.
``state_to_json`` / ``state_from_json`` are the table codec.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import TypeAdapter

from contracts.reference import FilingState
from services.adjudication.core import state_json
from services.adjudication.core import visit as visits
from services.adjudication.core.accumulators import Accumulators
from services.adjudication.core.errors import VisitClosed, VisitExists, VisitUnknown
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.settlement import Settlement
from services.adjudication.core.visit import VisitState, VisitStatus


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class YearDelta:
    """What one earlier year's part of a split cross-year stay added to that year."""

    year: int
    delta: Mapping[str, int]
    admission_deductible_fen: int


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class SettledRecord:
    """What a reversal needs to undo a settlement exactly. ``year``/``delta``/
    ``admission_deductible_fen`` are the settlement year's; ``earlier_years`` holds the
    parts of a cross-year stay split by date that went to earlier years' counters."""

    settlement: Settlement
    year: int
    delta: Mapping[str, int]
    account_fen: int
    admission_deductible_fen: int
    lines: tuple[FeeLine, ...]
    prior_status: VisitStatus
    reversed: bool = False
    earlier_years: tuple[YearDelta, ...] = ()

    def year_deltas(self) -> dict[int, Mapping[str, int]]:
        """Every year this settlement added to, with what it added."""
        out: dict[int, Mapping[str, int]] = {part.year: part.delta for part in self.earlier_years}
        out[self.year] = self.delta
        return out

    def admission_deductible_in(self, year: int) -> int:
        """The per-admission deductible this settlement charged against ``year``."""
        paid = self.admission_deductible_fen if self.year == year else 0
        return paid + sum(p.admission_deductible_fen for p in self.earlier_years if p.year == year)

    @property
    def admission_deductible_total(self) -> int:
        """The per-admission deductible this settlement charged, all years."""
        return self.admission_deductible_fen + sum(
            p.admission_deductible_fen for p in self.earlier_years
        )


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class PersonState:
    """A person's visits, yearly counters, settlements, account use and filings."""

    visits: Mapping[str, VisitState] = field(default_factory=dict)
    years: Mapping[int, Accumulators] = field(default_factory=dict)
    settlements: Mapping[str, SettledRecord] = field(default_factory=dict)
    account_spent_fen: int = 0
    filings: Mapping[str, FilingState] = field(default_factory=dict)

    def accumulators(self, year: int) -> Accumulators:
        """The counters of ``year`` (empty when the person has not settled that year)."""
        return self.years.get(year) or Accumulators()

    def admission_deductible_in(self, mdtrt_id: str, year: int) -> int:
        """The per-admission deductible the visit's standing settlements charged against
        ``year`` (a stay split by date pays each year's deductible once)."""
        return sum(
            r.admission_deductible_in(year)
            for r in self.settlements.values()
            if r.settlement.mdtrt_id == mdtrt_id and not r.reversed
        )

    def visit(self, mdtrt_id: str) -> VisitState:
        """A registered visit, or ``VisitUnknown``."""
        found = self.visits.get(mdtrt_id)
        if found is None:
            raise VisitUnknown(mdtrt_id)
        return found


def _put(
    mapping: Mapping[str, VisitState], key: str, value: VisitState
) -> Mapping[str, VisitState]:
    merged = dict(mapping)
    merged[key] = value
    return merged


def with_visit(state: PersonState, visit: VisitState) -> PersonState:
    """``state`` with ``visit`` stored under its ``mdtrt_id``. Built field by field rather
    than with ``dataclasses.replace`` (several times dearer; every visit message passes
    here): ``tests/unit/adjudication/test_hot_path_exact.py`` fails if a field is added."""
    return PersonState(
        _put(state.visits, visit.mdtrt_id, visit),
        state.years,
        state.settlements,
        state.account_spent_fen,
        state.filings,
    )


def register_visit(state: PersonState, visit: VisitState) -> PersonState:
    """Registration / admission (2201/2401). Re-registering identically is a no-op."""
    known = state.visits.get(visit.mdtrt_id)
    if known is not None:
        if known == visit:
            return state
        raise VisitExists(visit.mdtrt_id)
    return with_visit(state, visit)


def upload_fees(state: PersonState, mdtrt_id: str, lines: Iterable[FeeLine]) -> PersonState:
    """Fee details upload (2204/2301)."""
    return with_visit(state, visits.add_fees(state.visit(mdtrt_id), lines))


def withdraw_fees(
    state: PersonState, mdtrt_id: str, feedetl_sns: Iterable[str] | None
) -> PersonState:
    """Fee details cancel (2205/2302); ``None`` withdraws every pending line."""
    return with_visit(state, visits.withdraw_fees(state.visit(mdtrt_id), feedetl_sns))


def discharge(state: PersonState, mdtrt_id: str) -> PersonState:
    """Discharge (2402)."""
    return with_visit(state, visits.discharge(state.visit(mdtrt_id)))


def cancel_visit(state: PersonState, mdtrt_id: str) -> PersonState:
    """Registration / admission cancel (2202/2404): refused while a settlement stands."""
    visit = state.visit(mdtrt_id)
    if any(
        r.settlement.mdtrt_id == mdtrt_id and not r.reversed for r in state.settlements.values()
    ):
        raise VisitClosed(f"visit {mdtrt_id} has a standing settlement; reverse it first")
    return with_visit(state, visits.cancel(visit))


def record_filing(state: PersonState, filing: FilingState) -> PersonState:
    """A filing created or changed (the same ``filing_id`` replaces the old one)."""
    merged = dict(state.filings)
    merged[filing.filing_id] = filing
    return PersonState(  # ``replace(state, filings=merged)`` field by field, as ``with_visit``
        state.visits, state.years, state.settlements, state.account_spent_fen, merged
    )


def revoke_filing(state: PersonState, filing_id: str, revoked_on: dt.date) -> PersonState:
    """A filing revoked from ``revoked_on``; it stays, marked, so earlier dates still count.
    Revoking an unknown filing is a no-op: revocations may overtake the filing's arrival
    only across topics, and the registration processor acks those."""
    known = state.filings.get(filing_id)
    if known is None:
        return state
    return record_filing(state, known.model_copy(update={"revoked_on": revoked_on}))


_STATE = TypeAdapter(PersonState)
_VISIT = TypeAdapter(VisitState)
_YEAR = TypeAdapter(Accumulators)
_SETTLED = TypeAdapter(SettledRecord)
_FILING = TypeAdapter(FilingState)
_EARLIER = TypeAdapter(tuple[YearDelta, ...])
_YEAR_JSON = _YEAR.serializer.to_json  # ``dump_json`` minus its wrapper (``state_json``)
_FILING_JSON = _FILING.serializer.to_json


def state_to_json(state: PersonState) -> bytes:
    """The person's table row: canonical JSON."""
    return _STATE.dump_json(state)


class StateWriter:
    """``state_to_json`` that remembers the JSON of each visit, year, settlement and filing
    between calls, and writes the same bytes.

    Why: a person's row is written once per batch that touched them, and it carries every
    settlement with the fee lines a reversal needs, while a batch changes one or two of
    them. The values are immutable, so an object seen before (the identical object, held
    here so its id cannot be reused) has the same JSON; only new ones are serialised.
    Entries no longer in the state are forgotten on each call. A visit's fee lines are
    remembered apart (``core/state_json.py``): an upload appends to them, and the
    settlement that consumes them writes the same array again.
    """

    __slots__ = ("_lines", "_memo")

    def __init__(self) -> None:
        self._memo: dict[int, tuple[object, orjson.Fragment]] = {}
        self._lines: state_json.LinesMemo = {}

    def dump(self, state: PersonState) -> bytes:
        return orjson.dumps(self.body(state))

    def body(self, state: PersonState) -> dict[str, Any]:
        """What ``dump`` serialises: the object, its parts as remembered JSON fragments (a
        row nests it as it is, rather than the bytes of its ``dump``: one copy less).
        Plain loops, the fragments themselves remembered: no closure per call, no call and
        no new ``Fragment`` per part seen before (about four parts a row)."""
        memo, lines = self._memo, self._lines
        kept: dict[int, tuple[object, orjson.Fragment]] = {}
        kept_lines: state_json.LinesMemo = {}
        visits: dict[str, orjson.Fragment] = {}
        for key, visit in state.visits.items():
            ident = id(visit)
            hit = memo.get(ident)
            if hit is None or hit[0] is not visit:
                text = state_json.visit_json(visit, lines, kept_lines)
                hit = (visit, orjson.Fragment(text))
            elif (known := lines.get(visit.mdtrt_id)) is not None:
                kept_lines[visit.mdtrt_id] = known  # the next upload or its settlement extends it
            kept[ident] = hit
            visits[key] = hit[1]
        years: dict[str, orjson.Fragment] = {}
        for year, counters in state.years.items():  # ``_remembered`` written out, as above
            ident = id(counters)
            hit = memo.get(ident)
            if hit is None or hit[0] is not counters:
                hit = (counters, orjson.Fragment(_YEAR_JSON(counters)))
            kept[ident] = hit
            years[str(year)] = hit[1]
        settlements: dict[str, orjson.Fragment] = {}
        for key, record in state.settlements.items():
            ident = id(record)
            hit = memo.get(ident)
            if hit is None or hit[0] is not record:
                text = state_json.settled_json(record, lines, _EARLIER)
                hit = (record, orjson.Fragment(text))
            kept[ident] = hit  # not its parts: only a (rare) reversal would write them again
            settlements[key] = hit[1]
        filings = _remembered(state.filings.items(), memo, kept, _FILING_JSON)
        self._memo, self._lines = kept, kept_lines
        return {
            "visits": visits,
            "years": years,
            "settlements": settlements,
            "account_spent_fen": state.account_spent_fen,
            "filings": filings,
        }


def _remembered(
    parts: Iterable[tuple[str, Any]],
    memo: dict[int, tuple[object, orjson.Fragment]],
    kept: dict[int, tuple[object, orjson.Fragment]],
    encode: Callable[[Any], bytes],
) -> dict[str, orjson.Fragment]:
    """``StateWriter.body``'s loop for parts whose JSON is the part's alone (a year's
    counters, a filing): one call per collection, not per part."""
    out: dict[str, orjson.Fragment] = {}
    for key, part in parts:
        ident = id(part)
        hit = memo.get(ident)
        if hit is None or hit[0] is not part:
            hit = (part, orjson.Fragment(encode(part)))
        kept[ident] = hit
        out[key] = hit[1]
    return out


def state_from_json(raw: bytes | str) -> PersonState:
    """Rebuild a person's state from ``state_to_json`` output."""
    return _STATE.validate_json(raw)
