"""The Java client's ceiling: Kafka's own perf tools on the bench's broker, same security.

``kafka-producer-perf-test`` and ``kafka-consumer-perf-test`` are the classes
``org.apache.kafka.tools.ProducerPerformance`` / ``ConsumerPerformance`` of the
``kafka-tools`` jar of the broker's version (``deploy/local/kafka.sh fetch-tools``
fetches it and its classpath from Maven Central, apart from the broker's). They run
as the load generator's principal over SASL_SSL + SCRAM with the cluster's CA, like
every yidi client, with the engine's producer settings (idempotent, ``acks=all``,
512 KB batches, no linger) and its consumer's (``read_committed``, 8 MB per partition
fetch, 20 ms fetch wait). The payloads are the run's own visit messages (values
only: the tools send no headers). What our pipeline achieves is reported as a ratio
of these, measured in the same run on the same broker.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from events.admin import apply, delete_topics
from events.catalog import Topic
from events.stream.clients import OUTAGE_PATIENCE_MS, KafkaConnection

KAFKA_SH = Path(__file__).resolve().parents[3] / "deploy" / "local" / "kafka.sh"
PRODUCER = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER = "org.apache.kafka.tools.ConsumerPerformance"
_SENT = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)")


class JavaPerfUnavailable(RuntimeError):
    """No Java, no Maven or no network for the tools: the ceiling is reported missing."""


@dataclass(frozen=True, slots=True)
class JavaCeiling:
    records: int
    record_bytes: float
    """Mean value size of the payloads sent."""
    producer_per_s: float
    consumer_per_s: float
    """ConsumerPerformance's ``fetch.nMsg.sec``: from the first fetch, the group join apart."""

    def as_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "record_bytes": round(self.record_bytes),
            "producer_msgs_per_s": round(self.producer_per_s),
            "consumer_msgs_per_s": round(self.consumer_per_s),
        }


def tools_classpath() -> str:
    """The perf tools' classpath (fetched on first use, about 40 MB)."""
    if shutil.which("java") is None:
        raise JavaPerfUnavailable("no java on PATH")
    done = subprocess.run(
        [str(KAFKA_SH), "fetch-tools"], capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise JavaPerfUnavailable(f"kafka.sh fetch-tools failed: {done.stderr.strip()[-300:]}")
    return f"{done.stdout.strip().splitlines()[-1]}/*"


def client_properties(conn: KafkaConnection) -> list[str]:
    """The Java client's security settings for ``conn``: the same protocol, mechanism, user
    and CA as the aiokafka clients (``events/stream/clients.py``)."""
    lines = [f"bootstrap.servers={conn.bootstrap}", f"security.protocol={conn.security_protocol}"]
    if conn.uses_sasl:
        module = ("org.apache.kafka.common.security.plain.PlainLoginModule"
                  if conn.sasl_mechanism == "PLAIN"
                  else "org.apache.kafka.common.security.scram.ScramLoginModule")  # fmt: skip
        lines += [
            f"sasl.mechanism={conn.sasl_mechanism}",
            f'sasl.jaas.config={module} required username="{conn.user}" '
            f'password="{conn.password}";',
        ]
    if conn.uses_tls and conn.ca_file:
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={conn.ca_file}"]
    return lines


ENGINE_PRODUCER = [
    "acks=all", "enable.idempotence=true", "linger.ms=0", f"batch.size={512 * 1024}",
    f"max.request.size={8 * 1024 * 1024}", f"delivery.timeout.ms={OUTAGE_PATIENCE_MS}",
    f"request.timeout.ms={OUTAGE_PATIENCE_MS}",
]  # fmt: skip
"""``clients.idempotent_producer`` with the engine's ``linger_ms=0``."""
ENGINE_CONSUMER = [
    "isolation.level=read_committed", "auto.offset.reset=earliest",
    f"max.partition.fetch.bytes={8 * 1024 * 1024}", "fetch.max.wait.ms=20", "fetch.min.bytes=1",
]  # fmt: skip
"""``clients.group_consumer`` with a processor's 20 ms fetch wait."""


def _java(classpath: str, main: str, args: list[str], timeout_s: float) -> str:
    done = subprocess.run(
        ["java", "-Xms256m", "-Xmx512m", "-Dlog4j2.level=warn", "-cp", classpath, main, *args],
        capture_output=True, text=True, check=False, timeout=timeout_s,
    )  # fmt: skip
    if done.returncode != 0:
        raise JavaPerfUnavailable(f"{main} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return done.stdout


def parse_producer(out: str) -> float:
    """The final summary line: ``N records sent, X records/sec (Y MB/sec), ...``."""
    found = _SENT.findall(out)
    if not found:
        raise JavaPerfUnavailable(f"no summary from ProducerPerformance: {out[-300:]}")
    return float(found[-1][1])


def parse_consumer(out: str) -> tuple[int, float]:
    """(messages, ``fetch.nMsg.sec``) from the header and values lines."""
    lines = [ln for ln in out.splitlines() if ln.strip()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("start.time"):
            row = dict(
                zip((h.strip() for h in line.split(",")),
                    (v.strip() for v in lines[i + 1].split(",")), strict=False)
            )  # fmt: skip
            return int(row["data.consumed.in.nMsg"]), float(row["fetch.nMsg.sec"])
    raise JavaPerfUnavailable(f"no summary from ConsumerPerformance: {out[-300:]}")


async def measure(
    conn: KafkaConnection, payloads: Sequence[bytes], records: int, partitions: int = 12
) -> JavaCeiling:
    """Produce ``records`` (drawn from ``payloads``) to a scratch topic of ``partitions``,
    then consume them back; the topic is deleted afterwards."""
    classpath = tools_classpath()
    topic = f"bench.raw.java-{uuid.uuid4().hex[:8]}"
    await apply(
        conn, (Topic(topic, "bench", "java ceiling", partitions, retention_ms=3_600_000),), "test"
    )
    work = Path(tempfile.mkdtemp(prefix="yidi-javaperf-"))  # 0700: the password file
    try:
        props = work / "client.properties"
        fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(client_properties(conn)) + "\n")
        payload_file = work / "payloads.txt"
        values = [p for p in payloads if b"\n" not in p]
        payload_file.write_bytes(b"\n".join(values))
        timeout = 120 + records / 1000
        producer = _java(classpath, PRODUCER, [
            "--topic", topic, "--num-records", str(records), "--throughput", "-1",
            "--payload-file", str(payload_file), "--producer.config", str(props),
            "--producer-props", *ENGINE_PRODUCER, "client.id=yidi-bench-java-producer",
        ], timeout)  # fmt: skip
        with props.open("a") as f:
            f.write("\n".join(ENGINE_CONSUMER) + "\n")
        consumer = _java(classpath, CONSUMER, [
            "--bootstrap-server", conn.bootstrap, "--topic", topic, "--messages", str(records),
            "--group", f"{topic}-group", "--consumer.config", str(props), "--timeout", "30000",
        ], timeout)  # fmt: skip
        consumed, consumer_per_s = parse_consumer(consumer)
        if consumed < records:
            raise JavaPerfUnavailable(f"ConsumerPerformance read {consumed} of {records}")
        mean = sum(len(v) for v in values) / len(values) if values else 0.0
        return JavaCeiling(records, mean, parse_producer(producer), consumer_per_s)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        await delete_topics(conn, [topic])
