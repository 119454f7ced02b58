"""The remembered-hash partitioner picks what aiokafka's default partitioner picks.

Why: a record in another partition than ``send`` would choose breaks the per-key order every
processor relies on (a person's events in one partition) and the acks' routing; the cache
must never change a choice, whether the key is met first or again.
"""

from __future__ import annotations

import asyncio

from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given
from hypothesis import strategies as st

from events.stream import clients, partitioner
from events.stream.clients import KafkaConnection

DEFAULT = DefaultPartitioner()
partition_lists = st.integers(1, 64).map(lambda n: list(range(n)))


@given(st.lists(st.binary(max_size=80), min_size=1, max_size=20), partition_lists)
def test_same_partition_as_aiokafka_first_time_and_again(
    keys: list[bytes], parts: list[int]
) -> None:
    for key in keys + keys:  # the second pass reads the remembered hashes
        assert partitioner.partition(key, parts, parts) == DEFAULT(key, parts, parts)


@given(st.binary(min_size=1, max_size=40))
def test_a_key_differing_in_one_byte_is_not_served_the_remembered_hash(key: bytes) -> None:
    other = bytes([key[0] ^ 1]) + key[1:]
    partitioner.partition(key, [0], [0])
    parts = list(range(1_000_003))  # a large count: distinct hashes almost surely differ here
    assert partitioner.partition(other, parts, parts) == (murmur2(other) & 0x7FFFFFFF) % len(parts)


def test_no_key_and_unhashable_keys_go_to_aiokafka() -> None:
    assert partitioner.partition(None, [0, 1, 2], [2]) == 2  # random among the available
    raw = bytearray(b"320500:32050087767800000442")
    assert partitioner.partition(raw, list(range(12)), []) == DEFAULT(
        bytes(raw), list(range(12)), []
    )


def test_the_factory_gives_every_producer_this_partitioner() -> None:
    async def build() -> object:
        producer = clients.producer(KafkaConnection("127.0.0.1:1"))
        return producer._partitioner

    assert asyncio.run(build()) is partitioner.partition
