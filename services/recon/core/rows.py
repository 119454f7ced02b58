"""One settlement per row, as the detail merge reads each side.

Amounts are as the hospital counts them: positive, with ``refd_setl_flag`` "1" for a
refund. (The ledger stores reversals negated; its adapter turns them back.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from contracts.codes import RefdSetlFlag
from contracts.recon import ReconDetailRow

AMOUNT_FIELDS: tuple[str, ...] = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")


@dataclass(frozen=True, slots=True)
class Amounts:
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal

    def differing(self, other: Amounts) -> list[tuple[str, Decimal, Decimal]]:
        """``(field, mine, other's)`` for each amount that differs (``1.5`` equals ``1.50``)."""
        out = []
        for name in AMOUNT_FIELDS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                out.append((name, mine, theirs))
        return out


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the ledger keeps a ``setl_id`` of the same institution outside the slice asked."""

    setl_date: dt.date
    insutype: str
    clr_type: str


@dataclass(frozen=True, slots=True)
class HospitalRow:
    setl_id: str
    refd_setl_flag: RefdSetlFlag
    amounts: Amounts
    mdtrt_id: str
    psn_no: str
    elsewhere: Placement | None = None

    @classmethod
    def of(cls, row: ReconDetailRow, elsewhere: Placement | None = None) -> HospitalRow:
        amounts = Amounts(row.medfee_sumamt, row.fund_pay_sumamt, row.acct_pay)
        return cls(row.setl_id, row.refd_setl_flag, amounts, row.mdtrt_id, row.psn_no, elsewhere)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    setl_id: str
    refd_setl_flag: RefdSetlFlag
    amounts: Amounts
    mdtrt_id: str
    psn_no: str
    medins_setl_id: str
    setl_date: dt.date
    orig_setl_id: str | None = None
