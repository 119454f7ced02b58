"""A visit's lifecycle (register, fees, discharge, settle, reverse, cancel) as pure
transitions over an immutable ``VisitState``.

Why pure: the stream processor keeps one person's open visits in a table and
replays them after a crash; a transition that returns a new state (and raises
a typed ``Rejection`` otherwise) is trivially replayable and testable. Pending
fee lines are those not yet settled; a mid-stay settlement (中途结算) consumes
them and leaves the visit open, a final settlement closes it, and a reversal
puts the settled lines back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Literal

from services.adjudication.core.errors import FeeLineConflict, VisitClosed
from services.adjudication.core.pricing import FeeLine

VisitStatus = Literal["open", "discharged", "settled", "cancelled"]
_AMOUNT = attrgetter("amount_fen")
_SN = attrgetter("feedetl_sn")


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class VisitState:
    """One registered visit (2201/2401) and what has happened to it since."""

    mdtrt_id: str
    psn_no: str
    insuplc_admdvs: str
    fixmedins_code: str
    mdtrtarea_admvs: str
    med_type: str
    insutype: str
    begndate: dt.date
    diseases: tuple[str, ...] = ()
    status: VisitStatus = "open"
    lines: tuple[FeeLine, ...] = ()
    admission_deductible_fen: int = 0

    @property
    def accepting(self) -> bool:
        """Open or discharged visits still take fees and settlements."""
        return self.status in ("open", "discharged")

    def pending_total(self) -> int:
        """Sum of unsettled fee lines, fen (``map`` over an ``attrgetter``: no generator frame
        per line, about half the cost of the generator expression; ints, so the same sum)."""
        return sum(map(_AMOUNT, self.lines))


def _require_accepting(visit: VisitState) -> None:
    if not visit.accepting:
        raise VisitClosed(f"visit {visit.mdtrt_id} is {visit.status}")


def add_fees(visit: VisitState, lines: Iterable[FeeLine]) -> VisitState:
    """Upload (2204/2301). Re-sending an identical line is a no-op; the same line
    number with different content is a conflict."""
    _require_accepting(visit)
    if type(lines) is tuple:
        # nearly every upload: new line numbers, unique among themselves and the visit's
        # (``test_add_fees.py``): the dict below would keep every line in order
        new = set(map(_SN, lines))
        if len(new) == len(lines):
            earlier = visit.lines
            old = set(map(_SN, earlier))
            if len(old) == len(earlier) and old.isdisjoint(new):
                return with_lines(visit, earlier + lines)
    by_sn = {line.feedetl_sn: line for line in visit.lines}
    for line in lines:
        known = by_sn.get(line.feedetl_sn)
        if known is not None and known != line:
            raise FeeLineConflict(f"line {line.feedetl_sn} of visit {visit.mdtrt_id} differs")
        by_sn[line.feedetl_sn] = line
    return with_lines(visit, tuple(by_sn.values()))


def with_lines(visit: VisitState, lines: tuple[FeeLine, ...]) -> VisitState:
    """``replace(visit, lines=lines)`` field by field (every fee upload passes here, and
    ``dataclasses.replace`` costs several times as much); the hot-path test
    (``tests/unit/adjudication/test_hot_path_exact.py``) fails if a field is added."""
    return VisitState(
        visit.mdtrt_id,
        visit.psn_no,
        visit.insuplc_admdvs,
        visit.fixmedins_code,
        visit.mdtrtarea_admvs,
        visit.med_type,
        visit.insutype,
        visit.begndate,
        visit.diseases,
        visit.status,
        lines,
        visit.admission_deductible_fen,
    )


def withdraw_fees(visit: VisitState, feedetl_sns: Iterable[str] | None) -> VisitState:
    """Cancel uploaded lines (2205/2302): the listed ones, or all when ``None``."""
    _require_accepting(visit)
    if feedetl_sns is None:
        return replace(visit, lines=())
    wanted = set(feedetl_sns)
    known = {line.feedetl_sn for line in visit.lines}
    missing = wanted - known
    if missing:
        raise FeeLineConflict(f"{len(missing)} unknown line(s) in withdrawal for {visit.mdtrt_id}")
    return replace(
        visit, lines=tuple(line for line in visit.lines if line.feedetl_sn not in wanted)
    )


def discharge(visit: VisitState) -> VisitState:
    """Discharge (2402): the stay ends, settlement may follow. ``replace(visit,
    status="discharged")`` field by field, as ``with_lines``."""
    _require_accepting(visit)
    return VisitState(
        visit.mdtrt_id, visit.psn_no, visit.insuplc_admdvs, visit.fixmedins_code,
        visit.mdtrtarea_admvs, visit.med_type, visit.insutype, visit.begndate, visit.diseases,
        "discharged", visit.lines, visit.admission_deductible_fen,
    )  # fmt: skip


def cancel(visit: VisitState) -> VisitState:
    """Cancel registration or admission (2202/2404); the person layer checks that no
    settlement of this visit is still standing."""
    _require_accepting(visit)
    return replace(visit, status="cancelled", lines=())


def mark_settled(
    visit: VisitState, mid_settlement: bool, admission_deductible_fen: int
) -> VisitState:
    """After a settlement: pending lines consumed; a final settlement closes the visit."""
    _require_accepting(visit)
    return VisitState(
        mdtrt_id=visit.mdtrt_id,
        psn_no=visit.psn_no,
        insuplc_admdvs=visit.insuplc_admdvs,
        fixmedins_code=visit.fixmedins_code,
        mdtrtarea_admvs=visit.mdtrtarea_admvs,
        med_type=visit.med_type,
        insutype=visit.insutype,
        begndate=visit.begndate,
        diseases=visit.diseases,
        status=visit.status if mid_settlement else "settled",
        lines=(),
        admission_deductible_fen=visit.admission_deductible_fen + admission_deductible_fen,
    )


def restore_settled(
    visit: VisitState,
    lines: tuple[FeeLine, ...],
    prior_status: VisitStatus,
    admission_deductible_fen: int,
) -> VisitState:
    """After a reversal: the settled lines are pending again, status as before settling."""
    by_sn = {line.feedetl_sn: line for line in lines}
    for line in visit.lines:
        by_sn.setdefault(line.feedetl_sn, line)
    return replace(
        visit,
        status=prior_status,
        lines=tuple(by_sn.values()),
        admission_deductible_fen=visit.admission_deductible_fen - admission_deductible_fen,
    )
