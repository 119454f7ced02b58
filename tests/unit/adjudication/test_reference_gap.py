"""A settlement refused because reference data lacks the institution is dead-lettered, and the
same signed bytes, redriven after the institution is added, settle exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from contracts.ack import Ack
from events.dlq import DLQ_TOPIC, parse_dlq
from events.stream.types import InputRecord, Output
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.offline import run as offline_run
from services.adjudication.reference import load_reference
from services.adjudication.task import AdjudicationTask
from services.entry.bootstrap import sender_ids
from services.ops.core.dlq import DlqEntry, DlqPosition
from services.ops.core.redrive import outgoing
from services.tools.simulator.plan import Mix
from services.tools.simulator.run import plan_messages, write_jsonl
from tests.engine_support import kinds
from tests.reference_copy import REFERENCE, reference_copy

HOSPITAL = "H33042100001"
PLAIN = Mix(reversal_share=0, duplicate_share=0, bad_share=0)
SETTLED = "cn.yidi.settlement.settled.v1"
SETTLE = "cn.yidi.visit.settlement_requested.v1"


def acked(outputs: list[Output], status: str) -> dict[str, str | None]:
    """ack_for -> setl_id of settlement requests' acks with ``status``."""
    acks = [Ack.model_validate_json(o.value) for o in outputs if o.topic.startswith("yidi.ack.")]
    return {a.ack_for: a.setl_id for a in acks if a.status == status and a.ack_for_type == SETTLE}


def test_unknown_institution_is_dead_lettered_then_settles_once_when_redriven(
    tmp_path: Path,
) -> None:
    full = load_reference(REFERENCE)
    codec = Codec(demo_registry(sender_ids(full)))
    only = reference_copy(tmp_path / "only", lambda i: i["fixmedins_code"] == HOSPITAL)
    without = reference_copy(tmp_path / "without", lambda i: i["fixmedins_code"] != HOSPITAL)
    messages = plan_messages(only, codec, 6, seed=4, run_id="gap", mix=PLAIN)
    offsets: Counter[str] = Counter()

    def record(
        topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> InputRecord:
        offsets[topic] += 1
        return InputRecord(topic, 0, offsets[topic], key, value, headers, 1_790_000_000_000)

    before = AdjudicationTask(0, {}, codec, load_reference(without))
    first: list[Output] = []
    for b in messages:
        first += before.process(record(b.topic, *b.record)).outputs
    refused = kinds(first)
    dead = [o for o in first if o.topic == DLQ_TOPIC]
    assert dead and refused["settlement"] == 0
    assert refused["dlq:E_UNKNOWN_INSTITUTION"] == len(dead)
    assert refused["ack:rejected:E_UNKNOWN_INSTITUTION"] == len(dead), "the sender is told too"

    after = AdjudicationTask(0, {w.key: w.value for w in before.flush_state()}, codec, full)
    entries = [
        DlqEntry(DLQ_TOPIC, DlqPosition(0, i), 0, parse_dlq(o.value)) for i, o in enumerate(dead)
    ]
    redriven: list[Output] = []
    for e in entries:
        o = outgoing(e, attempt=1)
        redriven += after.process(record(o.topic, o.key, o.value, o.headers)).outputs
    settled = {o.value for o in redriven if o.topic == "yidi.settlement.v1"}
    assert not any(o.topic == DLQ_TOPIC for o in redriven)

    events = tmp_path / "events.jsonl"
    write_jsonl(messages, events)
    with events.open("rb") as lines:
        outputs, _ = offline_run(lines, full)
        expected = {
            orjson.dumps(doc["body"], option=orjson.OPT_SORT_KEYS)
            for doc in map(orjson.loads, outputs)
            if doc["headers"]["ce_type"] == SETTLED and not doc["body"].get("pre_settlement")
        }
    assert settled == expected and expected, "redriven late, settled exactly as if on time"

    again: list[Output] = []
    last: InputRecord | None = None
    for e in entries:
        o = outgoing(e, attempt=2, forced=True)
        last = record(o.topic, o.key, o.value, o.headers)
        again += after.process(last).outputs
    repeat = kinds(again)
    first_time = kinds(redriven)
    assert first_time["ack:accepted:"] > 0
    rejected_again = {k: n for k, n in first_time.items() if k.startswith("ack:rejected:")}
    assert repeat == Counter({"ack:duplicate:": first_time["ack:accepted:"], **rejected_again}), (
        "a second redrive only re-acks: duplicate with the original result, or the same refusal"
    )
    assert acked(again, "duplicate") == acked(redriven, "accepted"), "same setl_id per request"
    assert len(acked(again, "duplicate")) == len(settled)
    assert last is not None and after.process(last).outputs == [], "a replayed offset: nothing"
