"""A fee upload's lines read straight into the adjudicator's core lines, or left to the contract.

Why (issue 21): a 12-line fee upload (30 % of the adjudicator's records) spent ~20 µs in
pydantic building 12 ``FeeLine`` contract models and ~12 µs more turning them into the core's
lines, ~2.5x the cost of the other message types. The reading itself, and why it stays
exact, is ``events/wire/fee_lines.py`` (shared with the supervision worker); here is only
the adjudicator's model: ``FeesUploaded``'s header with the core's ``FeeLine``s.
``tests/unit/adjudication/test_fee_lines.py`` holds ``prepare`` to the contract.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, PlainValidator

from contracts.visit import FeesUploaded, VisitMessage
from events.wire.fee_lines import LineReader, preparer
from services.adjudication.core.pricing import FeeLine

_READER = LineReader(FeeLine)


class PreparedFees(VisitMessage):
    """A fee upload whose header pydantic validated and whose lines ``_READER`` read.

    The same ``ce_type`` and ``infnos`` as ``FeesUploaded`` and the same header fields;
    ``feedetail`` holds the core's lines, equal to what ``command_for`` makes of the
    contract's (its bounds are the contract's, read from ``FeesUploaded``). Why a field
    and not a private attribute: pydantic initialises a model's private attributes in
    Python on every validation (~1 µs a message here)."""

    ce_type = FeesUploaded.ce_type
    infnos = FeesUploaded.infnos

    feedetail: Annotated[tuple[FeeLine, ...], PlainValidator(_READER.read)] = Field(repr=False)


prepare = preparer(PreparedFees)
"""The codec's ``prepare`` for the adjudicator (``task.py``)."""
