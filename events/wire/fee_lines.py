"""A fee upload's lines read straight from its JSON into a processor's own lines, or left to
the contract.

Why (issue 21, then issue 19): a 12-line fee upload spent ~20 µs in pydantic building 12
``FeeLine`` contract models (patterns, three ``Decimal``s and an aware datetime a line) and
~12 µs more turning them into a processor's core lines (a dataclass, ``to_fen`` and a date a
line). The adjudicator and the supervision worker each need five or six values a line, and
neither reads the contract lines themselves. Why here, in the wire layer: both processors
read fee uploads this way and a processor may not import another (docs/architecture.md);
this module knows only the contract and hands each line's values to the processor's own
constructor (``LineReader(make)``), so neither processor's core comes down here.

How it stays exact: a reading only ever *accepts* or *defers*. It accepts a body only when
every check the contract makes holds, with values derived from the contract's own
constraints (patterns and lengths read from ``FeesUploaded`` and ``FeeLine`` at import), and
a narrower time format than pydantic's (``YYYY-MM-DDTHH:MM:SS[.ffffff]+08:00``, a local year
1901..2198, which no offset can take out of ``AwareDatetime``'s range). Anything else (another
offset, a fraction of seven digits, a type, a key, a rule it does not settle) raises
``ValueError`` inside the model's validator, ``preparer``'s function returns ``None`` and the
codec validates the body with the contract as before, so every refusal keeps its code, field
and text. The header fields are validated by pydantic (each processor's prepared model is
``VisitMessage`` with ``FeesUploaded``'s ``infnos``); only the lines are read here.

Per line the checks are lookups: each distinct ``(cnt, pric, det_item_fee_sumamt)``, time
and item code is checked (and converted) once and remembered (``_Memo``, bounded); only the
line numbers, unique per line, go through one regular expression for the whole upload.
``tests/unit/adjudication/test_fee_lines.py`` and ``tests/unit/supervision/test_fee_lines.py``
hold both processors' readings to the contract (the simulator's corpus, the decoder's
bad-input corpus, hypothesis bodies): the same acceptances with the same values, the same
refusals.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import Any, Generic, TypeVar

from annotated_types import MaxLen, MinLen
from pydantic import StringConstraints, ValidationError

from contracts.common import Contract
from contracts.money import CENT, to_fen
from contracts.visit import FeeLine as ContractLine
from contracts.visit import FeesUploaded, VisitMessage
from events.wire.codec import Prepare

FIELDS = ("cnt", "det_item_fee_sumamt", "fee_ocur_time", "feedetl_sn", "med_list_codg", "pric")
"""A line's keys, in the order ``_ROW`` reads them (the tests compare them with the contract)."""
_ROW = itemgetter(*FIELDS)
_LINE_NO_OF = itemgetter(FIELDS.index("feedetl_sn"))
_BOUNDS = {type(rule): rule for rule in FeesUploaded.model_fields["feedetail"].metadata}
MIN_LINES = _BOUNDS[MinLen].min_length
MAX_LINES = _BOUNDS[MaxLen].max_length
"""How many lines an upload has: the contract's own bounds."""
_MEMO_LIMIT = 4096
"""Entries each memo keeps before it starts afresh (a sender choosing every value unique
only makes the lookups miss; memory stays bounded)."""

L = TypeVar("L")
MakeLine = Callable[[str, str, Decimal, int, int, dt.date], L]
"""A processor's line from ``(feedetl_sn, med_list_codg, cnt, pric in fen,
det_item_fee_sumamt in fen, Asia/Shanghai date of fee_ocur_time)``."""


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


QUANTITY = re.compile(_pattern("cnt"))
MONEY = re.compile(_pattern("pric"))
_AMOUNT = re.compile(_pattern("det_item_fee_sumamt"))
ITEM = re.compile(_code_re("med_list_codg"))
LINE_NO = _code_re("feedetl_sn")
_LINE_NOS = re.compile(f"(?:{LINE_NO}\x1f)*{LINE_NO}")
"""Every line number of an upload joined by ``\\x1f`` (no pattern admits it), checked at once."""
_CLOCK = re.compile(r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?\+08:00")
"""The time of day after a date: the form every yidi sender writes (Asia/Shanghai)."""
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _Memo:
    """Each distinct value's check and conversion, once (see the module's docstring). One
    for the process: what it holds does not depend on the processor's line type."""

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
        if QUANTITY.fullmatch(cnt) is None or MONEY.fullmatch(pric) is None:
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
        if type(text) is not str or ITEM.fullmatch(text) is None:
            return False
        self.items.add(text)
        return True


_MEMO = _Memo()


class LineReader(Generic[L]):
    """``feedetail`` as a processor's lines, built by ``make``: ``read`` is the
    ``PlainValidator`` of the processor's prepared model's ``feedetail`` field."""

    def __init__(self, make: MakeLine[L]) -> None:
        self.make = make

    def read(self, raw: Any) -> tuple[L, ...]:
        """The lines (pydantic calls it with the parsed array), or a ``ValueError``: not for
        sure what the contract accepts, so the prepared reading defers."""
        if type(raw) is not list or not MIN_LINES <= len(raw) <= MAX_LINES:
            raise ValueError("left to the contract")
        try:
            lines = self._lines(raw)
        except (TypeError, KeyError, ArithmeticError):  # a value of another type, a missing key
            lines = None
        if lines is None:
            raise ValueError("left to the contract")
        return lines

    def _lines(self, raw: list[Any]) -> tuple[L, ...] | None:
        rows = list(map(_ROW, raw))  # a TypeError for a line that is not an object
        if sum(map(len, raw)) != len(FIELDS) * len(raw):  # each has all six: no other key
            return None
        memo = _MEMO
        memo.trim()
        amounts, times, items, make = memo.amounts, memo.times, memo.items, self.make
        out: list[L] = []
        for cnt, sumamt, time, line_no, item, pric in rows:
            values = amounts.get((cnt, pric, sumamt)) or memo.new_amounts(cnt, pric, sumamt)
            day = times.get(time) or memo.new_time(time)
            if values is None or day is None or not (item in items or memo.new_item(item)):
                return None
            out.append(make(line_no, item, values[0], values[1], values[2], day))
        line_nos = list(map(_LINE_NO_OF, rows))
        if _LINE_NOS.fullmatch("\x1f".join(line_nos)) is None or len(set(line_nos)) != len(rows):
            return None
        return tuple(out)


def preparer(prepared: type[VisitMessage]) -> Prepare:
    """The codec's ``prepare`` for a processor's prepared model (``FeesUploaded``'s header
    fields, ``feedetail`` read by a ``LineReader``): the model for a fee upload the contract
    accepts for sure, ``None`` otherwise (validate as usual).

    The header is validated in Python mode from the parsed body: the same schema reads a
    JSON string the same way in both modes; ``inf_time`` is the one header field whose
    Python mode also takes numbers and booleans, so a body whose ``inf_time`` is not a
    string is left to the contract (a precaution: no value was found that the two modes
    read differently, ``tests/unit/adjudication/test_fee_lines.py``)."""
    validate = prepared.__pydantic_validator__.validate_python

    def prepare(model: type[Contract], doc: Any) -> Contract | None:
        if model is not FeesUploaded or type(doc) is not dict:
            return None
        if type(doc.get("inf_time")) is not str:
            return None
        try:
            message: Contract = validate(doc)
        except ValidationError:
            return None
        return message

    return prepare
