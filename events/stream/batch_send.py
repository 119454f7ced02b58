"""Send many records as one batch per partition (aiokafka's ``create_batch``/``send_batch``).

Why: ``AIOKafkaProducer.send`` does per record what a batch needs once: the topic's
metadata lookup, two partition lists for the partitioner, a transaction check, the
accumulator's search for an open batch, and a future (resolved later, with its own
callback) per record. A transaction's outputs and state rows, a thousand or more a second
at the pipeline's peak, paid that in the adjudicator's one core (``MemberTransactions``'s
sends were ~6 % of its samples); so did the load generator for every visit message.

What stays the same: each record goes to the partition ``send`` would pick (the producer's
own partitioner over the same partition lists, once per topic; an explicit partition as
given), in the order given within its partition, with the same key, value and headers and
the producer's timestamp. Batches join the same accumulator as ``send``'s, behind any batch
already queued for the partition, so the order against earlier sends holds too; inside a
transaction each partition is added to it as ``send`` adds it (``send_batch`` goes through
the accumulator's ``_append_batch``, which registers the partition with the transaction).
A batch that fills (the producer's ``max_batch_size``) is queued and the next one started;
a record larger than a batch goes alone, as ``send`` would put it.
``tests/integration/events/stream/test_batch_send.py`` holds the records' partitions,
offsets and order to ``send``'s on the real broker, in and out of a transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from events.stream.types import Output

Headers = list[tuple[str, bytes]]
"""A list: aiokafka's compiled batch builder refuses any other sequence."""
Record = tuple[str, int | None, bytes | None, bytes | None, Headers]
"""(topic, partition or None for the partitioner's choice, key, value, headers)"""


@dataclass(frozen=True, slots=True)
class Placed:
    """One queued batch: its future (the batch's first offset once written) and which of
    the given records it holds, in their order (record ``indices[j]`` lands at the base
    offset + ``j``)."""

    future: asyncio.Future[RecordMetadata]
    indices: list[int]


async def send_batched(producer: AIOKafkaProducer, records: Iterable[Record]) -> list[Placed]:
    """Queue ``records`` as one batch per partition (more if one fills); returns the
    batches. Awaiting their futures is awaiting every record's delivery."""
    groups: dict[tuple[str, int], list[int]] = {}
    rows: list[Record] = []
    partitions: dict[str, tuple[list[int], list[int]]] = {}
    for i, rec in enumerate(records):
        topic, partition, key, _value, _headers = rec
        if partition is None:
            lists = partitions.get(topic)
            if lists is None:
                lists = partitions[topic] = await _partition_lists(producer, topic)
            partition = producer._partitioner(key, *lists)
        rows.append(rec)
        groups.setdefault((topic, partition), []).append(i)
    placed: list[Placed] = []
    for (topic, partition), indices in groups.items():
        builder = producer.create_batch()
        held: list[int] = []
        for i in indices:
            _, _, key, value, headers = rows[i]
            if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                placed.append(await _queue(producer, builder, topic, partition, held))
                builder, held = producer.create_batch(), []
                builder.append(timestamp=None, key=key, value=value, headers=headers)
            held.append(i)
        placed.append(await _queue(producer, builder, topic, partition, held))
    return placed


async def _queue(
    producer: AIOKafkaProducer, builder: object, topic: str, partition: int, held: list[int]
) -> Placed:
    future = await producer.send_batch(builder, topic, partition=partition)
    return Placed(future, held)


async def _partition_lists(producer: AIOKafkaProducer, topic: str) -> tuple[list[int], list[int]]:
    """What ``send`` hands the partitioner for ``topic``: every partition, and those with a
    leader (waiting for the topic's metadata first, as ``send`` does)."""
    await producer.client._wait_on_metadata(topic)
    meta = producer.client.cluster
    return list(meta.partitions_for_topic(topic)), list(meta.available_partitions_for_topic(topic))


def output_records(outputs: Iterable[Output]) -> list[Record]:
    """Outputs as records: to the partition their key picks (``send``'s choice)."""
    return [(o.topic, None, o.key, o.value, o.headers) for o in outputs]


async def send_and_wait(producer: AIOKafkaProducer, records: Iterable[Record]) -> None:
    """``send_batched``, then wait until every record is written (or raise what failed)."""
    placed = await send_batched(producer, records)
    if placed:
        await asyncio.gather(*(batch.future for batch in placed))
