"""The pipeline bench's baselines and CPU accounting, without a broker: what is read from
Kafka's Java perf tools, the client settings they run with, which processes are metered and
how CPU becomes µs per settlement. The live run is ``tests/e2e/test_bench_pipeline.py``."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import psutil
import pytest

from events.stream.clients import KafkaConnection
from services.tools.bench import java_perf
from services.tools.bench.cpu import (
    LOAD_GENERATOR,
    CpuMeter,
    _listens_on,
    bootstrap_ports,
    database_port,
    per_settlement_us,
)
from services.tools.bench.pipeline import ratios

# the tools' own output (Kafka 4.1.1), kept verbatim
PRODUCER_OUT = """\
48110 records sent, 9622.0 records/sec (8.83 MB/sec), 1510.4 ms avg latency, 2421.0 ms max latency.
100000 records sent, 18126.7 records/sec (16.63 MB/sec), 1402.27 ms avg latency, \
2421.00 ms max latency, 1300 ms 50th, 2200 ms 95th, 2350 ms 99th, 2410 ms 99.9th.
"""
CONSUMER_OUT = """\
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-12-03 16:30:01:000, 2026-12-03 16:30:05:000, 91.7, 22.9, 100000, 25000.0, 3000, 1000, \
91.7, 100000.0
"""


def test_the_producer_summary_is_the_last_line_not_a_progress_line() -> None:
    assert java_perf.parse_producer(PRODUCER_OUT) == 18126.7


def test_the_consumer_rate_leaves_the_group_join_out() -> None:
    assert java_perf.parse_consumer(CONSUMER_OUT) == (100000, 100000.0)


@pytest.mark.parametrize("parse", [java_perf.parse_producer, java_perf.parse_consumer])
def test_output_without_a_summary_is_an_error_not_a_zero(parse: object) -> None:
    with pytest.raises(java_perf.JavaPerfUnavailable, match="no summary"):
        parse("Exception in thread main: TopicAuthorizationException\n")  # type: ignore[operator]


def test_java_clients_log_in_like_every_yidi_client() -> None:
    conn = KafkaConnection("127.0.0.1:39392", "SASL_SSL", "SCRAM-SHA-512", "sim", "pw", "/ca.pem")
    lines = java_perf.client_properties(conn)
    assert lines == [
        "bootstrap.servers=127.0.0.1:39392",
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="sim" password="pw";',
        "ssl.truststore.type=PEM",
        "ssl.truststore.location=/ca.pem",
    ]
    assert java_perf.client_properties(KafkaConnection("h:1")) == [
        "bootstrap.servers=h:1", "security.protocol=PLAINTEXT",
    ]  # fmt: skip


def test_java_producer_mirrors_the_engine_producer() -> None:
    """``clients.idempotent_producer`` with the engine's linger of 0."""
    props = dict(line.split("=", 1) for line in java_perf.ENGINE_PRODUCER)
    assert props["enable.idempotence"] == "true" and props["acks"] == "all"
    assert (props["linger.ms"], props["batch.size"]) == ("0", str(512 * 1024))
    consumer = dict(line.split("=", 1) for line in java_perf.ENGINE_CONSUMER)
    assert consumer["isolation.level"] == "read_committed"
    assert consumer["max.partition.fetch.bytes"] == str(8 * 1024 * 1024)


def test_cpu_per_settlement_keeps_the_load_generator_apart() -> None:
    cpu = {"adjudication": 0.6, "kafka": 0.3, "postgresql": 0.1, LOAD_GENERATOR: 0.5}
    assert per_settlement_us(cpu, 1000) == {
        "system_total": 1000,
        "load_generator": 500,
        "by_component": {"adjudication": 600, "kafka": 300, "postgresql": 100},
    }
    assert per_settlement_us(cpu, 0) == {}


def test_ratios_to_each_baseline() -> None:
    java: dict[str, object] = {"producer_msgs_per_s": 8000, "consumer_msgs_per_s": 20000}
    assert ratios(2000.0, 10000.0, java) == {
        "to_raw_aiokafka": 0.2, "to_java_producer": 0.25, "to_java_consumer": 0.1,
    }  # fmt: skip
    missing = ratios(2000.0, 10000.0, {"unavailable": "no java on PATH"})
    assert missing["to_java_producer"] is None and missing["to_java_consumer"] is None


def test_ports_of_the_bench_settings() -> None:
    assert bootstrap_ports("127.0.0.1:39392,127.0.0.1:39492") == {39392, 39492}
    assert database_port("postgresql://yidi@127.0.0.1:55732/yidi") == 55732
    assert database_port("postgresql://yidi@db/yidi") == 5432


def test_only_the_broker_listening_on_the_bench_port_is_metered() -> None:
    """Another stack's broker on the same machine is not ours: with ports given, a process
    counts as the bench's broker or postmaster only if it listens on one of them. This
    process listens on ``port`` (so it would be found) but is neither a ``kafka.Kafka`` JVM
    nor a postmaster, so none is found."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert _listens_on(psutil.Process(), {port})
        assert not _listens_on(psutil.Process(), {port + 1})
        meter = CpuMeter({}, kafka_ports={port}, pg_port=port)
        assert meter.groups["kafka"] == [] and meter.postmasters == []
        assert meter.pids[LOAD_GENERATOR] == [os.getpid()]


async def test_metering_starts_once_the_workers_have_worked_off_their_backlog() -> None:
    """A worker still busy with no traffic sent (a backlog) is waited for; an idle one not."""
    busy = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time\nwhile time.process_time() < 1.0: pass"
    )
    idle = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(30)")
    try:
        meter = CpuMeter({"worker": [busy.pid]})
        waited = await meter.settled(share=0.02, interval_s=0.3, timeout_s=20)
        assert 0.9 <= waited < 20 and await asyncio.wait_for(busy.wait(), 5) == 0
        assert await CpuMeter({"worker": [idle.pid]}).settled(interval_s=0.3) < 1.0
    finally:
        for p in (busy, idle):
            if p.returncode is None:
                p.kill()
                await p.wait()
