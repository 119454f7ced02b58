"""Records aiokafka cannot parse, read anyway: the one adapter over aiokafka's fetcher.

Why this exists: a record header's *name* must be UTF-8 (Kafka's protocol type String), but
the broker does not check it. aiokafka's record parser (the C extension and the pure-Python
path alike) decodes each name while it iterates a fetched batch and raises
``UnicodeDecodeError`` from inside ``consumer.getmany``. The exception loses every record
drained in that call (their partitions' positions have already moved on), and the partition
can never be read past the record: seeking beyond it fetches the same batch, whose earlier
records are parsed (and the bad one fails) before any offset is compared. One record from
any producer would stop every worker that reads its partition.

What it does: the fetcher builds one ``MemoryRecords`` per fetched partition. ``install``
replaces that name in ``aiokafka.consumer.fetcher`` (nowhere else) with
``SalvagingMemoryRecords``, which hands out the very same batch objects wrapped in a thin
proxy. While the C parser succeeds the proxy only forwards; when it raises in the middle of
a batch, the proxy parses the rest of that batch itself (``parse_batch``: the v2 record
format, with header names kept as bytes) and yields its records in order. A record whose
header names are not UTF-8 comes out as an ordinary ``ConsumerRecord`` at its own offset
whose header names are ``RawName`` strings carrying the wire bytes and the damage;
``events.stream.clients.to_input`` turns that into ``InputRecord.damaged`` and the engine
dead-letters it by position, never handing it to a task. Records after it in the batch are
read normally, and the fetch position moves past the batch as usual.

Why a global replacement: aiokafka builds these objects inside its fetch routine from a
module-level name and offers no hook; every other route (a second fetch path with our own
protocol requests, re-fetching partitions one by one) still cannot read past the bad record
within its batch. Well-formed batches go through the unchanged C path, record for record.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import aiokafka.consumer.fetcher as _fetcher
from aiokafka.codec import gzip_decode, lz4_decode, snappy_decode, zstd_decode

_ORIGINAL = _fetcher.MemoryRecords
_HEADER = struct.Struct(">qiibIhiqqqhii")  # the v2 record batch header, 61 bytes
_LOG_OVERHEAD = 12
_CODECS = {1: gzip_decode, 2: snappy_decode, 3: lz4_decode, 4: zstd_decode}


class RawName(str):
    """A header name as text for display (invalid bytes shown as ``\\xNN``), with the bytes
    that were on the wire and why the record could not be parsed."""

    raw: bytes
    damage: str
    synthetic: bool

    def __new__(cls, raw: bytes, damage: str, *, synthetic: bool = False) -> RawName:
        self = super().__new__(cls, raw.decode("utf-8", "backslashreplace"))
        self.raw = raw
        self.damage = damage
        self.synthetic = synthetic
        return self


class SalvagedRecord:
    """What the fetcher reads from a parsed record (the attributes of aiokafka's own)."""

    __slots__ = ("headers", "key", "offset", "timestamp", "timestamp_type", "value")
    checksum = None

    def __init__(
        self,
        offset: int,
        timestamp: int,
        timestamp_type: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes | None]],
    ) -> None:
        self.offset = offset
        self.timestamp = timestamp
        self.timestamp_type = timestamp_type
        self.key = key
        self.value = value
        self.headers = headers


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    """A zig-zag varint (Kafka's record fields) at ``pos``; IndexError past the end."""
    shift = result = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _bytes(buf: memoryview, pos: int) -> tuple[bytes | None, int]:
    size, pos = _varint(buf, pos)
    if size < 0:
        return None, pos
    if pos + size > len(buf):
        raise ValueError("field runs past the record batch")
    return bytes(buf[pos : pos + size]), pos + size


def parse_batch(raw: bytes | memoryview, skip: int = 0) -> Iterator[SalvagedRecord]:
    """The records of one v2 record batch from index ``skip`` on. A record whose header
    names are not UTF-8 keeps them as ``RawName``; a record that cannot be parsed at all
    ends the batch with one synthetic damaged record at the next offset."""
    buf = memoryview(raw)
    (base_offset, _length, _epoch, magic, _crc, attributes, last_delta, first_ts, max_ts,
     _pid, _pepoch, _seq, count) = _HEADER.unpack_from(buf, 0)  # fmt: skip
    if magic != 2:
        raise ValueError(f"record batch magic {magic}: only v2 batches carry headers")
    log_append = bool(attributes & 0x08)
    codec = attributes & 0x07
    body: memoryview = buf[_HEADER.size :]
    if codec:
        body = memoryview(bytes(_CODECS[codec](body if codec == 1 else body.tobytes())))
    pos = 0
    offset = base_offset + skip - 1
    for index in range(count):
        try:
            record, pos = _record(body, pos, base_offset, first_ts, max_ts, log_append)
        except (ValueError, IndexError) as exc:
            at, last = min(offset + 1, base_offset + last_delta), base_offset + last_delta
            damage = f"record batch unreadable at offsets {at}..{last} ({type(exc).__name__})"
            if index >= skip:  # one damaged record stands for the unreadable rest
                yield SalvagedRecord(
                    at, max_ts, int(log_append), None, None,
                    [(RawName(b"", damage, synthetic=True), b"")],
                )  # fmt: skip
            return
        if index >= skip:
            offset = record.offset
            yield record


def _record(
    buf: memoryview, pos: int, base_offset: int, first_ts: int, max_ts: int, log_append: bool
) -> tuple[SalvagedRecord, int]:
    length, pos = _varint(buf, pos)
    end = pos + length
    if length < 0 or end > len(buf):
        raise ValueError("record length runs past the batch")
    pos += 1  # attributes
    ts_delta, pos = _varint(buf, pos)
    offset_delta, pos = _varint(buf, pos)
    key, pos = _bytes(buf, pos)
    value, pos = _bytes(buf, pos)
    count, pos = _varint(buf, pos)
    if count < 0:
        raise ValueError("negative header count")
    names: list[bytes] = []
    values: list[bytes | None] = []
    for _ in range(count):
        name, pos = _bytes(buf, pos)
        if name is None:
            raise ValueError("null header name")
        raw, pos = _bytes(buf, pos)
        names.append(name)
        values.append(raw)
    if pos != end:
        raise ValueError("record length does not match its fields")
    headers: list[tuple[str, bytes | None]]
    try:
        headers = [(n.decode("utf-8"), v) for n, v in zip(names, values, strict=True)]
    except UnicodeDecodeError:
        damage = "a record header name is not UTF-8"
        headers = [(RawName(n, damage), v) for n, v in zip(names, values, strict=True)]
    timestamp = max_ts if log_append else first_ts + ts_delta
    record = SalvagedRecord(
        base_offset + offset_delta, timestamp, int(log_append), key, value, headers
    )
    return record, end


class _SalvagingBatch:
    """aiokafka's own batch object, forwarded; parses the rest itself after a failure."""

    __slots__ = ("_batch", "_done", "_it", "_raw", "_salvage")

    def __init__(self, batch: Any, raw: memoryview) -> None:
        self._batch = batch
        self._raw = raw
        self._it: Any = None
        self._done = 0
        self._salvage: Iterator[SalvagedRecord] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def __iter__(self) -> _SalvagingBatch:
        self._it = iter(self._batch)
        return self

    def __next__(self) -> Any:
        if self._salvage is not None:
            return next(self._salvage)
        if self._it is None:
            self._it = self._batch  # a control batch is read with next() alone
        try:
            record = next(self._it)
        except StopIteration:
            raise
        except Exception:  # the C parser's failure: read the rest of the batch ourselves
            self._salvage = parse_batch(self._raw, self._done)
            return next(self._salvage)
        self._done += 1
        return record


class SalvagingMemoryRecords:
    """``MemoryRecords`` for one fetched partition, handing out salvaging batches."""

    __slots__ = ("_pos", "_raw", "_records")

    def __init__(self, raw: bytes) -> None:
        self._raw = memoryview(raw)
        self._records = _ORIGINAL(raw)
        self._pos = 0

    def size_in_bytes(self) -> int:
        return int(self._records.size_in_bytes())

    def has_next(self) -> bool:
        return bool(self._records.has_next())

    def next_batch(self) -> Any:
        batch = self._records.next_batch()
        if batch is None:
            return None
        start = self._pos  # the same framing MemoryRecords reads: offset, length, batch
        (size,) = struct.unpack_from(">i", self._raw, start + 8)
        self._pos = start + _LOG_OVERHEAD + size
        if getattr(batch, "magic", 2) != 2:
            return batch  # legacy formats have no headers
        return _SalvagingBatch(batch, self._raw[start : self._pos])


def install() -> None:
    """Make every consumer in this process salvage unparseable records (idempotent)."""
    if _fetcher.MemoryRecords is _ORIGINAL:
        _fetcher.MemoryRecords = SalvagingMemoryRecords


def installed() -> bool:
    return _fetcher.MemoryRecords is SalvagingMemoryRecords
