"""Money on the wire: yuan as a decimal string with exactly two places ("123.40").

Why strings: JSON numbers invite float parsing on the other side; a string
with a fixed scale is exact and canonical (the same amount always gives the
same bytes, which signatures and replay hashes depend on). The national
interface's ``16,2``: at most 16 digits, 2 after the point. Inside the
adjudicator amounts are integer fen; conversion is exact both ways.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import GetPydanticSchema
from pydantic_core import core_schema

CENT = Decimal("0.01")
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$"
SIGNED_MONEY_PATTERN = r"^-?(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$"


def _to_wire(value: Decimal) -> str:
    """Two places, or as many as needed beyond that (quantities), never trailing zeros past two."""
    cents = value.quantize(CENT)
    return format(cents if cents == value else value.normalize(), "f")


def _serialize(value: Decimal, info: core_schema.SerializationInfo) -> Decimal | str:
    if info.mode_is_json():
        return _to_wire(value)
    return value


def decimal_string_schema(pattern: str) -> core_schema.CoreSchema:
    """JSON: a string matched natively against ``pattern``, then one ``Decimal(str)``
    (three times cheaper than pydantic's Decimal constraints). Python: a Decimal or
    int is formatted and checked the same way, so both paths accept the same values."""
    from_str = core_schema.no_info_after_validator_function(
        Decimal, core_schema.str_schema(pattern=pattern)
    )
    from_python = core_schema.no_info_before_validator_function(
        lambda v: format(v, "f") if isinstance(v, (Decimal, int)) else v, from_str
    )
    return core_schema.json_or_python_schema(
        json_schema=from_str,
        python_schema=from_python,
        serialization=core_schema.plain_serializer_function_ser_schema(_serialize, info_arg=True),
    )


if TYPE_CHECKING:
    Money = Decimal
    SignedMoney = Decimal
else:
    Money = Annotated[
        Decimal, GetPydanticSchema(lambda _t, _h: decimal_string_schema(MONEY_PATTERN))
    ]
    """A non-negative amount in yuan (16,2), on the wire a JSON string such as "123.40"."""

    SignedMoney = Annotated[
        Decimal, GetPydanticSchema(lambda _t, _h: decimal_string_schema(SIGNED_MONEY_PATTERN))
    ]
    """An amount that may be negative: only in reversals (撤销 / 冲正)."""


def round_half_up(value: Decimal) -> Decimal:
    """Round to 0.01 yuan, half away from zero (the documented rounding everywhere)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_fen(value: Decimal) -> int:
    """Exact yuan -> fen; refuses sub-fen amounts instead of rounding silently.

    ``value`` is ``numerator / denominator`` in lowest terms: a whole number of fen exactly
    when the denominator divides 100 (one C call instead of three Decimal operations; every
    fee line converts two amounts)."""
    numerator, denominator = value.as_integer_ratio()
    if 100 % denominator:
        raise ValueError(f"{value} has more than two decimal places")
    return numerator * (100 // denominator)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)
