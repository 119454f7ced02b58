"""Kafka v2 record batches built byte by byte, and sent with a bare produce request.

Why: every Kafka client encodes header names from text, so none can publish what a faulty
or hostile producer can: a header name that is not UTF-8. The broker accepts it (it never
decodes names); these helpers build such a batch and put it on a live topic.
"""

from __future__ import annotations

import gzip
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import TopicPartition
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.util import calc_crc32c

from events.stream import clients
from events.stream.clients import KafkaConnection


@dataclass(frozen=True)
class RawRecord:
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[bytes, bytes | None]] = field(default_factory=tuple)


def _varint(value: int) -> bytes:
    zz = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = zz & 0x7F
        zz >>= 7
        if zz:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(raw: bytes | None) -> bytes:
    return _varint(-1) if raw is None else _varint(len(raw)) + raw


def _record(index: int, rec: RawRecord) -> bytes:
    body = b"\x00" + _varint(0) + _varint(index) + _field(rec.key) + _field(rec.value)
    body += _varint(len(rec.headers))
    for name, value in rec.headers:
        body += _field(name) + _field(value)
    return _varint(len(body)) + body


def batch(
    records: Sequence[RawRecord], *, compress: bool = False, timestamp_ms: int | None = None
) -> bytes:
    """One v2 record batch (base offset 0: the broker assigns offsets), gzip when asked."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    payload = b"".join(_record(i, r) for i, r in enumerate(records))
    attributes = 1 if compress else 0
    if compress:
        payload = gzip.compress(payload)
    after_crc = (
        struct.pack(">hiqqqhii", attributes, len(records) - 1, ts, ts, -1, -1, -1, len(records))
        + payload
    )
    crc = calc_crc32c(after_crc)
    after_length = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


async def produce_batch(bootstrap: KafkaConnection, topic: str, partition: int, raw: bytes) -> None:
    """Send ``raw`` as it is to ``topic``/``partition`` (acks=all); raise on a broker error."""
    client = clients.raw_client(bootstrap, client_id="yidi-test-raw")
    await client.bootstrap()
    try:
        await client._wait_on_metadata(topic)
        leader = client.cluster.leader_for_partition(TopicPartition(topic, partition))
        assert leader is not None and leader >= 0, f"no leader for {topic}/{partition}"
        request = ProduceRequest(
            transactional_id=None, required_acks=-1, timeout=30_000,
            topics=[(topic, [(partition, raw)])],
        )  # fmt: skip
        response = await client.send(leader, request)
        for _topic, parts in response.topics:
            for part in parts:
                assert part[1] == 0, f"produce refused: error code {part[1]}"
    finally:
        await client.close()
