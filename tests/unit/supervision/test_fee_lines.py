"""The supervision worker's fee-upload reading (``services/supervision/fee_lines.py`` over
``events/wire/fee_lines.py``) against the contract path it replaces.

Every body is decoded twice, with and without ``prepare``: both must refuse it the same way
(code, field, text), or both accept it with the same envelope, the same header values and
the same core event from ``translate.visit_event`` (compared by ``repr``, so a ``Decimal``'s
digits, a date and the lines' order count). Corpora: the simulator's records (a supervision
day with planted patterns and ordinary traffic), the decoder's bad-input corpus and the
hypothesis bodies of ``tests/unit/adjudication/test_fee_lines.py``. Each corpus counts the
bodies the fast reading took: one that deferred everything would be exact and useless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings

from contracts.visit import FeesUploaded
from events.wire.codec import Codec
from services.supervision.core.model import Fees
from services.supervision.fee_lines import PreparedFees, prepare
from services.supervision.translate import visit_event
from tests.fee_lines_check import BODIES, assert_the_simulators_uploads_are_all_taken, compared
from tests.unit.adjudication.test_fee_lines import CODEC, _body, _valid_upload
from tests.unit.events.wire.test_bad_inputs import CASES, FEES, Record, _encoded, _resign
from tests.unit.events.wire.test_bad_inputs import CODEC as SAMPLE_CODEC


def _event(message: Any) -> tuple[Any, ...]:
    return message.topic, repr(visit_event(message))


def _same(codec: Codec, record: Record, topic: str | None = None) -> bool:
    """Both readings agree; True when the fast one took the body and it was accepted (a
    body it took may still be refused after it, by the identity or key check)."""
    taken, fast = compared(codec, record, topic, prepare, _event)
    return taken and fast[0] == "accepted"


def test_the_simulators_uploads_are_all_taken_and_give_the_same_events() -> None:
    assert_the_simulators_uploads_are_all_taken(CODEC, _same, 7, "sup-fee-lines")


def test_a_prepared_upload_is_the_core_event_with_the_contracts_values() -> None:
    """One upload by hand: the event's lines are ``Line``s, in the upload's order, amounts in
    fen and days in Asia/Shanghai (a fee at 00:30+08:00 is that local day)."""
    line = {
        "cnt": "2.50",
        "det_item_fee_sumamt": "30.88",
        "fee_ocur_time": "2026-10-12T00:30:00+08:00",
        "feedetl_sn": "B",
        "med_list_codg": "XA01",
        "pric": "12.35",
    }
    other = {**line, "feedetl_sn": "A", "fee_ocur_time": "2026-10-11T23:59:59.5+08:00"}
    key, value, headers = _valid_upload([line, other])
    decoded = SAMPLE_CODEC.decode(key, value, headers, prepare=prepare)
    assert type(decoded.message) is PreparedFees
    core = visit_event(decoded.message)
    assert isinstance(core, Fees)
    assert [(x.sn, x.item, str(x.cnt), x.fen, x.day.isoformat()) for x in core.lines] == [
        ("B", "XA01", "2.50", 3088, "2026-10-12"),
        ("A", "XA01", "2.50", 3088, "2026-10-11"),
    ]
    assert _same(SAMPLE_CODEC, (key, value, headers))


@pytest.mark.parametrize(("name", "make", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_the_bad_input_corpus_gets_the_same_refusals(
    name: str, make: Callable[[], Record], code: str, field: str | None
) -> None:
    assert not _same(SAMPLE_CODEC, make()), name


@settings(max_examples=BODIES, deadline=None, suppress_health_check=list(HealthCheck))
@given(_body())
def test_hypothesis_bodies_read_the_same(value: bytes) -> None:
    if _same(SAMPLE_CODEC, _resign(_encoded(FEES), value)):
        event("prepared")


def test_the_prepared_model_is_the_contracts_header() -> None:
    assert set(PreparedFees.model_fields) == set(FeesUploaded.model_fields)
    assert (PreparedFees.infnos, PreparedFees.ce_type) == (
        FeesUploaded.infnos,
        FeesUploaded.ce_type,
    )
    assert PreparedFees.topic == FeesUploaded.topic
