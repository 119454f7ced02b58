"""A visit's and a settled record's changelog JSON assembled from remembered fee lines.

Why: a person's row is rewritten after every message that touched them, and its two
largest parts carry fee lines: the open visit (every upload adds a dozen lines to a new
``VisitState``) and each settled record (the lines a reversal puts back). The lines
themselves are immutable and shared by every later version of the visit and by the
settlement that consumes them, yet ``TypeAdapter.dump_json`` serialised all of them again
each time (``yidi bench task``: 15 µs a visit, 34 µs a settled record). Here each line is
serialised once, remembered by identity like ``StateWriter``'s parts, and the enclosing
object is written by one ``orjson.dumps`` around the remembered fragments.

The bytes are those of ``TypeAdapter.dump_json``, field by field in declaration order:
strings, ints, bools and dates as orjson writes them (the same as pydantic-core's
serde_json writer for these types), ``Decimal`` as ``str`` (pydantic's JSON form),
nested dataclasses that hold no lines through their own adapters.
``tests/unit/adjudication/test_state_json.py`` holds both encodings equal over arbitrary
values (hypothesis) and fails if a field is added to a class without being written here;
``test_fast_paths.py`` holds whole changelog rows to ``state_to_json`` over a simulated run.
"""

from __future__ import annotations

import datetime as dt
from operator import is_
from typing import Any

import orjson
from pydantic import TypeAdapter

from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.settlement import Settlement
from services.adjudication.core.visit import VisitState

LINE_FIELDS = ("feedetl_sn", "item_code", "qty", "price_fen", "amount_fen", "fee_date")
VISIT_FIELDS = (
    "mdtrt_id", "psn_no", "insuplc_admdvs", "fixmedins_code", "mdtrtarea_admvs", "med_type",
    "insutype", "begndate", "diseases", "status", "lines", "admission_deductible_fen",
)  # fmt: skip
SETTLED_FIELDS = (
    "settlement", "year", "delta", "account_fen", "admission_deductible_fen", "lines",
    "prior_status", "reversed", "earlier_years",
)  # fmt: skip
"""The fields each writer below writes, in order (the test compares them with the classes)."""

Lines = tuple[FeeLine, ...]
LinesMemo = dict[str, tuple[Lines, bytes]]
"""A visit's ``mdtrt_id`` -> the lines it was last written with, and their JSON array."""

_SETTLEMENT = TypeAdapter(Settlement)
_LINES = TypeAdapter(Lines)
_SETTLEMENT_JSON = _SETTLEMENT.serializer.to_json
_LINES_JSON = _LINES.serializer.to_json
"""``dump_json`` without its Python wrapper (which passes every option, as defaults, to the
same call): 0.5 µs a call less, a few calls a record (``test_state_json.py`` holds the bytes
to ``dump_json``)."""


def _array(lines: Lines) -> bytes:
    """``_LINES_JSON(lines)``: each line as a dict in declaration order, one ``orjson.dumps``
    (5.6 vs 10.4 µs for 23 lines: pydantic's dataclass serializer reads and type-checks
    each field of each line). ``Decimal`` as its ``str``, as pydantic writes it. An integer
    beyond 64 bits, which orjson refuses (fen amounts are bounded far below), goes through
    the adapter, which writes it: the same bytes as before either way."""
    try:
        return orjson.dumps(
            [
                {
                    "feedetl_sn": line.feedetl_sn,
                    "item_code": line.item_code,
                    "qty": str(line.qty),
                    "price_fen": line.price_fen,
                    "amount_fen": line.amount_fen,
                    "fee_date": line.fee_date,
                }
                for line in lines
            ]
        )
    except orjson.JSONEncodeError:
        return _LINES_JSON(lines)


def lines_json(lines: Lines, before: tuple[Lines, bytes] | None) -> bytes:
    """``lines`` as a JSON array. ``before``: the same visit's lines as last written; an
    upload appends to them (``visit.add_fees`` keeps the earlier lines, the same objects,
    in order), so only the appended lines are serialised."""
    if before is None:
        return _array(lines)
    known, text = before
    if known is lines:
        return text
    n = len(known)
    if n == 0 or n >= len(lines) or not all(map(is_, known, lines)):
        return _array(lines)
    return text[:-1] + b"," + _array(lines[n:])[1:]


def visit_json(visit: VisitState, previous: LinesMemo, kept: LinesMemo) -> bytes:
    """``TypeAdapter(VisitState).dump_json(visit)``; its lines extend what ``previous``
    remembers for the visit, and are remembered in ``kept`` for the next write."""
    mdtrt_id = visit.mdtrt_id
    lines = lines_json(visit.lines, previous.get(mdtrt_id))
    kept[mdtrt_id] = (visit.lines, lines)
    return orjson.dumps(
        {
            "mdtrt_id": mdtrt_id,
            "psn_no": visit.psn_no,
            "insuplc_admdvs": visit.insuplc_admdvs,
            "fixmedins_code": visit.fixmedins_code,
            "mdtrtarea_admvs": visit.mdtrtarea_admvs,
            "med_type": visit.med_type,
            "insutype": visit.insutype,
            "begndate": visit.begndate,
            "diseases": visit.diseases,  # a tuple: orjson writes it as the list it was
            "status": visit.status,
            "lines": orjson.Fragment(lines),
            "admission_deductible_fen": visit.admission_deductible_fen,
        }
    )


_CST = dt.timedelta(hours=8)


def settlement_json(settlement: Settlement) -> bytes:
    """``TypeAdapter(Settlement).dump_json``: through orjson's own dataclass writer (fields
    in declaration order, nested dataclasses, tuples, dates, ``Literal`` strings: the
    adapter's bytes; 3.0 vs 4.1 µs) when ``setl_time`` is +08:00, which orjson writes as
    pydantic does (nearly every settlement's; ``settlement_json.time_json``); any other
    offset (pydantic writes ``Z`` for UTC), or a value orjson refuses (an integer beyond
    64 bits), through the adapter."""
    if settlement.setl_time.utcoffset() == _CST:
        try:
            return orjson.dumps(settlement)
        except orjson.JSONEncodeError:
            pass
    return _SETTLEMENT_JSON(settlement)


def settled_json(record: Any, previous: LinesMemo, earlier_years: TypeAdapter[Any]) -> bytes:
    """``TypeAdapter(SettledRecord).dump_json(record)``: a settlement consumes the visit's
    pending lines (the same tuple), usually written with the visit before. ``earlier_years``
    is the adapter of that field (declared with the record, in ``person``)."""
    settlement = record.settlement
    earlier = record.earlier_years
    return orjson.dumps(
        {
            "settlement": orjson.Fragment(settlement_json(settlement)),
            "year": record.year,
            "delta": dict(record.delta),
            "account_fen": record.account_fen,
            "admission_deductible_fen": record.admission_deductible_fen,
            "lines": orjson.Fragment(lines_json(record.lines, previous.get(settlement.mdtrt_id))),
            "prior_status": record.prior_status,
            "reversed": record.reversed,
            "earlier_years": orjson.Fragment(earlier_years.serializer.to_json(earlier))
            if earlier
            else [],
        }
    )
