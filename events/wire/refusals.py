"""A pydantic refusal as the codec's typed error (``DecodeError``): a stable code, the field's
path, and no value of a personal field. Split from ``codec.py`` (its size bound)."""

from __future__ import annotations

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contracts.common import PLAUSIBLE_DATETIME, TIME_BOUNDS
from contracts.money import MONEY_PATTERN, SIGNED_MONEY_PATTERN
from contracts.visit import QUANTITY_PATTERN
from events.wire.errors import DecodeError, InvalidMessage, MalformedMessage

_PERSONAL = frozenset({"certno", "mdtrt_cert_no"})
_JSON_ERRORS = frozenset({"json_invalid", "json_type"})
_TYPE_ERRORS = frozenset(
    {"string_type", "int_type", "int_parsing", "bool_type", "bool_parsing", "list_type",
     "tuple_type", "dict_type", "model_type", "decimal_type", "datetime_type",
     "date_type", "float_type", "decimal_parsing", "datetime_parsing", "date_parsing",
     "date_from_datetime_parsing", "datetime_from_date_parsing", "model_attributes_type"}
)  # fmt: skip
_AMOUNT_ERRORS = frozenset(
    {"decimal_max_places", "decimal_max_digits", "decimal_whole_digits", "greater_than_equal",
     "greater_than", "less_than_equal"}
)  # fmt: skip
_AMOUNT_PATTERNS = frozenset({MONEY_PATTERN, SIGNED_MONEY_PATTERN, QUANTITY_PATTERN})
_TIME_BOUND_ERRORS = frozenset({"greater_than_equal", "less_than"})
_BOUND_ERRORS = frozenset({"too_long", "too_short", "string_too_long", "string_too_short"})


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _plausible_error(exc: ValidationError, loc: tuple[int | str, ...]) -> ErrorDetails:
    """An ``AwareDatetime`` refused by its native bounds: the error ``PLAUSIBLE_DATETIME``
    (the schema before the bounds were native) gives for the same JSON value, at ``loc``
    (the same refusal, and the same reason when the value is also naive or unrepresentable)."""
    value = exc.errors(include_url=False)[0]["input"]
    try:
        PLAUSIBLE_DATETIME.validate_json(orjson.dumps(value))
    except ValidationError as old:
        first = old.errors(include_url=False, include_input=False)[0]
        return {**first, "loc": loc + first["loc"]}
    raise AssertionError(f"{_field_path(loc)}: refused by the bounds, not by plausible")


def translate(exc: ValidationError) -> DecodeError:
    """The first error of a pydantic failure as a stable code, without values of personal fields."""
    err = exc.errors(include_url=False, include_input=False)[0]
    if err["type"] in _TIME_BOUND_ERRORS and err.get("ctx") in TIME_BOUNDS:
        err = _plausible_error(exc, err["loc"])
    kind, field = err["type"], _field_path(err["loc"])
    msg = err["msg"]
    if kind in _JSON_ERRORS:
        return MalformedMessage(f"not valid JSON: {msg}", field or None)
    if kind == "missing":
        return InvalidMessage(f"missing field {field}", field, code="E_MISSING_FIELD")
    if kind == "extra_forbidden":
        return InvalidMessage(f"unknown field {field}", field, code="E_EXTRA_FIELD")
    if kind == "enum":
        return InvalidMessage(f"unknown code in {field}: {msg}", field, code="E_UNKNOWN_CODE")
    if kind in _TYPE_ERRORS:
        return InvalidMessage(f"wrong type for {field}: {msg}", field, code="E_TYPE")
    if kind in _AMOUNT_ERRORS:
        return InvalidMessage(f"bad amount in {field}: {msg}", field, code="E_AMOUNT")
    if kind in _BOUND_ERRORS:
        return InvalidMessage(f"size out of bounds for {field}: {msg}", field, code="E_BOUNDS")
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") in _AMOUNT_PATTERNS:
        return InvalidMessage(
            f"bad amount in {field}: at most 16 digits, 2 places, not negative",
            field,
            code="E_AMOUNT",
        )
    if kind == "string_pattern_mismatch":
        shown = "" if field.rsplit(".", 1)[-1] in _PERSONAL else f": {msg}"
        return InvalidMessage(f"bad format for {field}{shown}", field, code="E_FORMAT")
    if kind == "rule_violation":
        ctx = err.get("ctx") or {}
        return InvalidMessage(
            str(ctx.get("message", msg)), str(ctx.get("field")) or None, code="E_RULE"
        )
    if kind in ("timezone_aware", "timezone_naive"):
        return InvalidMessage(f"{field}: time must carry its UTC offset", field, code="E_RULE")
    if kind in ("value_error", "assertion_error"):
        return InvalidMessage(msg.removeprefix("Value error, "), field or None, code="E_RULE")
    return InvalidMessage(f"{field}: {msg}", field or None)
