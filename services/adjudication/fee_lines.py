"""A fee upload's lines read straight into the core's lines, or left to the contract.

Why (issue 21): a 12-line fee upload (30 % of the adjudicator's records) spent ~20 µs in
pydantic building 12 ``FeeLine`` contract models (patterns, three ``Decimal``s and an aware
datetime a line) and ~12 µs more turning them into the core's lines (a dataclass, two
``to_fen`` and a date a line), ~2.5x the cost of the other message types. The core needs
five values a line; nothing on the adjudicator's path reads the contract lines themselves.

How it stays exact: ``prepare`` only ever *accepts* or *defers*. It accepts a body only when
every check the contract makes holds, with values derived from the contract's own
constraints (patterns and lengths read from ``FeesUploaded`` and ``FeeLine`` at import), and
a narrower time format than pydantic's (``YYYY-MM-DDTHH:MM:SS[.ffffff]+08:00``, a local year
1901..2198, which no offset can take out of ``AwareDatetime``'s range). Anything else (another
offset, a fraction of seven digits, a type, a key, a rule it does not settle) returns ``None``
and the codec validates the body with the contract as before, so every refusal keeps its
code, field and text. The header fields are validated by pydantic (``PreparedFees`` is
``VisitMessage`` with the same ``infnos``); only the lines are read here.

Per line the checks are lookups: each distinct ``(cnt, pric, det_item_fee_sumamt)``, time
and item code is checked (and converted) once and remembered (``_Memo``, bounded); only the
line numbers, unique per line, go through one regular expression for the whole upload.
``tests/unit/adjudication/test_fee_lines.py`` holds ``prepare`` to the contract over the
simulator's corpus, the decoder's bad-input corpus, the engine fuzz cases and hypothesis
bodies: the same acceptances with the same values, the same refusals.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import Annotated, Any

from annotated_types import MaxLen, MinLen
from pydantic import Field, PlainValidator, StringConstraints, ValidationError

from contracts.common import Contract
from contracts.money import CENT, to_fen
from contracts.visit import FeeLine as ContractLine
from contracts.visit import FeesUploaded, VisitMessage
from services.adjudication.core.pricing import FeeLine

FIELDS = ("cnt", "det_item_fee_sumamt", "fee_ocur_time", "feedetl_sn", "med_list_codg", "pric")
"""A line's keys, in the order ``_ROW`` reads them (the test compares them with the contract)."""
_ROW = itemgetter(*FIELDS)
_BOUNDS = {type(rule): rule for rule in FeesUploaded.model_fields["feedetail"].metadata}
_MIN_LINES = _BOUNDS[MinLen].min_length
_MAX_LINES = _BOUNDS[MaxLen].max_length
"""How many lines an upload has: the contract's own bounds."""
_MEMO_LIMIT = 4096
"""Entries each memo keeps before it starts afresh (a sender choosing every value unique
only makes the lookups miss; memory stays bounded)."""


def _bounds(field: str) -> tuple[int, int]:
    """The tightest ``(min_length, max_length)`` the contract puts on a ``FeeLine`` field."""
    low, high = 0, 1 << 30
    for rule in ContractLine.model_fields[field].metadata:
        if isinstance(rule, (MinLen, StringConstraints)) and rule.min_length is not None:
            low = max(low, rule.min_length)
        if isinstance(rule, (MaxLen, StringConstraints)) and rule.max_length is not None:
            high = min(high, rule.max_length)
    return low, high


def _pattern(field: str) -> str:
    """A ``FeeLine`` field's pattern, without its anchors (``fullmatch`` anchors it)."""
    for rule in ContractLine.model_fields[field].metadata:
        if isinstance(rule, StringConstraints) and rule.pattern is not None:
            return str(rule.pattern).removeprefix("^").removesuffix("$")
    schema = ContractLine.model_fields[field].metadata[0].get_pydantic_core_schema(None, None)
    return str(schema["json_schema"]["schema"]["pattern"]).removeprefix("^").removesuffix("$")


def _code_re(field: str) -> str:
    """A ``Code`` field's pattern (one character class, repeated) with its lengths."""
    low, high = _bounds(field)
    if not _pattern(field).endswith("]+"):
        raise TypeError(f"FeeLine.{field}: the fast path reads a code as [class]+")
    return f"(?:{_pattern(field).removesuffix('+')}){{{max(low, 1)},{high}}}"


_QUANTITY = re.compile(_pattern("cnt"))
_MONEY = re.compile(_pattern("pric"))
_AMOUNT = re.compile(_pattern("det_item_fee_sumamt"))
_ITEM = re.compile(_code_re("med_list_codg"))
_LINE_NO = _code_re("feedetl_sn")
_LINE_NOS = re.compile(f"(?:{_LINE_NO}\x1f)*{_LINE_NO}")
"""Every line number of an upload joined by ``\\x1f`` (no pattern admits it), checked at once."""
_CLOCK = re.compile(r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?\+08:00")
"""The time of day after a date: the form every yidi sender writes (Asia/Shanghai)."""
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _read(raw: Any) -> tuple[FeeLine, ...]:
    """``feedetail`` as the core's lines (pydantic calls it with the parsed array), or a
    ``ValueError``: not for sure what the contract accepts, so ``prepare`` defers."""
    if type(raw) is not list or not _MIN_LINES <= len(raw) <= _MAX_LINES:
        raise ValueError("left to the contract")
    try:
        lines = _lines(raw)
    except (TypeError, KeyError, ArithmeticError):  # a value of another type, a missing key
        lines = None
    if lines is None:
        raise ValueError("left to the contract")
    return lines


class PreparedFees(VisitMessage):
    """A fee upload whose header pydantic validated and whose lines ``_read`` read.

    The same ``ce_type`` and ``infnos`` as ``FeesUploaded`` and the same header fields;
    ``feedetail`` holds the core's lines, equal to what ``command_for`` makes of the
    contract's (its bounds are the contract's, read from ``FeesUploaded``). Why a field
    and not a private attribute: pydantic initialises a model's private attributes in
    Python on every validation (~1 µs a message here)."""

    ce_type = FeesUploaded.ce_type
    infnos = FeesUploaded.infnos

    feedetail: Annotated[tuple[FeeLine, ...], PlainValidator(_read)] = Field(repr=False)


_HEADER = PreparedFees.__pydantic_validator__


class _Memo:
    """Each distinct value's check and conversion, once (see the module's docstring)."""

    def __init__(self) -> None:
        self.amounts: dict[tuple[str, str, str], tuple[Decimal, int, int]] = {}
        """``(cnt, pric, det_item_fee_sumamt)`` -> ``(quantity, price fen, amount fen)``:
        only consistent triples (a line's three numbers repeat with its item)."""
        self.times: dict[str, dt.date] = {}
        """``fee_ocur_time`` in the narrow form -> its Asia/Shanghai date."""
        self.items: set[str] = set()

    def trim(self) -> None:
        for memo in (self.amounts, self.times, self.items):
            if len(memo) > _MEMO_LIMIT:
                memo.clear()

    def new_amounts(self, cnt: str, pric: str, sumamt: str) -> tuple[Decimal, int, int] | None:
        """The contract's three patterns, a positive quantity, and ``det_item_fee_sumamt`` =
        ``cnt × pric`` half-up to the fen, as its model validator computes it (at most 12
        and 16 digits: the product is exact in the default context)."""
        if type(cnt) is not str or type(pric) is not str or type(sumamt) is not str:
            return None
        if _QUANTITY.fullmatch(cnt) is None or _MONEY.fullmatch(pric) is None:
            return None
        if _AMOUNT.fullmatch(sumamt) is None:
            return None
        quantity, price, amount = Decimal(cnt), Decimal(pric), Decimal(sumamt)
        if quantity <= 0 or (quantity * price).quantize(CENT, ROUND_HALF_UP) != amount:
            return None
        found = self.amounts[(cnt, pric, sumamt)] = (quantity, to_fen(price), to_fen(amount))
        return found

    def new_time(self, text: str) -> dt.date | None:
        """The date of a time in the narrow form (local years 1901..2198 only)."""
        if type(text) is not str or _CLOCK.fullmatch(text[10:]) is None:
            return None
        day = text[:10]
        if _DATE.fullmatch(day) is None:
            return None
        try:
            value = dt.date.fromisoformat(day)
        except ValueError:
            return None
        if not 1900 < value.year < 2199:
            return None
        self.times[text] = value
        return value

    def new_item(self, text: str) -> bool:
        if type(text) is not str or _ITEM.fullmatch(text) is None:
            return False
        self.items.add(text)
        return True


_MEMO = _Memo()


def prepare(model: type[Contract], doc: Any) -> Contract | None:
    """``doc`` (the body as ``read_json`` parsed it) as a ``PreparedFees`` when ``model`` is
    ``FeesUploaded`` and the contract accepts it for sure; ``None``: validate as usual.

    The header is validated in Python mode from the parsed body: the same schema reads a
    JSON string the same way in both modes; ``inf_time`` is the one header field whose
    Python mode also takes numbers and booleans, so a body whose ``inf_time`` is not a
    string is left to the contract (a precaution: no value was found that the two modes
    read differently, ``test_fee_lines.py``)."""
    if model is not FeesUploaded or type(doc) is not dict or type(doc.get("inf_time")) is not str:
        return None
    try:
        message: PreparedFees = _HEADER.validate_python(doc)
    except ValidationError:
        return None
    return message


def _lines(raw: list[Any]) -> tuple[FeeLine, ...] | None:
    if set(map(type, raw)) != {dict} or set(map(len, raw)) != {len(FIELDS)}:
        return None
    rows = list(map(_ROW, raw))
    memo = _MEMO
    memo.trim()
    amounts, times, items = memo.amounts, memo.times, memo.items
    out = []
    for cnt, sumamt, time, line_no, item, pric in rows:
        values = amounts.get((cnt, pric, sumamt)) or memo.new_amounts(cnt, pric, sumamt)
        day = times.get(time) or memo.new_time(time)
        if values is None or day is None or not (item in items or memo.new_item(item)):
            return None
        out.append(FeeLine(line_no, item, values[0], values[1], values[2], day))
    line_nos = [row[3] for row in rows]
    if _LINE_NOS.fullmatch("\x1f".join(line_nos)) is None or len(set(line_nos)) != len(rows):
        return None
    return tuple(out)
