"""Ops core: DLQ filters and display, redrive planning, the canonical ledger digest."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from events.dlq import DLQ_TOPIC, dlq_output, parse_dlq
from events.stream.types import InputRecord
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.reference import load_reference
from services.entry.bootstrap import sender_ids
from services.ops.core.digest import (
    Period,
    TableHasher,
    TableSpec,
    canonical,
    digest_rows,
)
from services.ops.core.dlq import DlqEntry, DlqFilter, DlqPosition, detail, parse_time, select
from services.ops.core.errors import BadArgument, DigestError, NotRedrivable
from services.ops.core.ledger_tables import LEDGER_TABLES
from services.ops.core.redrive import (
    REDRIVE_HEADER,
    Attempt,
    outgoing,
    parse_marker,
    plan_redrive,
)
from services.tools.simulator.run import plan_messages

REFERENCE = Path(__file__).resolve().parents[3] / "deploy" / "reference"
CERTNO = "330902198001011234"
T0 = 1_790_000_000_000


@cache
def codec() -> Codec:
    return Codec(demo_registry(sender_ids(load_reference(REFERENCE))))


@cache
def visit_records() -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    built = plan_messages(REFERENCE, codec(), 3, seed=5, run_id="ops-unit")
    return [b.record for b in built if b.topic == "yidi.visit.v1" and b.bad is None]


def entry(
    source_offset: int,
    *,
    position: DlqPosition | None = None,
    ts: int = T0,
    code: str = "E_UNKNOWN_INSTITUTION",
    topic: str = "yidi.visit.v1",
    partition: int = 3,
    record_index: int = 0,
    value: bytes | None = b"keep",
    headers: list[tuple[str, bytes]] | None = None,
) -> DlqEntry:
    key, real_value, real_headers = visit_records()[record_index]
    record = InputRecord(
        topic, partition, source_offset, key,
        real_value if value == b"keep" else value,
        real_headers if headers is None else headers, ts - 10,
    )  # fmt: skip
    out = dlq_output(record, stage="adjudication", code=code, message="x", authentic=True)
    pos = position or DlqPosition(0, source_offset)
    return DlqEntry(DLQ_TOPIC, pos, ts, parse_dlq(out.value))


# --- positions, times, filters ---------------------------------------------------------------


def test_position_parses_and_refuses_garbage() -> None:
    assert DlqPosition.parse(" 4:1200 ") == DlqPosition(4, 1200)
    assert str(DlqPosition(4, 1200)) == "4:1200"
    for bad in ("4", "a:1", "4:-1", "4:1:2", ""):
        with pytest.raises(BadArgument):
            DlqPosition.parse(bad)


def test_times_without_offset_are_shanghai_time() -> None:
    assert parse_time("2026-10-12T08:00") == dt.datetime(2026, 10, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_time("2026-10-12T00:00Z") == dt.datetime(2026, 10, 12, 0, 0, tzinfo=dt.UTC)
    with pytest.raises(BadArgument):
        parse_time("yesterday")
    with pytest.raises(BadArgument):
        DlqFilter.of(since="2026-10-12", until="2026-10-11")


def test_filter_by_reason_topic_and_half_open_time_window() -> None:
    a = entry(1, ts=T0, code="E_UNKNOWN_INSTITUTION")
    b = entry(2, ts=T0 + 1000, code="E_AUTH_MAC")
    c = entry(3, ts=T0 + 2000, code="E_UNKNOWN_INSTITUTION", topic="yidi.registration.v1")
    everything = [c, b, a]
    assert select(everything, DlqFilter()) == [a, b, c], "oldest first"
    assert select(everything, DlqFilter(reason="E_UNKNOWN_INSTITUTION")) == [a, c]
    assert select(everything, DlqFilter(source_topic="yidi.registration.v1")) == [c]
    assert select(everything, DlqFilter(since_ms=T0 + 1000, until_ms=T0 + 2000)) == [b]
    assert select(everything, DlqFilter(), limit=2) == [a, b]


def test_show_masks_personal_data_in_body_headers_and_text() -> None:
    plain = entry(1)
    shown = json.dumps(detail(plain), ensure_ascii=False)
    body = plain.record.original_value() or b""
    certnos = [v for k, v in json.loads(body).items() if k in ("mdtrt_cert_no", "certno")]
    assert certnos and all(c not in shown for c in certnos)
    assert detail(plain)["body"]["psn_no"] == json.loads(body)["psn_no"], "ids stay usable"
    truncated = entry(2, value=b'{"certno": "' + CERTNO.encode() + b'", "psn')
    shown_t = detail(truncated)
    assert CERTNO not in json.dumps(shown_t) and shown_t["body"]["bytes"] > 0
    leaky = entry(3, headers=[("ce_id", f"id-{CERTNO}".encode())])
    assert CERTNO not in json.dumps(detail(leaky))


# --- redrive ---------------------------------------------------------------------------------


def test_redriven_message_is_the_original_and_still_authenticates() -> None:
    e = entry(7, record_index=2)
    key, value, headers = visit_records()[2]
    out = outgoing(e, attempt=1)
    assert (out.topic, out.partition, out.key, out.value) == ("yidi.visit.v1", 3, key, value)
    assert out.headers[:-1] == headers, "original headers, in order, unchanged"
    assert out.headers[-1] == (REDRIVE_HEADER, f"{DLQ_TOPIC}:0:7#1".encode())
    decoded = codec().decode(out.key, out.value, out.headers)
    assert decoded.sender_verified and decoded.envelope.ce_id == e.ce_id


def test_a_marker_from_an_earlier_redrive_is_replaced_not_stacked() -> None:
    _, _, headers = visit_records()[0]
    again = entry(9, headers=[*headers, (REDRIVE_HEADER, b"yidi.dlq.v1:1:1#1")])
    out = outgoing(again, attempt=1)
    assert [v for k, v in out.headers if k == REDRIVE_HEADER] == [b"yidi.dlq.v1:0:9#1"]
    assert parse_marker(out.marker) == (DLQ_TOPIC, DlqPosition(0, 9), 1)
    assert parse_marker("nonsense") is None


def test_plan_sends_in_source_order_and_refuses_what_was_sent() -> None:
    late_in_dlq = entry(5, position=DlqPosition(0, 1))
    early_in_dlq = entry(9, position=DlqPosition(1, 0))
    first = entry(2, position=DlqPosition(2, 7))
    parts = {"yidi.visit.v1": 12}
    plan = plan_redrive([early_in_dlq, late_in_dlq, first], [], parts)
    assert [o.entry.source.offset for o in plan.send] == [2, 5, 9]
    assert all(o.attempt == 1 and not o.forced for o in plan.send)

    journal = [Attempt(DLQ_TOPIC, first.position, 1, first.source, "sent")]
    again = plan_redrive([first, late_in_dlq], journal, parts)
    assert again.already == [first] and [o.entry for o in again.send] == [late_in_dlq]

    forced = plan_redrive([first], journal, parts, force=True)
    assert [(o.attempt, o.forced) for o in forced.send] == [(2, True)]


def test_plan_copies_in_doubt_lost_sends_and_missing_partitions() -> None:
    original = entry(4, position=DlqPosition(0, 10))
    replayed_copy = entry(4, position=DlqPosition(0, 11))
    parts = {"yidi.visit.v1": 12}
    plan = plan_redrive([replayed_copy, original], [], parts)
    assert [o.entry for o in plan.send] == [original] and plan.copies == [replayed_copy]

    via_copy = [Attempt(DLQ_TOPIC, original.position, 1, original.source, "sent")]
    assert plan_redrive([replayed_copy], via_copy, parts).already == [replayed_copy]

    doubt = [Attempt(DLQ_TOPIC, original.position, 1, original.source, "pending")]
    assert plan_redrive([original], doubt, parts, force=True).in_doubt == [original]

    lost = [Attempt(DLQ_TOPIC, original.position, 1, original.source, "not_sent")]
    retry = plan_redrive([original], lost, parts)
    assert [(o.attempt, o.forced) for o in retry.send] == [(2, False)]

    shrunk = plan_redrive([original], [], {"yidi.visit.v1": 2})
    assert shrunk.send == [] and "does not exist" in shrunk.refused[0][1]
    empty = entry(6, value=None)
    assert plan_redrive([empty], [], parts).refused[0][0] == empty
    with pytest.raises(NotRedrivable):
        outgoing(empty, 1)


# --- digest ----------------------------------------------------------------------------------

SPEC = TableSpec("t", ("id",), ("amount", "at", "blob"), "period")


def test_canonical_values_do_not_depend_on_representation() -> None:
    assert canonical(Decimal("12.30")) == canonical(Decimal("12.3")) == "12.3"
    assert canonical(Decimal("-0.00")) == canonical(Decimal(0)) == "0"
    assert canonical(Decimal("100.00")) == "100"
    beijing = dt.datetime(2026, 10, 12, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert canonical(beijing) == canonical(dt.datetime(2026, 10, 12, tzinfo=dt.UTC))
    assert canonical(b"\x00\xff") == "00ff" and canonical(memoryview(b"\x01")) == "01"
    assert canonical(dt.date(2026, 1, 2)) == "2026-01-02" and canonical(["a", 1]) == ["a", 1]
    with pytest.raises(DigestError):
        canonical(dt.datetime(2026, 1, 1))
    with pytest.raises(DigestError):
        canonical(1.5)


def rows(amount: str = "10.00") -> list[tuple[object, ...]]:
    at = dt.datetime(2026, 10, 12, tzinfo=dt.UTC)
    return [("S1", Decimal(amount), at, b"a"), ("S2", Decimal("3.10"), at, b"b")]


def test_digest_changes_exactly_when_a_listed_value_does() -> None:
    same = digest_rows([SPEC], [rows()])
    assert digest_rows([SPEC], [rows()]).sha256 == same.sha256
    assert digest_rows([SPEC], [rows("10.0")]).sha256 == same.sha256
    assert digest_rows([SPEC], [rows("10.01")]).sha256 != same.sha256, "one fen"
    assert digest_rows([SPEC], [rows()], Period(2026, 10)).sha256 != same.sha256
    empty = digest_rows([SPEC], [[]])
    assert digest_rows([SPEC], [None]).sha256 != empty.sha256, "absent is not empty"
    assert same.tables[0].rows == 2 and same.as_dict()["digest"] == f"sha256:{same.sha256}"


def test_rows_out_of_key_order_are_refused() -> None:
    hasher = TableHasher(SPEC)
    a, b = rows()
    hasher.add(b)
    with pytest.raises(DigestError, match="increasing"):
        hasher.add(a)
    dup = TableHasher(SPEC)
    dup.add(a)
    with pytest.raises(DigestError):
        dup.add(a)
    with pytest.raises(DigestError):
        TableHasher(SPEC).add(("S1",))


def test_key_order_is_byte_order_like_collate_c() -> None:
    spec = TableSpec("k", ("year", "code"), (), "year")
    hasher = TableHasher(spec)
    for row in [(-1, "b"), (9, "Z"), (9, "a"), (10, "a"), (10, "é"), (2026, "")]:
        hasher.add(row)
    assert hasher.finish().rows == 6


def test_period_parse_and_month_bounds() -> None:
    assert Period.parse("2026-12").next_first_day == dt.date(2027, 1, 1)
    assert Period.parse("2026-02").first_day == dt.date(2026, 2, 1)
    for bad in ("2026-13", "2026-1", "26-01"):
        with pytest.raises(BadArgument):
            Period.parse(bad)


def test_registry_digests_no_column_that_differs_between_correct_runs() -> None:
    run_dependent = {"landed_at", "updated_at", "changed_at", "set_at", "issued_at", "seen_at",
                     "created_at", "published_at", "payload", "src_topic", "src_partition",
                     "src_offset"}  # fmt: skip
    names = [t.name for t in LEDGER_TABLES]
    assert len(names) == len(set(names))
    assert names[0] == "settlements" and "clearing_entries" in names
    for spec in LEDGER_TABLES:
        assert not run_dependent & set(spec.all_columns), spec.name
        assert len(set(spec.all_columns)) == len(spec.all_columns), spec.name
