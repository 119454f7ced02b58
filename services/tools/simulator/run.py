"""Publishing a simulated day to the broker and measuring what comes back.

Two phases, as hospitals work: agencies' person and filing messages first
(and the run waits until the adjudicator has consumed them), then visits at
the target rate. Each message's send time is kept; its ack's arrival gives
the latency. Acks are matched by the ``ce_id`` they answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from contracts.ack import Ack
from events import catalog
from events.admin import observe
from events.catalog import ack_topic
from events.stream import clients
from events.stream.clients import OUTAGE_PATIENCE_MS, KafkaConnection
from events.stream.reader import read_to_ends, tail
from events.wire.codec import Codec
from events.wire.limits import ack_ref
from services.tools.simulator.bad import KINDS
from services.tools.simulator.build import Built, build
from services.tools.simulator.plan import Mix, plan_days
from services.tools.simulator.report import AckTally, Report
from services.tools.simulator.send import send_all
from services.tools.simulator.world import hospitals_from_reference, make_persons

SETTLE_TYPE = "cn.yidi.visit.settlement_requested.v1"
NO_ACK = frozenset(k.name for k in KINDS.values() if not k.acked)
"""Bad variants that cannot be authenticated: DLQ only, nobody to ack. (A foreign-signed
message is authentic for its signer, who gets the E_IDENTITY ack.)"""


def plan_messages(
    reference_dir: Path,
    codec: Codec,
    visits: int,
    seed: int,
    run_id: str,
    mix: Mix = Mix(),
    day: dt.date = dt.date(2026, 10, 12),
    days: int = 1,
) -> list[Built]:
    """``visits`` visits a day on ``days`` days from ``day`` (China dates), by the same
    persons; a range across 31 December adds the year-boundary cases (``boundary_steps``)."""
    rng = random.Random(seed)
    hospitals = hospitals_from_reference(reference_dir)
    from services.tools.simulator.world import home_regions

    salt = int(hashlib.sha256(run_id.encode()).hexdigest(), 16) % 1_000_000
    persons = make_persons(rng, home_regions(reference_dir), max(10, visits // 2), salt)
    steps = plan_days(rng, persons, hospitals, visits, day, days, mix, salt)
    return [build(s, codec, run_id) for s in steps]


def plan_costly_stays(
    reference_dir: Path,
    codec: Codec,
    run_id: str,
    home: str,
    persons: int = 3,
    day: dt.date = dt.date(2026, 10, 12),
) -> list[Built]:
    """Residents of ``home`` with two large inpatient bills each in another province (what a
    critical-illness policy change is tested on)."""
    from services.tools.simulator.edge_cases import costly_stays
    from services.tools.simulator.world import Person, make_certno

    rng = random.Random(run_id)
    salt = int(hashlib.sha256(f"costly|{run_id}".encode()).hexdigest(), 16) % 1_000_000
    residents = [
        Person(f"{home}{salt:06d}{i:08d}", make_certno(rng, home), home, "390", "31", False, False)
        for i in range(persons)
    ]
    hospital = next(
        h
        for h in hospitals_from_reference(reference_dir)
        if h.admdvs[:2] != home[:2] and "inpatient" in h.networked and h.items
    )
    return [build(s, codec, run_id) for s in costly_stays(residents, hospital, day, salt)]


def write_jsonl(messages: list[Built], path: Path) -> int:
    """The authentic messages in send order, in ``yidi adjudicate``'s line format."""
    lines = 0
    with path.open("wb") as out:
        for b in messages:
            if b.bad is not None:
                continue
            key, value, headers = b.record
            line = {
                "key": key.decode() if key else None,
                "headers": {k: v.decode() for k, v in headers},
                "body": orjson.loads(value),
            }
            out.write(orjson.dumps(line, option=orjson.OPT_SORT_KEYS) + b"\n")
            lines += 1
    return lines


async def wait_consumed(
    bootstrap: KafkaConnection, group: str, topic: str, timeout_s: float = 120
) -> None:
    """Until ``group`` has committed up to the end of ``topic`` (its registrations are applied).

    One read_committed peek consumer reads every partition's gap at once, and gaps found to
    hold only transaction markers are not read again: a consumer per partition, one after
    another, made each wait on a caught-up sink of a 12-partition transactional topic take
    ~7 s on a loaded 2-core box."""
    tps = await _topic_partitions(bootstrap, [topic])
    consumer = clients.consumer(bootstrap, group_id=group, enable_auto_commit=False)
    peek: AIOKafkaConsumer | None = None
    markers_only: set[tuple[TopicPartition, int, int]] = set()
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            done = True
            try:
                ends = await consumer.end_offsets(tps)
                gaps = set()
                for tp in tps:
                    gap = (tp, await consumer.committed(tp) or 0, ends[tp])
                    if ends[tp] and gap[1] < ends[tp] and gap not in markers_only:
                        gaps.add(gap)
                if gaps:
                    peek = peek or await _peek_consumer(bootstrap)
                    done = await _only_markers(peek, gaps)
                    if done:
                        markers_only |= gaps
            except KafkaError:  # a broker (or every broker) down: ask again until the deadline
                done = False
            if done:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group} did not consume {topic} within {timeout_s}s")
            await asyncio.sleep(0.2)
    finally:
        if peek is not None:
            await peek.stop()
        await consumer.stop()


async def _peek_consumer(bootstrap: KafkaConnection) -> AIOKafkaConsumer:
    """A started read_committed consumer without a group (a failed start is closed again)."""
    peek = clients.consumer(bootstrap, enable_auto_commit=False, isolation_level="read_committed")
    try:
        await peek.start()
    except BaseException:
        await peek.stop()
        raise
    return peek


async def _only_markers(peek: AIOKafkaConsumer, gaps: set[tuple[TopicPartition, int, int]]) -> bool:
    """Whether each ``(tp, start, end)`` holds no committed record in ``[start, end)``: a
    transactional producer's commit marker takes an offset after the last record, so a group
    that consumed every record of a transactional topic commits one short of its end. Read
    together: a marker-only partition returns no record and each fetch that finds none waits
    its whole timeout, so one partition after another took ~0.5 s each."""
    peek.assign([tp for tp, _, _ in gaps])
    for tp, start, _ in gaps:
        peek.seek(tp, start)
    try:
        async for _record in read_to_ends(peek, {tp: end for tp, _, end in gaps}, stall_s=1.0):
            return False  # a committed record the group has not consumed yet
        return True
    except TimeoutError:  # a position did not reach its end within the second: not yet
        return False


async def publish(
    bootstrap: KafkaConnection,
    messages: list[Built],
    rate: float,
    adjudication_group: str,
    ack_timeout_s: float = 60,
    progress: Callable[[int, int], None] | None = None,
    warmup_s: float = 0.0,
    batched: bool = False,
) -> Report:
    """Send ``messages`` at ``rate`` (0: as fast as possible) and count their acks.
    ``batched`` (the pipeline bench) queues a rate-0 run's messages as aiokafka batches, a
    thousand at a time (``send.py``): the load generator's CPU is the box's too."""
    report = Report(warmup_s=warmup_s)
    registration = [b for b in messages if b.topic == catalog.REGISTRATION and b.bad is None]
    visits = [b for b in messages if b.topic != catalog.REGISTRATION or b.bad is not None]
    senders = sorted({b.sender for b in visits})
    # the ack reader waits as the hospital SDK's does (services/sdk/client.py): the broker
    # holds a read_committed fetch for its whole max wait after a transaction's markers (the
    # acks are transactional), so 250 ms here put ~85 ms on every measured ack p50
    consumer = clients.consumer(
        bootstrap, enable_auto_commit=False, isolation_level="read_committed", fetch_max_wait_ms=20
    )
    producer = clients.producer(
        bootstrap, enable_idempotence=True, linger_ms=5, request_timeout_ms=OUTAGE_PATIENCE_MS
    )  # a sender that keeps trying while the cluster is down (broker-fault tests)
    await consumer.start()
    await producer.start()
    sent_at: dict[str, float] = {}
    expected: Counter[str] = Counter()
    try:
        # Pin every ack partition's position at its current end before the first send, so
        # no ack can arrive "before" the consumer and be skipped.
        tps = await _topic_partitions(bootstrap, [ack_topic(s) for s in senders])
        consumer.assign(tps)
        for tp, end in (await consumer.end_offsets(tps)).items():
            consumer.seek(tp, end)
        await send_all(producer, registration, rate=0, report=report, sent_at={})
        await wait_consumed(bootstrap, adjudication_group, catalog.REGISTRATION)
        started = report.visits_started = time.perf_counter()
        for b in visits:
            if b.bad not in NO_ACK:
                expected[ack_ref(b.ce_id)] += 1  # what its ack's ack_for says
        report.expected_acks = sum(expected.values())
        tally = AckTally(expected)
        receiver = asyncio.create_task(_receive(consumer, sent_at, tally, report))
        await send_all(
            producer, visits, rate=rate, report=report, sent_at=sent_at, progress=progress,
            batched=batched,
        )  # fmt: skip
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), ack_timeout_s)
        await asyncio.sleep(0.5)  # let repeated acks, if any, arrive and be counted
        receiver.cancel()
        # a complete run ends at its last ack: the 0.5 s above is the sender's, and was 20 %
        # of a 2.5 s run's time at the pipeline's maximum
        complete = tally.done.is_set() and report.last_ack > started
        report.seconds = (report.last_ack if complete else time.perf_counter()) - started
        report.missing = tally.missing[:100]
        received = tally.received
        report.extra_acks = sum(max(0, received[c] - expected[c]) for c in received if c in sent_at)
        report.foreign_acks = sum(n for c, n in received.items() if c not in sent_at)
        return report
    finally:
        await producer.stop()
        await consumer.stop()


async def _topic_partitions(bootstrap: KafkaConnection, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` (from the broker: a fresh consumer has no metadata yet)."""
    admin = clients.admin(bootstrap, client_id="yidi-simulator")
    await admin.start()
    try:
        observed = await observe(admin, topics)
    finally:
        await admin.close()
    missing = sorted(set(topics) - set(observed))
    if missing:
        raise RuntimeError(f"topics missing (run `yidi topics apply`): {missing[:5]}")
    return [TopicPartition(t, p) for t in topics for p in range(observed[t].partitions)]


_ACK_TYPE = Ack.ce_type.encode()


async def _receive(
    consumer: AIOKafkaConsumer, sent_at: dict[str, float], tally: AckTally, report: Report
) -> None:
    seen_ack_ids: dict[str, tuple[int, int, int]] = {}
    async for records in tail(consumer, poll_ms=100, max_records=2000):
        now = time.perf_counter()
        for rec in records:
            headers = dict(rec.headers)
            if headers.get("ce_type") != _ACK_TYPE:
                continue  # a hospital's ack topic also carries its reconciliation answers
            ack_id = headers["ce_id"].decode()
            first = seen_ack_ids.get(ack_id)
            if first is not None:
                report.repeated_acks += 1  # the same ack again (a processor replay): ignored
                if len(report.repeated) < REPEATS_KEPT:
                    report.repeated.append(_repeat(rec, ack_id, first))
                continue
            seen_ack_ids[ack_id] = (hash(rec.value), rec.partition, rec.offset)
            ack = Ack.model_validate_json(rec.value)
            report.acks[str(ack.status)] += 1
            if ack.status == "accepted" and ack.ack_for_type == SETTLE_TYPE:
                report.settle_acks += 1
            if ack.error is not None:
                report.rejected[ack.error.code] += 1
            first_ack = tally.count(ack.ack_for) == 1
            if ack.ack_for in sent_at:
                report.last_ack = now
                if first_ack:
                    report.record_latency(sent_at[ack.ack_for], now)


REPEATS_KEPT = 20


def _repeat(rec: ConsumerRecord[bytes, bytes], ack_id: str, first: tuple[int, int, int]) -> str:
    """Formatted only for a repeat: the first copy is kept as (value hash, partition, offset)."""
    ack = Ack.model_validate_json(rec.value)
    same = "identical" if hash(rec.value) == first[0] else "DIFFERENT bytes"
    return (
        f"{ack_id} ({ack.ack_for_type} {ack.status}) on {rec.topic} at {first[1]}@{first[2]} and "
        f"{rec.partition}@{rec.offset}: {same}"
    )


def plan_supervision_messages(
    reference_dir: Path,
    codec: Codec,
    visits: int,
    seed: int,
    run_id: str,
    fraud_rate: float,
    day: dt.date = dt.date(2026, 10, 12),
) -> tuple[list[Built], dict[str, Any]]:
    """A supervision day (``services/tools/simulator/fraud.py``): the messages and the plants
    record (every planted pattern with its person and visits, and every person of the run,
    so a report can tell a false positive from another run's alert)."""
    from services.tools.simulator.fraud import (
        institution_days,
        persons_needed,
        plan_supervision_day,
    )
    from services.tools.simulator.world import home_regions

    rng = random.Random(seed)
    hospitals = hospitals_from_reference(reference_dir)
    salt = int(hashlib.sha256(run_id.encode()).hexdigest(), 16) % 1_000_000
    per_pattern = max(1, round(fraud_rate * visits)) if fraud_rate > 0 else 0
    persons = make_persons(
        rng, home_regions(reference_dir), persons_needed(visits, per_pattern), salt
    )
    steps, plants = plan_supervision_day(rng, persons, hospitals, visits, day, fraud_rate, salt)
    record: dict[str, Any] = {
        "run_id": run_id,
        "day": day.isoformat(),
        "fraud_rate": fraud_rate,
        "clean_visits": visits,
        "plants": [
            {"rule_kind": p.rule_kind, "subject": p.subject, "mdtrt_ids": list(p.mdtrt_ids)}
            for p in plants
        ],
        # institution alerts about these days are the run's (persons are the run's own)
        "institution_days": [d.isoformat() for d in institution_days(hospitals, per_pattern, day)],
        # institutions too: an outlier alert on any of them is this run's or a false positive
        "subjects": sorted(
            {f"{p.insuplc_admdvs}:{p.psn_no}" for p in persons}
            | {h.fixmedins_code for h in hospitals}
        ),
    }
    return [build(s, codec, run_id) for s in steps], record
