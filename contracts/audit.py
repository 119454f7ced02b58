"""Parameters of the queries on large stays (协查, DOMAIN.md section 6, Arts. 43, 54-59), as
reference data (``deploy/reference/queries.json``): every number has the rule's default and
may be changed without a release."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class QueryRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    source: str = Field(default="DOMAIN.md section 6", alias="_source")
    threshold_yuan: Decimal = Field(
        default=Decimal("30000.00"), gt=0, decimal_places=2,
        description="a single inpatient stay of this medfee_sumamt or more may be queried",
    )  # fmt: skip
    inpatient_clr_types: tuple[str, ...] = Field(default=("21",), min_length=1)
    batch_last_day: int = Field(
        default=25, ge=1, le=28, description="batches run from the day after to this day"
    )
    grace_working_days: int = Field(
        default=10, ge=1, le=60,
        description="unanswered this many working days after the batch's reply date: confirmed",
    )  # fmt: skip
    confirm_working_days: int = Field(
        default=5, ge=1, le=60,
        description="the home side confirms or disputes an answer within this; else negotiated",
    )  # fmt: skip
