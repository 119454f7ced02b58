"""Throughput of the pure core, for ``yidi bench adjudication``.

Why baselines in the same run: absolute numbers depend on the machine (a slow
shared VM halves them), so each scenario is also reported as ratios against
(1) catalog pricing alone (the same fee lines, no eligibility, no policy
layers, no state transition) and (2) plain pydantic validation of the
settlement request's JSON, both measured in the same process. Scenarios:
outpatient with 8 fee lines, inpatient with 60; every settlement starts from a
prepared person state, and only ``settle`` is timed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from contracts.reference import InsuredPerson
from contracts.visit import SettlementRequested
from services.adjudication.core import (
    PersonState,
    SettleRequest,
    record_filing,
    register_visit,
    settle,
    upload_fees,
)
from services.adjudication.core.pricing import price_lines
from services.adjudication.core.tables import ReferenceData
from services.testing.builders import filing, line, person, request, visit
from services.testing.sample_events import settlement_request

INSTITUTION = "H31010400001"
TREATMENT = "310104"
OUTPATIENT_ITEMS = (
    "110200001", "250101001", "250302001", "210300001", "XA10BAA", "XC08CAA", "XJ01DDA", "ZA01AAA",
)  # fmt: skip
INPATIENT_ITEMS = (*OUTPATIENT_ITEMS, "120100001", "120400001", "330100001", "C14010001")


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """Medians over runs (settlements, each baseline, ratios) and the best run, which
    shows how much a shared machine's noise cost the median."""

    name: str
    fee_lines: int
    count: int
    runs: int
    settlements_per_s: float
    baseline_per_s: float
    ratio_to_baseline: float
    validation_per_s: float
    ratio_to_validation: float
    per_settlement_us: float
    best_per_s: float


def _cases(
    who: InsuredPerson, med_type: str, n_lines: int, count: int
) -> list[tuple[PersonState, SettleRequest]]:
    items = OUTPATIENT_ITEMS if n_lines <= len(OUTPATIENT_ITEMS) else INPATIENT_ITEMS
    lines = [
        line(str(i), items[i % len(items)], f"{(i * 37) % 900 + 12}.{i % 100:02d}", str(1 + i % 3))
        for i in range(n_lines)
    ]
    total = sum(x.amount_fen for x in lines)
    base = record_filing(PersonState(), filing("referral", "310000", psn_no=who.psn_no))
    cases = []
    for n in range(count):
        mdtrt_id = f"B{n}"
        state = upload_fees(
            register_visit(
                base, visit(mdtrt_id, INSTITUTION, TREATMENT, med_type, psn_no=who.psn_no)
            ),
            mdtrt_id,
            lines,
        )
        req = request(mdtrt_id, INSTITUTION, f"HB{n}", f"{total / 100:.2f}", psn_no=who.psn_no)
        cases.append((state, req))
    return cases


def _rate(fn: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    fn()
    return count / (time.perf_counter() - started)


def run_scenario(
    ref: ReferenceData, name: str, med_type: str, n_lines: int, count: int, runs: int
) -> ScenarioResult:
    """Time ``settle`` over ``count`` prepared cases, ``runs`` times, after one warm-up."""
    who = person("BENCH1")
    cases = _cases(who, med_type, n_lines, count)
    catalog = ref.catalog(TREATMENT)

    def core() -> None:
        for state, req in cases:
            settle(state, req, who, ref)

    def baseline() -> None:
        for state, req in cases:
            price_lines(state.visits[req.mdtrt_id].lines, catalog)

    bodies = [_request_json(who, req) for _, req in cases]

    def validation() -> None:
        for body in bodies:
            SettlementRequested.model_validate_json(body)

    core()
    rates, bases, checks = [], [], []
    for _ in range(runs):
        bases.append(_rate(baseline, count))
        checks.append(_rate(validation, count))
        rates.append(_rate(core, count))
    rate, base, check = (statistics.median(x) for x in (rates, bases, checks))
    return ScenarioResult(
        name, n_lines, count, runs, rate, base, rate / base, check, rate / check, 1e6 / rate,
        max(rates),
    )  # fmt: skip


def _request_json(who: InsuredPerson, req: SettleRequest) -> bytes:
    msg = settlement_request(
        who.psn_no,
        who.insuinfo[0].insuplc_admdvs,
        req.mdtrt_id,
        req.fixmedins_code,
        f"{req.medfee_sumamt_fen / 100:.2f}",
        req.medins_setl_id,
        req.setl_time,
        insutype=str(who.insuinfo[0].insutype),
        inpatient=False,
    )
    return msg.model_dump_json().encode()


def run_bench(ref: ReferenceData, count: int = 5000, runs: int = 7) -> list[ScenarioResult]:
    """Outpatient (8 lines) and inpatient (60 lines)."""
    return [
        run_scenario(ref, "outpatient", "11", 8, count, runs),
        run_scenario(ref, "inpatient", "21", 60, max(1, count // 5), runs),
    ]
