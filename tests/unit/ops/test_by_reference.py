"""A DLQ record too large to carry its original keeps it by reference (source position,
SHA-256, sizes): ``yidi dlq show`` says so, and redrive reads it back from the source log,
checks the hash, or refuses with a typed code."""

from __future__ import annotations

from dataclasses import replace

from events.dlq import DLQ_TOPIC, MAX_DLQ_RECORD_BYTES, dlq_output, parse_dlq
from events.stream.types import InputRecord
from services.ops.core.dlq import DlqEntry, DlqPosition, detail
from services.ops.core.errors import OriginalChanged, OriginalGone
from services.ops.core.redrive import REDRIVE_HEADER, plan_redrive

SOURCE = InputRecord(
    "yidi.visit.v1", 3, 580, b"330900:P1", b'{"x":"' + b"a" * 1_000_000 + b'"}',
    [("ce_id", b"e-1"), ("ce_type", b"cn.yidi.visit.fees_uploaded.v1")], 1_791_763_200_000,
)  # fmt: skip


def _entry(record: InputRecord = SOURCE) -> DlqEntry:
    out = dlq_output(record, stage="adjudication", code="E_MALFORMED", message="too large")
    assert len(out.value) <= MAX_DLQ_RECORD_BYTES
    return DlqEntry(DLQ_TOPIC, DlqPosition(1, 9), 0, parse_dlq(out.value))


def test_show_names_where_the_original_stays() -> None:
    shown = detail(_entry())
    assert shown["body"] is None
    assert shown["original"]["at"] == "yidi.visit.v1:3:580"
    assert shown["original"]["value_bytes"] == len(SOURCE.value or b"")
    assert shown["ce_id"] == "e-1"  # small headers stay readable


def test_redrive_reads_the_original_back_and_checks_it() -> None:
    entry = _entry()
    plan = plan_redrive([entry], [], {"yidi.visit.v1": 12}, originals={entry.source: SOURCE})
    assert not plan.refused
    (sent,) = plan.send
    assert (sent.key, sent.value) == (SOURCE.key, SOURCE.value)
    assert sent.headers[:-1] == list(SOURCE.headers)
    assert sent.headers[-1][0] == REDRIVE_HEADER


def test_redrive_refuses_when_the_source_log_no_longer_holds_it() -> None:
    entry = _entry()
    plan = plan_redrive([entry], [], {"yidi.visit.v1": 12}, originals={entry.source: None})
    assert not plan.send
    ((refused, why),) = plan.refused
    assert refused is entry and why.startswith(OriginalGone.code)


def test_redrive_refuses_another_record_at_the_position() -> None:
    entry = _entry()
    other = replace(SOURCE, value=(SOURCE.value or b"")[:-3] + b'b"}')
    plan = plan_redrive([entry], [], {"yidi.visit.v1": 12}, originals={entry.source: other})
    assert not plan.send
    assert plan.refused[0][1].startswith(OriginalChanged.code)


def test_an_unparseable_record_is_not_redriven() -> None:
    damaged = replace(
        SOURCE, value=b"{}", headers=[("\\xff", b"v")], damaged="a record header name is not UTF-8",
        raw_header_names=(b"\xff",),
    )  # fmt: skip
    entry = _entry(damaged)
    plan = plan_redrive([entry], [], {"yidi.visit.v1": 12})
    assert not plan.send and "not UTF-8" in plan.refused[0][1]
