"""aiokafka's default partitioner with each key's hash remembered.

Why: aiokafka computes a keyed record's partition with ``murmur2`` written in pure Python,
a loop over every four bytes of the key (~4 µs for a 30-byte person key), on every record
it sends. A worker sends the same few thousand keys over and over: the people of its
partitions and the hospitals whose acks it writes. At the pipeline's maximum the hash was
~2 % of the adjudicator's CPU (py-spy, stop 31). Here a key's hash is computed once and
kept in a bounded LRU (``functools.lru_cache``, in C); the partition is picked from it
exactly as ``DefaultPartitioner`` does (``tests/unit/events/test_partitioner.py`` holds the
two equal over arbitrary keys and partition lists).
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import DefaultPartitioner, murmur2

KEYS = 1 << 16
"""Keys whose hash is kept (~150 bytes each: ~10 MB at most per process)."""

_hash = lru_cache(maxsize=KEYS)(murmur2)
_default = DefaultPartitioner()


def partition(
    key: bytes | bytearray | None, all_partitions: list[int], available: list[int]
) -> int:
    """``DefaultPartitioner()(key, all_partitions, available)``, the hash remembered.
    A key that cannot be remembered (not ``bytes``) and a missing key go to aiokafka's."""
    if type(key) is not bytes:
        return int(_default(key, all_partitions, available))
    hashed: int = _hash(key)
    return all_partitions[(hashed & 0x7FFFFFFF) % len(all_partitions)]
