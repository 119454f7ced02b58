"""Issue 15, finding 1 (poison pills), one test per class: each input below made a worker
raise out of its batch loop before (the record is read again after the restart and raises
again). Each must now end in exactly one outcome (tests/engine_support.py) and leave the
partition able to process its next record."""

from __future__ import annotations

import base64

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.consumer import fetcher
from aiokafka.record.memory_records import MemoryRecords

import services.adjudication.handler as handler_module
from events.dlq import MAX_DLQ_RECORD_BYTES, parse_dlq, record_digest
from events.stream import salvage
from events.stream.clients import to_input
from events.stream.guard import E_INTERNAL, E_UNPARSEABLE
from events.stream.memory import MemoryEngine
from events.stream.types import InputRecord
from tests.engine_support import (
    BROKER_MAX_MESSAGE,
    REGISTRATION,
    VISIT,
    World,
    adjudication_task,
    first,
    guards,
    outcome,
    registration_task,
    resign,
    run,
    with_body,
    world,
)
from tests.raw_batch import RawRecord, batch

LONG_ID = "C" * 250  # the envelope takes 256 characters, the ack's ack_for 200


@pytest.fixture(scope="module")
def w() -> World:
    return world()


# --- a ce_id longer than the ack allows -------------------------------------------------


def test_long_ce_id_visit_gets_an_ack_that_fits(w: World) -> None:
    rec = resign(w, first(w, "visit.registered"), ce_id=LONG_ID)
    result = adjudication_task(w, rec.partition).process(rec)  # the task itself copes
    assert outcome(rec, result.outputs, "adjudication") == "ack"


def test_long_ce_id_registration_gets_an_ack_that_fits(w: World) -> None:
    rec = resign(w, first(w, "filing.created", REGISTRATION), ce_id=LONG_ID)
    result = registration_task(w, rec.partition).process(rec)
    assert outcome(rec, result.outputs, "registration") == "ack"


def test_long_ce_id_rejected_input_gets_an_error_ack_that_fits(w: World) -> None:
    rec = resign(w, first(w, "visit.registered"), ce_id=LONG_ID, value=b'{"msgid": 1}')
    result = adjudication_task(w, rec.partition).process(rec)
    assert outcome(rec, result.outputs, "adjudication") == "dlq+ack"


# --- an unknown field whose name is hundreds of characters ------------------------------


@pytest.mark.parametrize("length", [201, 257, 600, 5000])
def test_long_unknown_field_name(w: World, length: int) -> None:
    name = "z" * length
    for rec, task, stage in (
        (with_body(w, first(w, "visit.registered"), **{name: 1}), adjudication_task, "adjudication"),
        (with_body(w, first(w, "filing.created", REGISTRATION), **{name: 1}), registration_task, "registration"),
    ):  # fmt: skip
        result = task(w, rec.partition).process(rec)
        assert outcome(rec, result.outputs, stage) == "dlq+ack"
        dead = parse_dlq(next(o for o in result.outputs if o.topic == "yidi.dlq.v1").value)
        assert dead.reason.code == "E_EXTRA_FIELD"
        assert dead.reason.field is not None and len(dead.reason.field) <= 256
        assert len(dead.reason.message) <= 2000


# --- a timestamp at the edge of the calendar --------------------------------------------


@pytest.mark.parametrize(
    "instant", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2200-01-01T00:00:00Z"]
)
def test_calendar_edge_begntime_is_a_typed_rejection(w: World, instant: str) -> None:
    rec = with_body(w, first(w, "visit.registered"), begntime=instant)
    result = adjudication_task(w, rec.partition).process(rec)
    assert outcome(rec, result.outputs, "adjudication") == "dlq+ack"
    dead = parse_dlq(next(o for o in result.outputs if o.topic == "yidi.dlq.v1").value)
    assert (dead.reason.code, dead.reason.field) == ("E_RULE", "begntime")


def test_calendar_edge_ce_time_is_a_typed_rejection(w: World) -> None:
    rec = resign(w, first(w, "visit.registered"), ce_time="9999-12-31T23:59:59-14:00")
    result = adjudication_task(w, rec.partition).process(rec)
    assert outcome(rec, result.outputs, "adjudication") == "dlq"
    dead = parse_dlq(result.outputs[0].value)
    assert (dead.reason.code, dead.reason.field) == ("E_HEADER", "ce_time")


# --- a large body: its DLQ record must still fit the broker -----------------------------


@pytest.mark.parametrize("size", [850_000, 5_000_000])
def test_large_body_dead_letter_fits_and_keeps_the_original_by_reference(
    w: World, size: int
) -> None:
    base = first(w, "fees_uploaded")
    body = b'{"x":"' + b"a" * size + b'"}'
    unsigned = [(k, v) for k, v in base.headers if k not in ("yidi_kid", "yidi_mac")]
    rec = InputRecord(VISIT, base.partition, 7, base.key, body, unsigned, base.timestamp_ms)
    result = adjudication_task(w, rec.partition).process(rec)
    assert outcome(rec, result.outputs, "adjudication") == "dlq"
    out = result.outputs[0]
    assert len(out.value) <= MAX_DLQ_RECORD_BYTES < BROKER_MAX_MESSAGE
    dead = parse_dlq(out.value)
    assert dead.value_b64 is None and dead.original is not None
    assert dead.original.value_size == len(body)
    assert dead.original.sha256 == record_digest(rec)
    assert dead.headers, "small headers stay readable beside the reference"


def test_small_body_stays_inline_with_unchanged_bytes(w: World) -> None:
    base = first(w, "fees_uploaded")
    unsigned = [(k, v) for k, v in base.headers if k not in ("yidi_kid", "yidi_mac")]
    rec = InputRecord(VISIT, base.partition, 7, base.key, base.value, unsigned, base.timestamp_ms)
    out = adjudication_task(w, rec.partition).process(rec).outputs[0]
    data = orjson.loads(out.value)
    assert "original" not in data and "header_names_b64" not in data  # the old shape, exactly
    assert base64.b64decode(data["value_b64"]) == base.value


# --- a record header whose name is not UTF-8 ---------------------------------------------


def _fetched(raw: bytes, offset: int = 0) -> list[object]:
    """What aiokafka's fetcher yields for ``raw`` as one partition's fetched data."""
    tp = TopicPartition(VISIT, 0)
    records = fetcher.MemoryRecords(raw)
    parts = fetcher.PartitionRecords(
        tp, records, [], offset, None, None, True, fetcher.READ_UNCOMMITTED
    )
    return list(parts)


def _bad_batch(w: World, compress: bool) -> tuple[bytes, list[InputRecord]]:
    good = [r for r in w.records if r.topic == VISIT][:3]

    def raw(r: InputRecord) -> RawRecord:
        return RawRecord(r.key, r.value, [(k.encode(), v) for k, v in r.headers])

    bad = RawRecord(b"k", b"{}", [(b"ce_id", b"x"), (b"\xff\xfename", b"v")])
    return batch([raw(good[0]), bad, raw(good[1]), raw(good[2])], compress=compress), good


def test_aiokafka_alone_cannot_read_past_a_non_utf8_header_name(w: World) -> None:
    raw, _ = _bad_batch(w, compress=False)
    parts = fetcher.PartitionRecords(
        TopicPartition(VISIT, 0), MemoryRecords(raw), [], 0, None, None, True, 0
    )
    with pytest.raises(UnicodeDecodeError):
        list(parts)


@pytest.mark.parametrize("compress", [False, True])
def test_non_utf8_header_name_is_dead_lettered_by_position_and_the_batch_goes_on(
    w: World, compress: bool
) -> None:
    salvage.install()
    raw, good = _bad_batch(w, compress)
    fetched = _fetched(raw)
    assert [r.offset for r in fetched] == [0, 1, 2, 3]  # type: ignore[attr-defined]
    inputs = [to_input(r) for r in fetched]  # type: ignore[arg-type]
    assert [i.damaged is not None for i in inputs] == [False, True, False, False]
    for got, want in zip([inputs[0], *inputs[2:]], good, strict=True):
        assert (got.key, got.value, list(got.headers)) == (want.key, want.value, list(want.headers))
    bad = inputs[1]
    assert bad.raw_header_names == (b"ce_id", b"\xff\xfename")
    adj = guards(w)["adjudication"]
    task = adjudication_task(w, 0)
    result = run(task, bad, adj)
    assert outcome(bad, result.outputs, "adjudication") == "dlq"
    dead = parse_dlq(result.outputs[0].value)
    assert dead.reason.code == E_UNPARSEABLE
    assert dead.header_names_b64 == [base64.b64encode(n).decode() for n in bad.raw_header_names]
    assert dead.original_value() == b"{}"


def test_a_fetch_resumed_inside_a_damaged_batch_skips_what_was_read(w: World) -> None:
    salvage.install()
    raw, _ = _bad_batch(w, compress=True)
    assert [r.offset for r in _fetched(raw, offset=2)] == [2, 3]  # type: ignore[attr-defined]


def test_a_structurally_broken_record_ends_its_batch_with_one_damaged_record(w: World) -> None:
    raw, _ = _bad_batch(w, compress=False)
    cut = bytearray(raw)
    cut[57:61] = (5).to_bytes(4, "big")  # the header promises a fifth record that is not there
    records = list(salvage.parse_batch(bytes(cut)))
    assert len(records) == 5
    assert records[-1].headers[0][0].synthetic  # type: ignore[union-attr]
    assert [r.offset for r in records] == [0, 1, 2, 3, 3]


# --- a record that raises half-way changes nothing ----------------------------------------


def _person_history(w: World) -> tuple[list[InputRecord], InputRecord]:
    """The records of the person of the first accepted settlement, and that settlement."""
    target = first(w, "settlement_requested")
    history = [r for r in w.records if r.key == target.key and r is not target]
    before = [r for r in history if w.records.index(r) < w.records.index(target)]
    return before, target


def _store_after(w: World, records: list[InputRecord]) -> dict[bytes, bytes]:
    engine = MemoryEngine(lambda p, r: adjudication_task(w, p, r), guards(w)["adjudication"])
    engine.batch(records)
    return engine.stores.get(records[0].partition, {})


def test_a_record_that_raises_half_way_leaves_the_state_as_it_was(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, target = _person_history(w)
    store = _store_after(w, before)
    control = adjudication_task(w, target.partition, store).process(target).outputs
    assert outcome(target, control, "adjudication") == "ack"

    task = adjudication_task(w, target.partition, store)

    def boom(**_: object) -> bytes:  # fails after the handler applied the settlement
        raise RuntimeError("330900195911010471")

    monkeypatch.setattr(handler_module, "ack_value", boom)
    with pytest.raises(RuntimeError):
        task.process(target)
    monkeypatch.undo()
    assert task.flush_state() == []
    again = task.process(target).outputs
    assert again == control, "the failed attempt left part of its state change behind"


def test_an_exception_becomes_one_dlq_record_and_an_error_ack_with_its_type_only(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, target = _person_history(w)
    store = _store_after(w, before)
    secret = "330900195911010471"

    def boom(*_: object, **__: object) -> object:
        raise ValueError(f"psn {secret}")

    monkeypatch.setattr(adjudication_task.__globals__["adjudication"], "handle", boom)
    adj = guards(w)["adjudication"]
    task = adjudication_task(w, target.partition, store)
    result = run(task, target, adj)
    assert outcome(target, result.outputs, "adjudication") == "dlq+ack"
    dead = parse_dlq(next(o for o in result.outputs if o.topic == "yidi.dlq.v1").value)
    assert dead.reason.code == E_INTERNAL and "ValueError" in dead.reason.message
    assert all(secret.encode() not in o.value for o in result.outputs if o.topic != "yidi.dlq.v1")
    assert secret not in dead.reason.message
    assert task.flush_state() == []
    reg = next(r for r in before if r.topic == REGISTRATION)
    assert outcome(reg, run(task, reg, adj).outputs, "adjudication") == "dlq"  # no ack: not ours
    monkeypatch.undo()
    # the partition goes on: the same record, re-sent, is adjudicated as if nothing happened
    control = adjudication_task(w, target.partition, store).process(target).outputs
    assert run(task, target, adj).outputs == control
