"""The adjudication task's fast encodings give the same bytes as the straightforward model path.

The task writes settlements, reversals and acks with ``orjson`` from the core's integers
(``settlement_json``, ``ack_json``) and memoises unchanged parts of a person's changelog
row (``StateWriter``). These tests recompute every one of those outputs of a simulated
day through the reference path — the contract models and ``canonical_bytes``, the offline
runner, ``state_to_json`` — and require byte equality, then check that a task restored
from its changelog mid-run continues exactly as the uninterrupted one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus
from contracts.reference import InsuredPerson
from contracts.settlement import Reversed, Settled
from events.dlq import DLQ_TOPIC
from events.stream.types import InputRecord, Output, StateWrite
from events.wire.ack_json import ack_value
from events.wire.codec import Codec, canonical_bytes
from events.wire.demo_keys import demo_registry
from events.wire.errors import DecodeError
from services.adjudication import task as adjudication_task
from services.adjudication.core.commands import apply
from services.adjudication.core.errors import Rejection
from services.adjudication.core.person import PersonState, state_to_json
from services.adjudication.core.settlement import Reversal, Settlement
from services.adjudication.core.settlement_json import (
    WireViolation,
    reversed_json,
    reversed_message,
    settled_json,
    settled_message,
)
from services.adjudication.handler import PersonRow
from services.adjudication.offline import run as offline_run
from services.adjudication.reference import DEFAULT_REFERENCE_DIR, load_reference
from services.adjudication.wire import UnhandledMessage, command_of
from services.entry.bootstrap import sender_ids
from services.tools.bench.task import adjudication_engine, simulated_records
from services.tools.simulator.run import plan_messages, write_jsonl

REF = load_reference()
CODEC = Codec(demo_registry(sender_ids(REF)))
VISITS = 600
RUN_ID = "fast-paths"
SEED = 23
BATCH = 50
SETTLEMENT_TOPIC = "yidi.settlement.v1"


@pytest.fixture(scope="module")
def records() -> list[InputRecord]:
    return simulated_records(DEFAULT_REFERENCE_DIR, CODEC, VISITS, SEED, RUN_ID)


@pytest.fixture(scope="module")
def run(records: list[InputRecord]) -> tuple[list[Output], list[StateWrite]]:
    """The whole run through fresh tasks: every output and every changelog write, in order."""
    engine = adjudication_engine(CODEC, REF)
    engine.run(records, BATCH)
    return engine.outputs, [w for _p, w in engine.writes]


def _outcomes(records: Sequence[InputRecord]) -> tuple[list[Settlement], list[Reversal]]:
    """Every settlement, pre-settlement and reversal of the run, from the core directly."""
    states: dict[str, PersonState] = {}
    persons: dict[str, InsuredPerson] = {}
    settlements: list[Settlement] = []
    reversals: list[Reversal] = []
    for r in records:
        try:
            message = CODEC.decode(r.key, r.value, r.headers).message
            key, command = command_of(message)
        except (DecodeError, UnhandledMessage):
            continue
        if isinstance(command, InsuredPerson):
            persons[key] = command
            continue
        try:
            state, outcome = apply(states.get(key, PersonState()), command, persons.get(key), REF)
        except Rejection:
            continue
        states[key] = state
        if outcome.settlement is not None:
            settlements.append(outcome.settlement)
        if outcome.reversal is not None:
            reversals.append(outcome.reversal)
    return settlements, reversals


def test_settlement_and_reversal_bytes_equal_the_contract_models(
    records: list[InputRecord],
) -> None:
    settlements, reversals = _outcomes(records)
    assert len(settlements) > 300 and any(s.pre_settlement for s in settlements)
    assert len({s.route for s in settlements}) >= 4
    assert reversals
    for s in settlements:
        assert settled_json(s) == canonical_bytes(settled_message(s))
    for r in reversals:
        assert reversed_json(r) == canonical_bytes(reversed_message(r))


def test_settlement_outputs_equal_the_offline_runners(
    run: tuple[list[Output], list[StateWrite]], tmp_path: Path
) -> None:
    """The offline runner encodes through the models; the task's ledger feed must match it
    record for record: same ce_id, headers and body bytes."""
    events = tmp_path / "events.jsonl"
    write_jsonl(plan_messages(DEFAULT_REFERENCE_DIR, CODEC, VISITS, SEED, RUN_ID), events)
    with events.open("rb") as lines:
        produced, _runner = offline_run(lines, REF)
        expected = {}
        for line in produced:
            doc = orjson.loads(line)
            kind = doc["headers"]["ce_type"]
            if kind in (Settled.ce_type, Reversed.ce_type) and not doc["body"]["pre_settlement"]:
                expected[doc["headers"]["ce_id"]] = doc
    outputs, _ = run
    published = [o for o in outputs if o.topic == SETTLEMENT_TOPIC]
    assert len(published) == len(expected) > 300
    for out in published:
        headers = {name: value.decode() for name, value in out.headers}
        doc = expected[headers["ce_id"]]
        assert headers == doc["headers"]
        assert out.key is not None and out.key.decode() == doc["key"]
        assert out.value == orjson.dumps(doc["body"], option=orjson.OPT_SORT_KEYS)


def test_every_ack_is_the_canonical_bytes_of_a_valid_ack(
    run: tuple[list[Output], list[StateWrite]],
) -> None:
    """Each ack parses as the contract (every validator, the embedded result's identities
    included) and re-encodes to the same bytes; an accepted settlement's ack carries
    exactly the bytes the ledger feed got."""
    outputs, _ = run
    acks = [o for o in outputs if o.topic.startswith("yidi.ack.v1.")]
    fed = {o.value for o in outputs if o.topic == SETTLEMENT_TOPIC}
    statuses = set()
    for out in acks:
        ack = Ack.model_validate_json(out.value)
        statuses.add(ack.status)
        assert canonical_bytes(ack) == out.value
        if ack.result is not None and not ack.result.pre_settlement:
            assert canonical_bytes(ack.result) in fed
    assert statuses == {AckStatus.ACCEPTED, AckStatus.REJECTED, AckStatus.DUPLICATE}


def _reference_row_json(row: PersonRow) -> bytes:
    """A person's row as the task wrote it before the memo: the whole state, every time."""
    return orjson.dumps(
        {
            "state": orjson.Fragment(state_to_json(row.state)),
            "person": None if row.person is None else row.person.model_dump(mode="json"),
            "last": row.last,
            "seen": [
                [k, s.offset, s.status, s.code, s.text, s.setl_id] for k, s in row.seen.items()
            ],
        }
    )


def test_changelog_rows_equal_the_unmemoised_encoding(
    run: tuple[list[Output], list[StateWrite]],
) -> None:
    _, writes = run
    assert len(writes) > len({w.key for w in writes}), "persons are written in several batches"
    for w in writes:
        assert w.value is not None
        assert _reference_row_json(PersonRow.from_json(w.value)) == w.value


def test_forgetting_the_memo_changes_no_byte(
    records: list[InputRecord],
    run: tuple[list[Output], list[StateWrite]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With room for only a few memoised rows per task, rows drop and rebuild their JSON
    all the time; outputs and changelog are the same bytes."""
    monkeypatch.setattr(adjudication_task, "MEMO_ROWS", 3)
    engine = adjudication_engine(CODEC, REF)
    engine.run(records, BATCH)
    assert (engine.outputs, [w for _p, w in engine.writes]) == run


def test_a_task_restored_mid_run_continues_byte_for_byte(
    records: list[InputRecord], run: tuple[list[Output], list[StateWrite]]
) -> None:
    """Crash after a batch's changelog write: the batch is redelivered to a task restored
    from the changelog, which re-emits nothing stateful, then the rest of the run comes out
    exactly as without the crash."""
    full, _ = run
    chunks = [records[i : i + BATCH] for i in range(0, len(records), BATCH)]
    cut = len(chunks) // 2
    engine = adjudication_engine(CODEC, REF)
    for chunk in chunks[:cut]:
        engine.batch(chunk)
    before, built = list(engine.outputs), engine.stats.restores
    engine.restart()
    replayed = [o for r in engine.batch(chunks[cut - 1]) for o in r.outputs]
    assert engine.stats.restores == built + len(engine.tasks), "restored from the changelog"
    assert all(o in before for o in replayed)
    assert all(o.topic == DLQ_TOPIC or o.topic.startswith("yidi.ack.") for o in replayed)
    after: list[Output] = []
    for chunk in chunks[cut:]:
        after += [o for r in engine.batch(chunk) for o in r.outputs]
    assert before + after == full


WHEN = dt.datetime(2026, 10, 12, 8, 0, 23, tzinfo=dt.timezone(dt.timedelta(hours=8)))
ACK_CASES: list[dict[str, object]] = [
    {"status": AckStatus.ACCEPTED, "setl_id": None},
    {"status": AckStatus.ACCEPTED, "acked_at": WHEN.astimezone(dt.UTC).replace(microsecond=5)},
    {"status": AckStatus.DUPLICATE, "setl_id": "SABC-1"},
    {"status": AckStatus.REJECTED, "error": AckError(code="E_X", field="a.b", message='é\n"')},
]


@pytest.mark.parametrize("case", ACK_CASES)
def test_ack_value_equals_the_model(case: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "ack_for": "c-1",
        "ack_for_type": "cn.yidi.visit.registered.v1",
        "msgid": "H33010200001202610120800232156",
        "sender": "H33010200001",
        "acked_at": WHEN,
        **case,
    }
    assert ack_value(**fields) == canonical_bytes(Ack(**fields))  # type: ignore[arg-type]


def test_ack_value_refuses_what_the_model_refuses() -> None:
    """A ce_id longer than the contract allows: the same ValidationError as the model's."""
    fields: dict[str, object] = {
        "ack_for": "c" * 201,
        "ack_for_type": "cn.yidi.visit.registered.v1",
        "msgid": None,
        "sender": "H33010200001",
        "status": AckStatus.ACCEPTED,
        "acked_at": WHEN,
    }
    with pytest.raises(ValidationError) as fast:
        ack_value(**fields)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as model:
        Ack(**fields)
    assert fast.value.errors() == model.value.errors()


def test_settlement_json_refuses_what_the_contract_refuses(records: list[InputRecord]) -> None:
    settlements, _ = _outcomes(records)
    s = next(s for s in settlements if s.details)
    broken = [
        replace(s, psn_type="1 1"),
        replace(s, policy_version="p" * 51),
        replace(s, breakdown=replace(s.breakdown, balc=10**16)),
        replace(s, breakdown=replace(s.breakdown, psn_cash_pay=s.breakdown.psn_cash_pay + 1)),
        replace(s, details=(replace(s.details[0], fund_payamt=s.details[0].fund_payamt + 1),)),
        replace(s, details=(replace(s.details[0], setl_proc_info="x" * 201),)),
    ]
    for bad in broken:
        with pytest.raises(ValidationError):
            settled_message(bad)
        with pytest.raises(WireViolation):
            settled_json(bad)
