"""Settle, pre-settle and reverse: the adjudicator's three entry points.

Why here: these are the only functions that read reference data, the person's
state and a request together ("就医地目录、参保地政策": the treatment region's
catalog prices, the home region's pack pays). They are pure: same inputs, same
``Settlement``; the business date and year come from the request's time in
Asia/Shanghai, never from the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from contracts.policy import Category
from contracts.reference import InsuredPerson
from services.adjudication.core.accumulators import Accumulators
from services.adjudication.core.breakdown import Breakdown, DetailRow
from services.adjudication.core.calculate import Calculation, Claim, calculate, combine_years
from services.adjudication.core.eligibility import (
    category_of,
    check_networked,
    chronic_or_ordinary,
    insurance_of,
    resolve_route,
)
from services.adjudication.core.errors import (
    AlreadyReversed,
    AlreadySettled,
    FeeTotalMismatch,
    NoCatalog,
    SettlementUnknown,
    VisitClosed,
    VisitUnknown,
)
from services.adjudication.core.money import yuan_to_fen
from services.adjudication.core.person import PersonState, SettledRecord, YearDelta, with_visit
from services.adjudication.core.pricing import FeeLine, price_lines
from services.adjudication.core.setl_id import derive_reversal_id, derive_setl_id
from services.adjudication.core.settlement import Reversal, Settlement, YearPart
from services.adjudication.core.tables import PolicyChoice, ReferenceData
from services.adjudication.core.visit import VisitState, mark_settled, restore_settled

_SHANGHAI_OFFSET = dt.timedelta(hours=8)
SHANGHAI = dt.timezone(_SHANGHAI_OFFSET, "Asia/Shanghai")
"""China Standard Time: UTC+8 with no daylight saving (since 1991), so a fixed offset is
exact and eight times cheaper than a zoneinfo lookup on the hot path."""
CLR_TYPE = {"outpatient": "11", "chronic_outpatient": "11", "pharmacy": "41", "inpatient": "21"}
CLR_WAY_BY_ITEM = "01"


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class SettleRequest:
    """A settlement request (2207/2304) or pre-settlement (2206/2303) as the core needs it.
    ``insutype`` empty means the visit's. ``setl_time`` must be timezone-aware."""

    psn_no: str
    mdtrt_id: str
    fixmedins_code: str
    medins_setl_id: str
    medfee_sumamt_fen: int
    setl_time: dt.datetime
    insutype: str = ""
    acct_used_flag: bool = False
    mid_setl_flag: bool = False


def business_date(instant: dt.datetime) -> dt.date:
    """The Asia/Shanghai date of an instant (a 23:30 UTC settlement is the next day)."""
    if instant.tzinfo is None:
        raise ValueError("setl_time must be timezone-aware")
    if instant.utcoffset() == _SHANGHAI_OFFSET:  # already Shanghai time (most fee lines)
        return instant.date()
    return instant.astimezone(SHANGHAI).date()


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class _Adjudicated:
    """A settlement and what it adds to the person's counters, by year."""

    settlement: Settlement
    delta: Mapping[str, int]
    """Added to the settlement year's counters."""
    admission_deductible: int
    """Per-admission deductible charged against the settlement year."""
    earlier_years: tuple[YearDelta, ...]
    """Parts of a cross-year stay split by date that went to earlier years."""


def year_of_lines(lines: tuple[FeeLine, ...], settle_year: int) -> dict[int, tuple[FeeLine, ...]]:
    """Fee lines by the year they were incurred (``split_by_date``). A line without a
    fee date, or dated in or after the settlement year, belongs to the settlement year;
    the result lists years ascending (no lines: the settlement year, empty)."""
    by_year: dict[int, list[FeeLine]] = {settle_year: []} if not lines else {}
    for line in lines:
        fee_date = line.fee_date
        year = settle_year if fee_date is None or fee_date.year >= settle_year else fee_date.year
        by_year.setdefault(year, []).append(line)
    return {year: tuple(by_year[year]) for year in sorted(by_year)}


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class _Split:
    """The combined result of a stay split by date."""

    breakdown: Breakdown
    details: tuple[DetailRow, ...]
    ratio_bp: int
    delta: Mapping[str, int]
    admission_deductible: int
    earlier_years: tuple[YearDelta, ...]
    year_parts: tuple[YearPart, ...]


def _split_by_date(
    state: PersonState,
    request: SettleRequest,
    person: InsuredPerson,
    ref: ReferenceData,
    choice: PolicyChoice,
    visit: VisitState,
    insutype: str,
    category: Category,
    on: dt.date,
    by_year: dict[int, tuple[FeeLine, ...]],
    balance: int,
) -> _Split:
    """Each year's fee lines settled with that year's pack, counters, caps and
    per-admission deductible; the account pays once on the sum (``combine_years``)."""
    insurance = insurance_of(person, insutype)
    site = ref.site(visit.fixmedins_code)
    institution = site.institution
    catalog = site.catalog
    if catalog is None:
        raise NoCatalog(f"no catalog for {institution.admdvs}")
    home = insurance.insuplc_admdvs
    treatment = institution.admdvs
    parts: list[tuple[int, Calculation]] = []
    part_info: list[YearPart] = []
    for year, lines in by_year.items():
        part_choice = choice if year == on.year else ref.policy_for(home, year)
        part_policy = part_choice.policy
        part_terms = part_policy.rule(insutype, insurance.psn_type, category, institution.level)
        part_route = resolve_route(
            part_policy, site.pool, treatment, visit.med_type, state.filings.values(), on
        )
        part_claim = Claim(
            scope=price_lines(lines, catalog),
            policy=part_policy,
            terms=part_terms,
            insutype=insutype,
            category=category,
            cut_bp=part_route.cut_bp,
            poor=person.poor,
            assistance_eligible=person.assistance_eligible,
            admission_deductible_paid=state.admission_deductible_in(visit.mdtrt_id, year),
            use_account=False,
            account_balance=0,
        )
        part_calc = calculate(part_claim, state.accumulators(year))
        parts.append((year, part_calc))
        b = part_calc.breakdown
        part_info.append(
            YearPart(
                year=year,
                policy_version=part_policy.version,
                policy_carried=part_choice.carried,
                medfee_sumamt=b.medfee_sumamt,
                act_pay_dedc=b.act_pay_dedc,
                fund_pay_sumamt=b.fund_pay_sumamt,
            )
        )
    breakdown, details = combine_years(
        parts, choice.policy.account, insutype, category, request.acct_used_flag, balance
    )
    current = dict(parts).get(on.year)
    return _Split(
        breakdown=breakdown,
        details=details,
        ratio_bp=parts[-1][1].ratio_bp,
        delta=current.delta if current is not None else {},
        admission_deductible=current.admission_deductible if current is not None else 0,
        earlier_years=tuple(
            YearDelta(year, calc.delta, calc.admission_deductible)
            for year, calc in parts
            if year != on.year
        ),
        year_parts=tuple(part_info),
    )


def _adjudicate(
    state: PersonState,
    request: SettleRequest,
    person: InsuredPerson,
    ref: ReferenceData,
    setl_id: str,
    pre_settlement: bool = False,
) -> _Adjudicated:
    visit = state.visit(request.mdtrt_id)
    if visit.fixmedins_code != request.fixmedins_code or visit.psn_no != request.psn_no:
        raise VisitUnknown(f"{request.mdtrt_id} at {request.fixmedins_code}")
    if not visit.accepting:
        raise VisitClosed(f"visit {visit.mdtrt_id} is {visit.status}")
    if visit.pending_total() != request.medfee_sumamt_fen:
        raise FeeTotalMismatch(
            f"request {request.medfee_sumamt_fen} fen, uploaded lines {visit.pending_total()} fen"
        )
    insutype = request.insutype or visit.insutype
    insurance = insurance_of(person, insutype)
    site = ref.site(visit.fixmedins_code)
    institution = site.institution
    treatment = institution.admdvs
    on = business_date(request.setl_time)
    home = insurance.insuplc_admdvs
    choice = ref.policy_for(home, on.year)
    policy = choice.policy
    category = category_of(visit.med_type)
    if category == "chronic_outpatient":
        category, terms = chronic_or_ordinary(
            policy, insutype, insurance.psn_type, institution.level, visit.diseases
        )
    else:
        terms = policy.rule(insutype, insurance.psn_type, category, institution.level)
    route = resolve_route(policy, site.pool, treatment, visit.med_type, state.filings.values(), on)
    check_networked(institution, category, route)
    catalog = site.catalog
    if catalog is None:
        raise NoCatalog(f"no catalog for {treatment}")
    split = (
        category == "inpatient"
        and policy.pack.year_rules_or_default.cross_year_stay == "split_by_date"
    )
    balance = max(0, yuan_to_fen(insurance.balc) - state.account_spent_fen)
    by_year = year_of_lines(visit.lines, on.year) if split else {on.year: visit.lines}
    year_parts: tuple[YearPart, ...] = ()
    earlier: tuple[YearDelta, ...] = ()
    if len(by_year) == 1 and on.year in by_year:
        claim = Claim(
            scope=price_lines(visit.lines, catalog),
            policy=policy,
            terms=terms,
            insutype=insutype,
            category=category,
            cut_bp=route.cut_bp,
            poor=person.poor,
            assistance_eligible=person.assistance_eligible,
            admission_deductible_paid=state.admission_deductible_in(visit.mdtrt_id, on.year)
            if split
            else visit.admission_deductible_fen,
            use_account=request.acct_used_flag,
            account_balance=balance,
        )
        calc = calculate(claim, state.accumulators(on.year))
        breakdown, details, ratio_bp = calc.breakdown, calc.details, calc.ratio_bp
        delta, admission_deductible = calc.delta, calc.admission_deductible
    else:
        split_result = _split_by_date(
            state, request, person, ref, choice, visit, insutype, category, on, by_year, balance
        )
        breakdown, details, ratio_bp = (
            split_result.breakdown,
            split_result.details,
            split_result.ratio_bp,
        )
        delta, admission_deductible = split_result.delta, split_result.admission_deductible
        earlier, year_parts = split_result.earlier_years, split_result.year_parts
    settlement = Settlement(
        setl_id=setl_id,
        mdtrt_id=visit.mdtrt_id,
        psn_no=visit.psn_no,
        insutype=insutype,
        psn_type=insurance.psn_type,
        med_type=visit.med_type,
        category=category,
        clr_type=CLR_TYPE[category],
        clr_way=CLR_WAY_BY_ITEM,
        clr_optins=home,
        setl_time=request.setl_time,
        setl_date=on,
        medins_setl_id=request.medins_setl_id,
        fixmedins_code=visit.fixmedins_code,
        insuplc_admdvs=home,
        mdtrtarea_admvs=treatment,
        route=route.basis,
        ratio_bp=ratio_bp,
        policy_version=policy.version,
        catalog_version=catalog.version,
        breakdown=breakdown,
        details=details,
        policy_carried=choice.carried,
        year_parts=year_parts,
        pre_settlement=pre_settlement,
    )
    return _Adjudicated(settlement, delta, admission_deductible, earlier)


def pre_settle(
    state: PersonState, request: SettleRequest, person: InsuredPerson, ref: ReferenceData
) -> Settlement:
    """Pre-settlement (2206/2303): the settlement the request would get; no state change."""
    setl_id = derive_setl_id(request.fixmedins_code, request.medins_setl_id)
    # the flag set as it is built: ``replace`` on the finished settlement cost ~3 µs a quote
    return _adjudicate(state, request, person, ref, setl_id, pre_settlement=True).settlement


def settle(
    state: PersonState, request: SettleRequest, person: InsuredPerson, ref: ReferenceData
) -> tuple[PersonState, Settlement]:
    """Settlement (2207/2304): the settlement and the person's new state."""
    setl_id = derive_setl_id(request.fixmedins_code, request.medins_setl_id)
    if setl_id in state.settlements:
        raise AlreadySettled(setl_id)
    done = _adjudicate(state, request, person, ref, setl_id)
    settlement = done.settlement
    visit = state.visits[request.mdtrt_id]
    year = settlement.setl_date.year
    account_fen = settlement.breakdown.acct_pay
    record = SettledRecord(
        settlement=settlement,
        year=year,
        delta=done.delta,
        account_fen=account_fen,
        admission_deductible_fen=done.admission_deductible,
        lines=visit.lines,
        prior_status=visit.status,
        earlier_years=done.earlier_years,
    )
    years = dict(state.years)
    for part in (*done.earlier_years, YearDelta(year, done.delta, 0)):
        if part.delta:
            years[part.year] = state.accumulators(part.year).plus(part.delta)
    settlements = dict(state.settlements)
    settlements[setl_id] = record
    visits = dict(state.visits)
    visits[visit.mdtrt_id] = mark_settled(
        visit, request.mid_setl_flag, record.admission_deductible_total
    )
    new_state = PersonState(
        visits=visits,
        years=years,
        settlements=settlements,
        account_spent_fen=state.account_spent_fen + account_fen,
        filings=state.filings,
    )
    return new_state, settlement


def reverse(
    state: PersonState, setl_id: str, reversal_time: dt.datetime
) -> tuple[PersonState, Reversal]:
    """Reversal (2208/2305/2601): undo a standing settlement exactly, to the fen.
    Settlements of one visit are undone latest first."""
    record = state.settlements.get(setl_id)
    if record is None:
        raise SettlementUnknown(setl_id)
    if record.reversed:
        raise AlreadyReversed(setl_id)
    mdtrt_id = record.settlement.mdtrt_id
    ids = list(state.settlements)
    for later in ids[ids.index(setl_id) + 1 :]:
        other = state.settlements[later]
        if other.settlement.mdtrt_id == mdtrt_id and not other.reversed:
            raise VisitClosed(f"reverse {later} of visit {mdtrt_id} first")
    years = dict(state.years)
    for year, delta in record.year_deltas().items():
        remaining = state.accumulators(year).minus(delta)
        if remaining.values:
            years[year] = remaining
        else:
            years.pop(year, None)
    settlements = dict(state.settlements)
    settlements[setl_id] = replace(record, reversed=True)
    visit = restore_settled(
        state.visit(mdtrt_id), record.lines, record.prior_status, record.admission_deductible_total
    )
    new_state = replace(
        with_visit(state, visit),
        years=years,
        settlements=settlements,
        account_spent_fen=state.account_spent_fen - record.account_fen,
    )
    reversal = Reversal(
        setl_id=derive_reversal_id(setl_id),
        orig_setl_id=setl_id,
        setl_time=reversal_time,
        setl_date=business_date(reversal_time),
        original=record.settlement,
    )
    return new_state, reversal


def accumulators_of(state: PersonState, year: int) -> Accumulators:
    """The person's counters of ``year`` (for queries and tests)."""
    return state.accumulators(year)
