"""Each topic takes only its own messages, and one processor owns its dead letters (issue 15,
findings 2, 3, 4 and 5), on the stream tasks' in-memory path.

The live-broker versions are in ``tests/integration/test_topic_ownership_live.py``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from contracts.visit import VisitMessage
from events.dlq import DLQ_TOPIC, parse_dlq
from events.stream.types import InputRecord, Output
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.reference import load_reference
from services.adjudication.task import AdjudicationTask
from services.entry.bootstrap import sender_ids
from services.registration.task import RegistrationTask
from services.tools.simulator import bad
from services.tools.simulator.build import Built
from services.tools.simulator.plan import Mix
from services.tools.simulator.run import plan_messages
from tests.engine_support import kinds
from tests.reference_copy import REFERENCE

REF = load_reference(REFERENCE)
CODEC = Codec(demo_registry(sender_ids(REF)))
VISIT, REGISTRATION = "yidi.visit.v1", "yidi.registration.v1"
PLAIN = Mix(reversal_share=0, duplicate_share=0, bad_share=0)
UNFILED = Mix(reversal_share=0, duplicate_share=0, bad_share=0, filing_share=0.0)


class Feed:
    """Records in order, each topic's offsets counted from 0, all on partition 0."""

    def __init__(self) -> None:
        self.offsets: Counter[str] = Counter()

    def __call__(self, topic: str, rec: bad.Record) -> InputRecord:
        self.offsets[topic] += 1
        return InputRecord(topic, 0, self.offsets[topic], *rec, 1_790_000_000_000)


def run(task: AdjudicationTask | RegistrationTask, records: list[InputRecord]) -> list[Output]:
    outs: list[Output] = []
    for r in records:
        outs += task.process(r).outputs
    return outs


def _visit(b: Built) -> VisitMessage:
    message = CODEC.decode(*b.record).message
    assert isinstance(message, VisitMessage)
    return message


def test_a_hospital_filing_on_the_visit_topic_changes_no_settlement() -> None:
    """Finding 2: the hospital's own filing made an unfiled person's settlements long-term."""
    messages = plan_messages(REFERENCE, CODEC, 30, seed=5, run_id="own", mix=UNFILED)
    first_visit: dict[str, Built] = {}
    for b in messages:
        if b.topic == VISIT:
            first_visit.setdefault(_visit(b).psn_no, b)
    forged = {
        psn: bad.make("filing_on_visit", b.record, _visit(b), CODEC, b.step.person.certno)
        for psn, b in first_visit.items()
    }

    def records(with_forged: bool) -> list[InputRecord]:
        feed, out = Feed(), []
        for b in messages:
            if with_forged and b.topic == VISIT and first_visit[_visit(b).psn_no] is b:
                topic, rec, _ = forged[_visit(b).psn_no]
                out.append(feed(topic, rec))
            out.append(feed(b.topic, b.record))
        return out

    honest = run(AdjudicationTask(0, {}, CODEC, REF), records(False))
    task = AdjudicationTask(0, {}, CODEC, REF)
    attacked = run(task, records(True))
    assert sum(1 for k in kinds(honest) if k.startswith("ack:rejected")) > 0, "unfiled visits"
    settled = {o.value for o in honest if o.topic == "yidi.settlement.v1"}
    assert {o.value for o in attacked if o.topic == "yidi.settlement.v1"} == settled
    extra = kinds(attacked) - kinds(honest)
    assert extra == Counter(
        {"dlq:E_WRONG_TOPIC": len(forged), "ack:rejected:E_WRONG_TOPIC": len(forged)}
    ), extra
    dead = [parse_dlq(o.value) for o in attacked if o.topic == DLQ_TOPIC]
    assert all(d.authentic and d.stage == "adjudication" for d in dead)


def test_a_visit_event_on_the_registration_topic_gets_one_refusal_and_is_not_applied() -> None:
    """Finding 3: registration said E_UNKNOWN_TYPE, adjudication accepted and applied it."""
    messages = plan_messages(REFERENCE, CODEC, 6, seed=3, run_id="reg", mix=PLAIN)
    feed = Feed()
    records = [feed(b.topic, b.record) for b in messages]
    moved = [feed(REGISTRATION, b.record) for b in messages if b.topic == VISIT]
    adjudication = AdjudicationTask(0, {}, CODEC, REF)
    registration = RegistrationTask(0, {}, CODEC)
    run(adjudication, records)
    run(registration, [r for r in records if r.topic == REGISTRATION])
    before = {w.key: w.value for w in adjudication.flush_state()}
    registration.flush_state()
    registration.rows.drain()  # projected by the honest run

    from_adjudication = run(adjudication, moved)
    from_registration = run(registration, moved)
    assert from_adjudication == [], "the registration topic's verdicts are registration's"
    assert adjudication.flush_state() == [], "nothing applied to the person's state"
    assert registration.flush_state() == [] and len(registration.rows) == 0
    assert kinds(from_registration) == Counter(
        {"dlq:E_WRONG_TOPIC": len(moved), "ack:rejected:E_WRONG_TOPIC": len(moved)}
    )
    assert before, "the honest run did change state"


def test_bad_input_on_the_registration_topic_is_dead_lettered_once() -> None:
    """Finding 5: registration and adjudication both dead-lettered every bad registration input."""
    messages = plan_messages(REFERENCE, CODEC, 12, seed=9, run_id="one", mix=PLAIN)
    feed = Feed()
    regs = [b for b in messages if b.topic == REGISTRATION]
    broken = [
        feed(REGISTRATION, (b.record[0], b.record[1][:-5], b.record[2])) for b in regs[:3]
    ] + [feed(REGISTRATION, (None, *b.record[1:])) for b in regs[3:6]]
    outs = run(AdjudicationTask(0, {}, CODEC, REF), broken) + run(
        RegistrationTask(0, {}, CODEC), broken
    )
    dead = [parse_dlq(o.value) for o in outs if o.topic == DLQ_TOPIC]
    assert len(broken) == 6 and len(dead) == len(broken)
    assert {(d.source.offset, d.stage) for d in dead} == {
        (r.offset, "registration") for r in broken
    }
    assert Counter(d.reason.code for d in dead) == {"E_AUTH_MAC": 3, "E_KEY_MISSING": 3}


def test_a_null_or_foreign_key_on_the_visit_topic_is_refused_and_not_applied() -> None:
    """Finding 4: a null key was accepted, splitting the person's state across partitions."""
    messages = plan_messages(REFERENCE, CODEC, 4, seed=2, run_id="key", mix=PLAIN)
    feed = Feed()
    task = AdjudicationTask(0, {}, CODEC, REF)
    run(task, [feed(b.topic, b.record) for b in messages if b.topic == REGISTRATION])
    task.flush_state()
    visits = [b for b in messages if b.topic == VISIT]
    nulls = [feed(VISIT, (None, *b.record[1:])) for b in visits[:4]]
    foreign = [feed(VISIT, (b"330900:nobody", *b.record[1:])) for b in visits[4:8]]
    outs = run(task, nulls + foreign)
    assert task.flush_state() == []
    assert kinds(outs) == Counter(
        {"dlq:E_KEY_MISSING": 4, "ack:rejected:E_KEY_MISSING": 4, "dlq:E_KEY": 4,
         "ack:rejected:E_KEY": 4}
    )  # fmt: skip


def test_an_unknown_header_is_ignored_and_a_repeated_one_refused_by_the_task() -> None:
    """Finding 7: an extra unknown header got a DLQ record and no ack; two ``ce_source`` were
    read last-wins by the processors (and first-wins by the DLQ tooling)."""
    messages = plan_messages(REFERENCE, CODEC, 4, seed=2, run_id="hdr", mix=PLAIN)
    feed = Feed()
    honest = AdjudicationTask(0, {}, CODEC, REF)
    extra = AdjudicationTask(0, {}, CODEC, REF)
    note = ("x-his-note", "门诊".encode())
    plain_outs, noted_outs = [], []
    for b in messages:
        key, value, headers = b.record
        record = feed(b.topic, b.record)
        plain_outs += honest.process(record).outputs
        noted = dataclasses.replace(record, headers=[*headers, note, note])
        noted_outs += extra.process(noted).outputs
    assert not any(o.topic == DLQ_TOPIC for o in noted_outs)
    assert [o.value for o in noted_outs] == [o.value for o in plain_outs], "acked as without it"

    visit = next(b for b in messages if b.topic == VISIT)
    key, value, headers = visit.record
    twice = [("ce_source", b"urn:yidi:sender:H33090200001"), *headers]
    outs = AdjudicationTask(0, {}, CODEC, REF).process(feed(VISIT, (key, value, twice))).outputs
    assert kinds(outs) == Counter({"dlq:E_DUPLICATE_HEADER": 1})
