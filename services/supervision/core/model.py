"""What the rules see: compact records of visits and settlements, in fen and dates.

Why not the contracts themselves: state is kept per person in a changelog
table, so it must be small (no names, certificates or raw messages) and
serializable; the adapter turns each decoded message into one of these.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Admission:
    """A registration (2201) or admission (2401)."""

    person: str
    mdtrt_id: str
    fixmedins_code: str
    mdtrtarea_admvs: str
    med_type: str
    day: dt.date
    diagnoses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Discharge:
    person: str
    mdtrt_id: str
    day: dt.date


@dataclass(frozen=True, slots=True)
class Cancel:
    person: str
    mdtrt_id: str


@dataclass(slots=True)
class Line:
    """One fee line: ``fen`` is its amount, ``day`` the Asia/Shanghai date it was incurred.

    Not frozen, as ``state.LineRec``: one is made for every fee line read, and a frozen
    ``__init__`` sets each field through ``object.__setattr__``; nothing hashes or assigns
    to one."""

    sn: str
    item: str
    cnt: Decimal
    fen: int
    day: dt.date


@dataclass(frozen=True, slots=True)
class Fees:
    person: str
    mdtrt_id: str
    fixmedins_code: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Fee lines withdrawn (2205/2302): the listed ``sns``, or every line when empty."""

    person: str
    mdtrt_id: str
    sns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Claim:
    """A settlement (not a pre-settlement) as the ledger feed carries it."""

    person: str
    setl_id: str
    mdtrt_id: str
    fixmedins_code: str
    mdtrtarea_admvs: str
    med_type: str
    day: dt.date
    medfee_fen: int
    fund_fen: int


@dataclass(frozen=True, slots=True)
class Reversal:
    person: str
    orig_setl_id: str
    day: dt.date


VisitEvent = Admission | Discharge | Cancel | Fees | Withdraw
SettlementEvent = Claim | Reversal


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's verdict on one subject and window, before it gets an id and a version."""

    rule_id: str
    subject: str
    window_start: dt.date
    window_end: dt.date
    setl_ids: tuple[str, ...]
    mdtrt_ids: tuple[str, ...]
    fixmedins_codes: tuple[str, ...]
    fen: int
    detail: str
