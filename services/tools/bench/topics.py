"""What isolating acks by topic costs the broker: ``yidi bench topics``.

Why: a hospital reads only its own acks because it has READ on one topic
(``yidi.ack.v1.<code>``); a province has tens of thousands of networked institutions.
This measures, on the broker it is pointed at, what N single-partition topics cost
(creation time, heap after a full GC, the size of a full metadata response, the
KRaft metadata log, open files, a new consumer's time to its first assignment) and the
same for the alternative: a few per-region topics, where isolation would need a
filtering gateway because a Kafka ACL cannot confine a reader to some keys of a topic.

The heap and file counts need the broker's pid (``jcmd`` / ``/proc``): the local
broker's ``.run/kafka/kafka.pid`` by default. The benchmark creates its topics under
its own prefix and deletes them at the end (``keep=False``).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.metadata import MetadataRequest

from events.stream import clients
from events.stream.clients import KafkaConnection

PREFIX = "yidi.bench.topics."
BATCH = 500
"""Topics per CreateTopics request: one request for 10,000 times out on a small broker."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The broker's cost at one moment."""

    topics: int
    partitions: int
    heap_used_mib: float | None
    open_files: int | None
    rss_mib: float | None
    metadata_response_bytes: int
    metadata_fetch_ms: float
    metadata_log_bytes: int | None
    consumer_first_assignment_ms: float


@dataclass(frozen=True, slots=True)
class SchemeResult:
    scheme: str
    created: int
    create_s: float
    before: Snapshot
    after: Snapshot
    delete_s: float | None


def heap_used_mib(pid: int) -> float | None:
    """Heap in use right after a full GC (``jcmd GC.run`` then ``GC.heap_info``)."""
    try:
        subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True, check=True, timeout=60)
        out = subprocess.run(
            ["jcmd", str(pid), "GC.heap_info"], capture_output=True, check=True, timeout=60,
            text=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"total \d+K, used (\d+)K", out)
    return round(int(m.group(1)) / 1024, 1) if m else None


def _open_files(pid: int) -> int | None:
    try:
        return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return None


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _dir_bytes(path: Path) -> int | None:
    if not path.is_dir():
        return None
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


async def _metadata(bootstrap: KafkaConnection) -> tuple[int, float, int, int]:
    """A full metadata request (every topic) as a new client sends it: bytes, ms, topics,
    partitions."""
    client = clients.raw_client(bootstrap, client_id="yidi-bench-topics")
    await client.bootstrap()
    try:
        node = client.get_random_node()
        conn = await client._get_conn(node)  # the raw response, for its size
        assert conn is not None
        t0 = time.perf_counter()
        response = await conn.send(MetadataRequest(None))
        ms = (time.perf_counter() - t0) * 1000
        size = len(response.encode())
        topics = [t for t in response.topics if not t[1].startswith("__")]
        return size, ms, len(topics), sum(len(t[3]) for t in topics)
    finally:
        await client.close()


async def _first_assignment_ms(bootstrap: KafkaConnection, topic: str) -> float:
    """A new consumer group member on one topic: start, join, first assignment."""
    consumer = clients.consumer(
        bootstrap, topic, group_id=f"yidi-bench-topics-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False, auto_offset_reset="earliest",
    )  # fmt: skip
    t0 = time.perf_counter()
    await consumer.start()
    try:
        while True:  # the group coordinator joins in the background
            if consumer.assignment():
                break
            await asyncio.sleep(0.01)
        return (time.perf_counter() - t0) * 1000
    finally:
        await consumer.stop()


async def snapshot(
    bootstrap: KafkaConnection, pid: int | None, data_dir: Path | None, probe: str
) -> Snapshot:
    size, ms, topics, partitions = await _metadata(bootstrap)
    return Snapshot(
        topics=topics,
        partitions=partitions,
        heap_used_mib=heap_used_mib(pid) if pid else None,
        open_files=_open_files(pid) if pid else None,
        rss_mib=_rss_mib(pid) if pid else None,
        metadata_response_bytes=size,
        metadata_fetch_ms=round(ms, 1),
        metadata_log_bytes=_dir_bytes(data_dir / "__cluster_metadata-0") if data_dir else None,
        consumer_first_assignment_ms=round(await _first_assignment_ms(bootstrap, probe), 1),
    )


async def _create(admin: AIOKafkaAdminClient, names: list[str], partitions: int) -> None:
    for i in range(0, len(names), BATCH):
        chunk = [NewTopic(n, partitions, 1) for n in names[i : i + BATCH]]
        resp = await admin.create_topics(chunk, timeout_ms=120_000)
        for err in resp.to_object()["topic_errors"]:
            if err["error_code"] not in (0, 36):
                raise RuntimeError(f"{err['topic']}: {err['error_message']}")
    while True:
        if set(names) <= set(await admin.list_topics()):
            break
        await asyncio.sleep(0.2)


async def _delete(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    for i in range(0, len(names), BATCH):
        await admin.delete_topics(names[i : i + BATCH], timeout_ms=120_000)


async def run_scheme(
    bootstrap: KafkaConnection,
    scheme: str,
    count: int,
    partitions: int,
    pid: int | None,
    data_dir: Path | None,
    keep: bool = False,
) -> SchemeResult:
    """Create ``count`` topics of ``partitions`` each, snapshot before and after, delete."""
    tag = uuid.uuid4().hex[:6]
    names = [f"{PREFIX}{scheme}.{tag}.{i:06d}" for i in range(count)]
    admin = clients.admin(bootstrap, client_id="yidi-bench-topics")
    await admin.start()
    try:
        probe = f"{PREFIX}probe.{tag}"
        await _create(admin, [probe], 1)
        await _first_assignment_ms(bootstrap, probe)  # warm-up: the coordinator's first load
        before = await snapshot(bootstrap, pid, data_dir, probe)
        t0 = time.perf_counter()
        await _create(admin, names, partitions)
        create_s = time.perf_counter() - t0
        await asyncio.sleep(2)  # let the log directories and metadata image settle
        after = await snapshot(bootstrap, pid, data_dir, probe)
        delete_s = None
        if not keep:
            t0 = time.perf_counter()
            await _delete(admin, [*names, probe])
            delete_s = round(time.perf_counter() - t0, 2)
        return SchemeResult(scheme, count, round(create_s, 2), before, after, delete_s)
    finally:
        await admin.close()


def as_dict(result: SchemeResult) -> dict[str, object]:
    return asdict(result)
