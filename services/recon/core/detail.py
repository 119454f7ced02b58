"""3202 (对明细账): the hospital's rows against the ledger's, as a merge of two streams
ordered by ``setl_id``.

Why a merge: a busy hospital reconciles 100,000 rows; walking both sides in key order
needs one row of each in memory, however long the streams. ``DetailMerge.step`` is the
merge one comparison at a time (an asynchronous adapter feeds it from two database
cursors); ``compare_details`` drives it over two iterators. Only unbalanced rows come
out, each with a verdict and a memo naming what differs with both values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from contracts.codes import RefdSetlFlag, StmtRslt
from contracts.recon import ReconDiffCounts, ReconRowResult, ReconVerdict
from services.recon.core.errors import UnorderedStream
from services.recon.core.rows import HospitalRow, LedgerRow
from services.recon.core.text import clip, yuan

REFUND = RefdSetlFlag.REFUND


@dataclass(slots=True)
class DiffTally:
    hosp_rows: int = 0
    ledger_rows: int = 0
    verdicts: Counter[ReconVerdict] = field(default_factory=Counter)

    @property
    def diff_cnt(self) -> int:
        return sum(self.verdicts.values())

    def counts(self) -> ReconDiffCounts:
        v = self.verdicts
        return ReconDiffCounts(
            hosp_row_cnt=self.hosp_rows, ledger_row_cnt=self.ledger_rows,
            missing_in_ledger=v[ReconVerdict.MISSING_IN_LEDGER],
            missing_in_hospital=v[ReconVerdict.MISSING_IN_HOSPITAL],
            amount_mismatch=v[ReconVerdict.AMOUNT_MISMATCH],
            refund_mismatch=v[ReconVerdict.REFUND_MISMATCH],
            visit_mismatch=v[ReconVerdict.VISIT_MISMATCH],
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Step:
    """One comparison: the verdict (``None`` when balanced) and which sides were consumed."""

    verdict: ReconRowResult | None
    take_hospital: bool
    take_ledger: bool


class DetailMerge:
    """The merge's state: the last key taken from each side (to refuse unordered input)
    and the tally. Feed it the current head of each stream; ``None`` means exhausted."""

    def __init__(self) -> None:
        self.tally = DiffTally()
        self._last_hospital: str | None = None
        self._last_ledger: str | None = None

    def step(self, hospital: HospitalRow | None, ledger: LedgerRow | None) -> Step:
        if hospital is None and ledger is None:
            return Step(None, False, False)
        take_h = ledger is None or (hospital is not None and hospital.setl_id <= ledger.setl_id)
        take_l = hospital is None or (ledger is not None and ledger.setl_id <= hospital.setl_id)
        if take_h:
            assert hospital is not None
            self._taken("hospital", hospital.setl_id)
            self.tally.hosp_rows += 1
        if take_l:
            assert ledger is not None
            self._taken("ledger", ledger.setl_id)
            self.tally.ledger_rows += 1
        if take_h and take_l:
            assert hospital is not None and ledger is not None
            verdict = compare_pair(hospital, ledger)
        elif take_h:
            assert hospital is not None
            verdict = hospital_only(hospital)
        else:
            assert ledger is not None
            verdict = ledger_only(ledger)
        if verdict is not None:
            assert verdict.verdict is not None
            self.tally.verdicts[verdict.verdict] += 1
        return Step(verdict, take_h, take_l)

    def _taken(self, side: str, setl_id: str) -> None:
        last = self._last_hospital if side == "hospital" else self._last_ledger
        if last is not None and setl_id <= last:
            raise UnorderedStream(f"{side} rows not strictly increasing by setl_id at {setl_id}")
        if side == "hospital":
            self._last_hospital = setl_id
        else:
            self._last_ledger = setl_id


def compare_details(
    hospital: Iterable[HospitalRow], ledger: Iterable[LedgerRow], merge: DetailMerge | None = None
) -> Iterator[ReconRowResult]:
    """The unbalanced rows in ``setl_id`` order; pass ``merge`` to read its tally afterwards."""
    merge = merge or DetailMerge()
    hs, ls = iter(hospital), iter(ledger)
    h, lrow = next(hs, None), next(ls, None)
    while h is not None or lrow is not None:
        step = merge.step(h, lrow)
        if step.verdict is not None:
            yield step.verdict
        if step.take_hospital:
            h = next(hs, None)
        if step.take_ledger:
            lrow = next(ls, None)


def _result(
    setl_id: str, verdict: ReconVerdict, memo: str, ledger: LedgerRow | None = None
) -> ReconRowResult:
    return ReconRowResult(
        setl_id=setl_id, stmt_rslt=StmtRslt.UNBALANCED, verdict=verdict, memo=clip(memo),
        mdtrt_id=None if ledger is None else ledger.mdtrt_id,
        medins_setl_id=None if ledger is None else ledger.medins_setl_id,
    )  # fmt: skip


def hospital_only(row: HospitalRow) -> ReconRowResult:
    """Missing on our side: the hospital settled (or refunded) what the ledger never saw."""
    if row.refd_setl_flag == REFUND:
        return _result(
            row.setl_id, ReconVerdict.REFUND_MISMATCH,
            "refund not in the ledger: reversed on your side only",
        )  # fmt: skip
    if row.elsewhere is not None:
        p = row.elsewhere
        memo = (
            f"not in this slice: the ledger has it on {p.setl_date.isoformat()}, "
            f"insutype {p.insutype}, clr_type {p.clr_type}"
        )
    else:
        memo = "not in the ledger"
    return _result(row.setl_id, ReconVerdict.MISSING_IN_LEDGER, memo)


def ledger_only(row: LedgerRow) -> ReconRowResult:
    """Missing on the hospital's side; the memo says what it is, so it can be found."""
    a = row.amounts
    what = (
        f"medfee_sumamt {yuan(a.medfee_sumamt)}, fund_pay_sumamt {yuan(a.fund_pay_sumamt)}, "
        f"acct_pay {yuan(a.acct_pay)}"
    )
    day = row.setl_date.isoformat()
    if row.refd_setl_flag == REFUND:
        memo = f"not in your rows: reversal of {row.orig_setl_id} on {day}, reversed on our side only; {what}"
        return _result(row.setl_id, ReconVerdict.REFUND_MISMATCH, memo, row)
    return _result(
        row.setl_id,
        ReconVerdict.MISSING_IN_HOSPITAL,
        f"not in your rows: settled {day}, {what}",
        row,
    )


def compare_pair(hospital: HospitalRow, ledger: LedgerRow) -> ReconRowResult | None:
    """Both sides have the ``setl_id``: a refund flag, the visit, then the amounts. The verdict
    is the first that differs in that order; the memo lists every difference."""
    verdict: ReconVerdict | None = None
    notes: list[str] = []
    if hospital.refd_setl_flag != ledger.refd_setl_flag:
        verdict = ReconVerdict.REFUND_MISMATCH
        side = "your" if hospital.refd_setl_flag == REFUND else "our"
        notes.append(
            f"refd_setl_flag yours {hospital.refd_setl_flag}, ledger {ledger.refd_setl_flag}: "
            f"reversed on {side} side only"
        )
    if hospital.mdtrt_id != ledger.mdtrt_id or hospital.psn_no != ledger.psn_no:
        verdict = verdict or ReconVerdict.VISIT_MISMATCH
        if hospital.mdtrt_id != ledger.mdtrt_id:
            notes.append(f"mdtrt_id yours {hospital.mdtrt_id}, ledger {ledger.mdtrt_id}")
        if hospital.psn_no != ledger.psn_no:
            notes.append("psn_no differs")
    amounts = hospital.amounts.differing(ledger.amounts)
    if amounts:
        verdict = verdict or ReconVerdict.AMOUNT_MISMATCH
        shown = "; ".join(f"{name} {yuan(mine)}/{yuan(theirs)}" for name, mine, theirs in amounts)
        notes.append(f"amounts differ (yours/ledger): {shown}")
    if verdict is None:
        return None
    return _result(hospital.setl_id, verdict, "; ".join(notes), ledger)
