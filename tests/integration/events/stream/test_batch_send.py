"""``send_batched`` against the real broker: every record lands where ``AIOKafkaProducer.send``
puts the same record (partition, and order within it), with the same key, value and headers,
at the offset its ``Placed`` batch says; inside a transaction it is visible to a
read_committed reader only once committed, and gone if aborted; a batch that fills starts
another without reordering anything."""

from __future__ import annotations

from collections import defaultdict

import pytest
from aiokafka import TopicPartition

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream import clients
from events.stream.batch_send import Record, send_batched
from events.stream.reader import read_to_ends
from services.runtime.settings import Settings

PARTITIONS = 3
Landed = dict[int, list[tuple[int, bytes | None, bytes | None, list[tuple[str, bytes]]]]]


def _records(topic: str, n: int, size: int = 40) -> list[Record]:
    """Keyed records (the partitioner picks), explicit partitions, a keyless one, headers."""
    out: list[Record] = []
    for i in range(n):
        key = f"person-{i % 7}".encode() if i % 5 else None
        partition = (i % PARTITIONS) if i % 5 == 0 and i % 10 else None
        value = f"{i:06d}".encode() + b"x" * size
        out.append((topic, partition, key, value, [("n", str(i).encode())]))
    return [r for r in out if not (r[1] is None and r[2] is None)]  # keyless: random partition


async def _landed(settings: Settings, topic: str, committed: bool = True) -> Landed:
    consumer = clients.consumer(
        settings.kafka(), enable_auto_commit=False,
        isolation_level="read_committed" if committed else "read_uncommitted",
    )  # fmt: skip
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got: Landed = defaultdict(list)
        async for rec in read_to_ends(consumer, await consumer.end_offsets(tps)):
            got[rec.partition].append((rec.offset, rec.key, rec.value, list(rec.headers)))
        return got
    finally:
        await consumer.stop()


def _payloads(landed: Landed) -> dict[int, list[tuple[bytes | None, bytes | None, object]]]:
    return {p: [(k, v, h) for _, k, v, h in rows] for p, rows in landed.items()}


@pytest.mark.timeout(120)
async def test_batched_sends_land_as_sends_do(settings: Settings, unique: str) -> None:
    by_send, batched = f"it.bsend.a.{unique}", f"it.bsend.b.{unique}"
    await apply(
        settings.kafka(),
        (Topic(by_send, "k", "t", PARTITIONS), Topic(batched, "k", "t", PARTITIONS)),
        "test",
    )
    # small batches: 120 records of ~60 bytes fill several a partition
    producer = clients.producer(settings.kafka(), max_batch_size=1024)
    await producer.start()
    try:
        for topic, partition, key, value, headers in _records(by_send, 120):
            await producer.send(topic, value, key=key, partition=partition, headers=headers)
        await producer.flush()
        records = _records(batched, 120)
        placed = await send_batched(producer, records)
        metas = [await batch.future for batch in placed]
        assert len(placed) > PARTITIONS, "no batch filled: the overflow path went untested"
        assert sorted(i for batch in placed for i in batch.indices) == list(range(len(records)))
        a, b = await _landed(settings, by_send), await _landed(settings, batched)
        assert _payloads(b) == _payloads(a)
        at = {(p, off): (k, v) for p, rows in b.items() for off, k, v, _ in rows}
        for batch, meta in zip(placed, metas, strict=True):
            for j, i in enumerate(batch.indices):
                _, _, key, value, _ = records[i]
                assert at[(meta.partition, meta.offset + j)] == (key, value)
    finally:
        await producer.stop()
        await delete_topics(settings.kafka(), [by_send, batched])


@pytest.mark.timeout(120)
async def test_batched_sends_commit_and_abort_with_the_transaction(
    settings: Settings, unique: str
) -> None:
    topic = f"it.bsend.t.{unique}"
    await apply(settings.kafka(), (Topic(topic, "k", "t", PARTITIONS),), "test")
    producer = clients.transactional_producer(
        settings.kafka(), client_id="it-bsend", transactional_id=f"it-bsend-{unique}"
    )
    await producer.start()
    try:
        records = _records(topic, 30)
        await producer.begin_transaction()
        await send_batched(producer, records[:10])
        await producer.abort_transaction()
        await producer.begin_transaction()
        placed = await send_batched(producer, records[10:])
        for batch in placed:
            await batch.future
        await producer.commit_transaction()
        committed = await _landed(settings, topic)
        values = sorted(v for rows in committed.values() for _, _, v, _ in rows if v)
        assert values == sorted(r[3] for r in records[10:] if r[3])  # the aborted ten: unseen
        everything = await _landed(settings, topic, committed=False)
        assert sum(len(rows) for rows in everything.values()) == len(records)  # but written
    finally:
        await producer.stop()
        await delete_topics(settings.kafka(), [topic])
