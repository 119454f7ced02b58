"""The core's results: a settlement and its reversal, before they become messages.

Why a core type and not the ``SetlInfo`` contract directly: the hot path stays
in integers and plain dataclasses (fast to build, exact), and the mapping to
the wire contract (Decimal ``16,2`` fields, signs of a reversal) lives in one
small module, ``to_contract``. Every field here is code, id, amount or version;
no personal data beyond ``psn_no``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contracts.policy import Category
from services.adjudication.core.breakdown import Breakdown, DetailRow
from services.adjudication.core.eligibility import RouteBasis


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class YearPart:
    """One year's part of a cross-year stay split by date (fen)."""

    year: int
    policy_version: str
    policy_carried: bool
    medfee_sumamt: int
    act_pay_dedc: int
    fund_pay_sumamt: int


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Settlement:
    """One adjudicated settlement (or pre-settlement: same shape, nothing stored)."""

    setl_id: str
    mdtrt_id: str
    psn_no: str
    insutype: str
    psn_type: str
    med_type: str
    category: Category
    clr_type: str
    clr_way: str
    clr_optins: str
    setl_time: dt.datetime
    setl_date: dt.date
    medins_setl_id: str
    fixmedins_code: str
    insuplc_admdvs: str
    mdtrtarea_admvs: str
    route: RouteBasis
    ratio_bp: int
    policy_version: str
    catalog_version: str
    breakdown: Breakdown
    details: tuple[DetailRow, ...]
    pre_settlement: bool = False
    policy_carried: bool = False
    """The settlement year had no pack: ``policy_version`` is an earlier year's, carried."""
    year_parts: tuple[YearPart, ...] = ()
    """A cross-year stay split by date: one part per year, earliest first (else empty)."""


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Reversal:
    """The exact inverse of ``original``: same amounts, ``refd_setl_flag`` 1."""

    setl_id: str
    orig_setl_id: str
    setl_time: dt.datetime
    setl_date: dt.date
    original: Settlement
