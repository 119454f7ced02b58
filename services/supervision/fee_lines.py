"""A fee upload's lines read straight into the supervision core's ``Line``s, or left to the
contract (``events/wire/fee_lines.py``: the reading, shared with the adjudicator, and why
it stays exact).

Why (issue 19's throughput item): fee uploads are the worker's heaviest records; through
the contract each line became a pydantic ``FeeLine`` (patterns, three ``Decimal``s, an aware
datetime) and then a ``Line`` in ``translate.py`` (``to_fen``, a business day). Read here, a
line is its five values, each distinct value checked and converted once.
``tests/unit/supervision/test_fee_lines.py`` holds it to the contract path: the same
acceptances and refusals, and the same core event as ``translate.visit_event`` makes of the
contract's message.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainValidator

from contracts.visit import FeesUploaded, VisitMessage
from events.wire.fee_lines import LineReader, preparer
from services.supervision.core.model import Line


def _line(sn: str, item: str, cnt: Decimal, _price_fen: int, fen: int, day: dt.date) -> Line:
    """The core's line: the unit price is not one of its values (the amount is)."""
    return Line(sn, item, cnt, fen, day)


_READER = LineReader(_line)


class PreparedFees(VisitMessage):
    """A fee upload whose header pydantic validated and whose lines are the core's.

    The same ``ce_type``, ``infnos`` and header fields as ``FeesUploaded``; ``feedetail``
    holds what ``translate.visit_event`` makes of the contract's lines."""

    ce_type = FeesUploaded.ce_type
    infnos = FeesUploaded.infnos

    feedetail: Annotated[tuple[Line, ...], PlainValidator(_READER.read)] = Field(repr=False)


prepare = preparer(PreparedFees)
"""The codec's ``prepare`` for the worker (``app.py``) and the offline path."""
