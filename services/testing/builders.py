"""Small constructors for persons, filings, visits and requests.

Why in the package and not in tests: the unit tests, the property tests and
the bench all build the same shapes, and a reader of a hand-computed case
should see yuan and dates, not fen conversions. Nothing here is used on the
production path.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from contracts.policy import FilingKind
from contracts.reference import FilingState, Insurance, InsuredPerson
from services.adjudication.core.adjudicator import SHANGHAI, SettleRequest
from services.adjudication.core.money import mul_qty, yuan_to_fen
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.visit import VisitState


def person(
    psn_no: str = "P0001",
    *,
    home: str = "330900",
    insutype: str = "390",
    psn_type: str = "15",
    status: str = "active",
    balc: str = "0",
    poor: bool = False,
    assistance: bool = False,
) -> InsuredPerson:
    """A synthetic insured person (the certno is a fixed placeholder, never real)."""
    return InsuredPerson.model_validate(
        {
            "psn_no": psn_no,
            "certno": "000000000000000000",
            "insuinfo": [
                Insurance.model_validate(
                    {
                        "insutype": insutype,
                        "psn_type": psn_type,
                        "insuplc_admdvs": home,
                        "status": status,
                        "balc": balc,
                    }
                )
            ],
            "poor": poor,
            "assistance_eligible": assistance,
        }
    )


def filing(
    kind: FilingKind,
    target: str,
    *,
    psn_no: str = "P0001",
    home: str = "330900",
    begin: dt.date = dt.date(2026, 1, 1),
    end: dt.date | None = None,
    filing_id: str | None = None,
) -> FilingState:
    """A filing valid from ``begin`` (temporary ones for six months unless ``end``)."""
    if end is None and kind != "long_term":
        end = begin + dt.timedelta(days=183)
    return FilingState(
        filing_id=filing_id or f"F-{psn_no}-{kind}-{target}",
        psn_no=psn_no,
        insuplc_admdvs=home,
        kind=kind,
        mdtrtarea_admvs=target,
        begndate=begin,
        enddate=end,
    )


def line(sn: str, item_code: str, price_yuan: str, qty: str = "1") -> FeeLine:
    """A fee line; the amount is ``price × qty`` half-up to the fen."""
    price = yuan_to_fen(Decimal(price_yuan))
    quantity = Decimal(qty)
    return FeeLine(sn, item_code, quantity, price, mul_qty(price, quantity))


def visit(
    mdtrt_id: str,
    fixmedins_code: str,
    mdtrtarea_admvs: str,
    med_type: str,
    *,
    psn_no: str = "P0001",
    home: str = "330900",
    insutype: str = "390",
    diseases: tuple[str, ...] = (),
    begndate: dt.date = dt.date(2026, 3, 1),
) -> VisitState:
    """A freshly registered visit."""
    return VisitState(
        mdtrt_id=mdtrt_id,
        psn_no=psn_no,
        insuplc_admdvs=home,
        fixmedins_code=fixmedins_code,
        mdtrtarea_admvs=mdtrtarea_admvs,
        med_type=med_type,
        insutype=insutype,
        begndate=begndate,
        diseases=diseases,
    )


def request(
    mdtrt_id: str,
    fixmedins_code: str,
    medins_setl_id: str,
    total_yuan: str,
    *,
    psn_no: str = "P0001",
    at: dt.datetime | None = None,
    acct: bool = False,
    mid: bool = False,
) -> SettleRequest:
    """A settlement request at ``at`` (default 2026-03-05 10:00 Asia/Shanghai)."""
    return SettleRequest(
        psn_no=psn_no,
        mdtrt_id=mdtrt_id,
        fixmedins_code=fixmedins_code,
        medins_setl_id=medins_setl_id,
        medfee_sumamt_fen=yuan_to_fen(Decimal(total_yuan)),
        setl_time=at or dt.datetime(2026, 3, 5, 10, 0, tzinfo=SHANGHAI),
        acct_used_flag=acct,
        mid_setl_flag=mid,
    )
