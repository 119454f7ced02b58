"""Reference data the adjudicator reads but never writes: catalogs, institutions,
insured persons (1101) and the filing state a person currently has.

Why here and not in the core: these are file and message shapes shared by the
registration processor, the offline runner and the loaders; the core turns
them into integer-fen lookup tables once. Personal data (``certno``) is kept
out of ``repr`` so it never reaches a log line or an exception by accident.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.codes import Insutype
from contracts.common import Admdvs, CertNo, FixmedinsCode, PsnNo
from contracts.policy import Category, FilingKind, Pct, Sourced, Yuan


class RefModel(BaseModel):
    """Frozen and strict about unknown keys, like the policy packs."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class CatalogItem(RefModel):
    """One national item code in a treatment region's catalog (就医地目录).

    ``preselfpay_pct`` is the class-B self-pay-first share (乙类先自付);
    ``price_limit_yuan`` moves the part of the unit price above it to
    ``overlmt_selfpay``.
    """

    cls: Literal["A", "B", "C"]
    preselfpay_pct: Pct = Decimal(0)
    price_limit_yuan: Yuan | None = None
    name: str = ""

    @model_validator(mode="after")
    def _share_only_for_b(self) -> CatalogItem:
        if self.cls != "B" and self.preselfpay_pct != 0:
            raise ValueError("only class-B items have a self-pay-first share")
        return self


class Catalog(Sourced):
    """A treatment region's catalog. ``unknown_item`` is the region's rule for codes
    it does not list: settle them as fully self-paid, or reject the request."""

    admdvs: Admdvs
    name: str
    unknown_item: Literal["self_pay", "reject"]
    items: dict[str, CatalogItem]


class Institution(RefModel):
    """A designated institution (定点医药机构) and what it is networked for."""

    fixmedins_code: FixmedinsCode
    name: str
    admdvs: Admdvs
    level: Literal[0, 1, 2, 3]
    kind: Literal["hospital", "pharmacy"]
    networked: tuple[Category, ...]


class Institutions(Sourced):
    """The institutions file: one list, every treatment region."""

    institutions: tuple[Institution, ...]


class Insurance(RefModel):
    """One ``insuinfo`` row of 1101: an insutype the person holds, where, and its state."""

    insutype: Insutype
    psn_type: str = Field(min_length=1)
    insuplc_admdvs: Admdvs
    status: Literal["active", "suspended"]
    balc: Yuan = Decimal(0)


class InsuredPerson(RefModel):
    """A person as the home region reports them (1101). ``certno`` is personal data:
    excluded from ``repr`` and never copied into messages other than settlement fields."""

    psn_no: PsnNo
    psn_cert_type: str = Field(default="01", max_length=6)
    certno: CertNo | None = Field(default=None, repr=False)
    insuinfo: tuple[Insurance, ...] = Field(min_length=1)
    poor: bool = False
    assistance_eligible: bool = False

    def insurance(self, insutype: str) -> Insurance | None:
        """The row for ``insutype``, or None when the person does not hold it."""
        for row in self.insuinfo:
            if row.insutype == insutype:
                return row
        return None


class FilingState(RefModel):
    """A filing (备案) as the adjudicator needs it: the kind, where it allows treatment
    (a region; a city code ``xxxx00`` covers its districts, a province code
    ``xx0000`` the whole province), and the dates (Asia/Shanghai business dates).
    Long-term filings have no end date."""

    filing_id: str = Field(min_length=1, max_length=64)
    psn_no: PsnNo
    insuplc_admdvs: Admdvs
    kind: FilingKind
    mdtrtarea_admvs: Admdvs
    begndate: dt.date
    enddate: dt.date | None = None
    revoked_on: dt.date | None = None

    def covers(self, treatment_admdvs: str, on: dt.date) -> bool:
        """True when this filing allows treatment in ``treatment_admdvs`` on ``on``
        (a revocation takes effect on its date)."""
        if on < self.begndate or (self.enddate is not None and on > self.enddate):
            return False
        if self.revoked_on is not None and on >= self.revoked_on:
            return False
        target = self.mdtrtarea_admvs
        if target.endswith("0000"):
            return treatment_admdvs[:2] == target[:2]
        if target.endswith("00"):
            return treatment_admdvs[:4] == target[:4]
        return treatment_admdvs == target
