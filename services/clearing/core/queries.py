"""Queries on large stays (协查, DOMAIN.md section 6, Arts. 43, 54-59).

The home side may query a single inpatient settlement of 30,000 yuan or more. Queries are
batched from the 26th to the 25th; the treatment side answers a batch before the next 26th
(the *reply date*: the 25th of the month after the batch). A query not answered by then
counts as confirmed once ``grace_working_days`` (10) more working days have passed. The
home side confirms an answer within ``confirm_working_days`` (5) or disputes it; silence
past that is a dispute too (negotiated). A disputed query ends in a deduction (an audit
deduction with its ``deduction_id``, taken from the queried settlement) or a confirmation.

States: ``RAISED -> ANSWERED -> CONFIRMED | DISPUTED``, ``DISPUTED -> DEDUCTED | CONFIRMED``,
``RAISED -> DEEMED_CONFIRMED`` (time). Time moves states only through ``advance``, which every
step calls first with the day it happens, so a late step sees the state the deadlines
already made. Pure: dates in China time, amounts in fen, no I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from contracts.audit import QueryRules
from contracts.money import to_fen
from services.clearing.core.errors import ClearingError
from services.clearing.core.workdays import WorkingDays


class QueryState(StrEnum):
    RAISED = "RAISED"
    ANSWERED = "ANSWERED"
    DISPUTED = "DISPUTED"
    CONFIRMED = "CONFIRMED"
    DEEMED_CONFIRMED = "DEEMED_CONFIRMED"
    DEDUCTED = "DEDUCTED"


FINAL = frozenset({QueryState.CONFIRMED, QueryState.DEEMED_CONFIRMED, QueryState.DEDUCTED})
OPEN = frozenset(QueryState) - FINAL


class QueryError(ClearingError):
    code = "E_QUERY"


class NotQueryable(QueryError):
    """Not an inpatient settlement of the threshold or more, or reversed, or unknown."""

    code = "E_QUERY_NOT_QUERYABLE"


class QueryAgency(QueryError):
    """The step belongs to the other side (home side queries, confirms, disputes; treatment
    side answers and deducts)."""

    code = "E_QUERY_AGENCY"


class QueryStepRefused(QueryError):
    """The step is not allowed in the query's state (after its deadlines were applied)."""

    code = "E_QUERY_STATE"


@dataclass(frozen=True, slots=True)
class Stay:
    """What a query needs of the settlement (from the ledger and clearing)."""

    setl_id: str
    clr_type: str
    medfee_fen: int
    fund_fen: int
    setl_date: dt.date
    home_sides: frozenset[str]
    treatment_sides: frozenset[str]
    reversed: bool


@dataclass(frozen=True, slots=True)
class Query:
    query_id: str
    setl_id: str
    home_agency: str
    raised_on: dt.date
    batch: str
    """``YYYY-MM`` of the batch's last day (batch 2026-11: 26 Oct - 25 Nov)."""
    reply_by: dt.date
    lapses_on: dt.date
    """Unanswered, it counts as confirmed on this day."""
    state: QueryState = QueryState.RAISED
    answered_on: dt.date | None = None
    answered_late: bool = False
    answer: str = ""
    confirm_by: dt.date | None = None
    resolved_on: dt.date | None = None
    deduction_id: str | None = None


def batch_of(day: dt.date, last_day: int) -> str:
    """The batch a day belongs to: named by the month of its last day."""
    if day.day <= last_day:
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year + day.month // 12:04d}-{day.month % 12 + 1:02d}"


def reply_by(batch: str, last_day: int) -> dt.date:
    """Answered before the next 26th after the batch: the ``last_day`` of the month after."""
    year, month = (int(x) for x in batch.split("-"))
    return dt.date(year + month // 12, month % 12 + 1, last_day)


def raise_query(
    stay: Stay | None,
    *,
    setl_id: str,
    agency: str,
    query_id: str,
    today: dt.date,
    open_query: bool,
    rules: QueryRules,
    days: WorkingDays,
) -> Query:
    """A new query by ``agency`` on the settlement, or a typed refusal."""
    if stay is None:
        raise NotQueryable(f"no settlement {setl_id} in the ledger")
    if stay.reversed:
        raise NotQueryable(f"settlement {setl_id} was reversed")
    if stay.clr_type not in rules.inpatient_clr_types:
        raise NotQueryable(
            f"settlement {setl_id} is not an inpatient stay (clr_type {stay.clr_type})"
        )
    if stay.medfee_fen < to_fen(rules.threshold_yuan):
        raise NotQueryable(f"settlement {setl_id} is below {rules.threshold_yuan} yuan")
    if agency not in stay.home_sides:
        raise QueryAgency(f"AG{agency} is not the home side of {setl_id}")
    if open_query:
        raise QueryStepRefused(f"settlement {setl_id} already has an open query")
    batch = batch_of(today, rules.batch_last_day)
    due = reply_by(batch, rules.batch_last_day)
    lapses = days.add(due, rules.grace_working_days)
    return Query(query_id, setl_id, agency, today, batch, due, lapses)


def advance(q: Query, today: dt.date) -> Query:
    """The query as its deadlines leave it on ``today``: unanswered past its lapse day it
    counts as confirmed (on that day); an answer neither confirmed nor disputed by its
    confirmation day is disputed (negotiated)."""
    if q.state == QueryState.RAISED and today >= q.lapses_on:
        return dataclasses.replace(q, state=QueryState.DEEMED_CONFIRMED, resolved_on=q.lapses_on)
    if q.state == QueryState.ANSWERED and q.confirm_by is not None and today > q.confirm_by:
        return dataclasses.replace(q, state=QueryState.DISPUTED)
    return q


def _require(q: Query, *states: QueryState, step: str) -> None:
    if q.state not in states:
        allowed = " or ".join(states)
        raise QueryStepRefused(f"query {q.query_id} is {q.state}; {step} needs {allowed}")


def answer(
    q: Query, stay: Stay, *, agency: str, today: dt.date, text: str, rules: QueryRules,
    days: WorkingDays,
) -> Query:  # fmt: skip
    """The treatment side's answer; after the reply date (but before the lapse) it is late."""
    if agency not in stay.treatment_sides:
        raise QueryAgency(f"AG{agency} is not the treatment side of {q.setl_id}")
    q = advance(q, today)
    _require(q, QueryState.RAISED, step="an answer")
    return dataclasses.replace(
        q, state=QueryState.ANSWERED, answered_on=today, answered_late=today > q.reply_by,
        answer=text, confirm_by=days.add(today, rules.confirm_working_days),
    )  # fmt: skip


def confirm(q: Query, *, agency: str, today: dt.date) -> Query:
    """The home side accepts the answer (or, disputed, settles the dispute without deduction)."""
    if agency != q.home_agency:
        raise QueryAgency(f"AG{agency} did not raise query {q.query_id}")
    q = advance(q, today)
    _require(q, QueryState.ANSWERED, QueryState.DISPUTED, step="a confirmation")
    return dataclasses.replace(q, state=QueryState.CONFIRMED, resolved_on=today)


def dispute(q: Query, *, agency: str, today: dt.date) -> Query:
    """The home side rejects the answer within its confirmation days: negotiated."""
    if agency != q.home_agency:
        raise QueryAgency(f"AG{agency} did not raise query {q.query_id}")
    q = advance(q, today)
    _require(q, QueryState.ANSWERED, step="a dispute")
    return dataclasses.replace(q, state=QueryState.DISPUTED)


def resolve_by_deduction(
    q: Query, stay: Stay, *, agency: str, today: dt.date, deduction_id: str,
    deduction_setl_id: str,
) -> Query:  # fmt: skip
    """A disputed query ends in the treatment side's deduction from the queried settlement."""
    if agency not in stay.treatment_sides:
        raise QueryAgency(f"AG{agency} is not the treatment side of {q.setl_id}")
    if deduction_setl_id != q.setl_id:
        raise QueryStepRefused(f"deduction {deduction_id} is not from {q.setl_id}")
    q = advance(q, today)
    _require(q, QueryState.DISPUTED, step="a deduction")
    return dataclasses.replace(
        q, state=QueryState.DEDUCTED, resolved_on=today, deduction_id=deduction_id
    )
