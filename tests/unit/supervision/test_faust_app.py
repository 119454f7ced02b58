"""The supervision app's faust consumer is built read_committed (adjudication writes the
settlement topic in transactions; an aborted batch's settlements never happened), and the
stall watch tells a partition whose commit stopped short, once."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from faust.types import TP
from intervaltree import IntervalTree

from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from services.supervision.adapters.watchdog import StallWatch, heal
from services.supervision.app import Supervision, build_app
from services.supervision.reference import load_rules

REFERENCE = Path(__file__).resolve().parents[3] / "deploy" / "reference"


def _unit_app() -> Supervision:
    """The worker's faust app as built for production, never started (no broker needed)."""
    return build_app(
        bootstrap=KafkaConnection(bootstrap="127.0.0.1:1"),
        group_id="yidi-supervision-unit",
        rules=load_rules(REFERENCE),
        codec=Codec.__new__(Codec),
        database_url=None,
    )


async def test_worker_consumer_reads_committed_only() -> None:
    sup = _unit_app()
    thread: Any = sup.app.consumer._thread  # type: ignore[attr-defined]
    consumer = thread._create_worker_consumer(sup.app.transport)
    assert consumer._isolation_level == "read_committed"


class _Consumer:
    def __init__(self, tp: Any, committed: int, high: int) -> None:
        self.tp, self.high = tp, high
        self._committed_offset = {tp: committed}
        self._read_offset = {tp: committed + 3}
        self._acked = {tp: [committed + 2, committed + 1]}
        self._gap = {tp: IntervalTree()}
        self._paused_partitions: set[Any] = set()
        self._buffered_partitions: set[Any] = set()
        self._unacked_messages = [SimpleNamespace(tp=tp, offset=committed)]
        self.sought: list[tuple[Any, int]] = []
        self.timeouts = 0

    def assignment(self) -> set[Any]:
        return {self.tp}

    def highwater(self, tp: Any) -> int:
        return self.high

    async def seek_wait(self, partitions: dict[Any, int]) -> None:
        """faust's seek in the consumer's thread; ``timeouts`` first time out as its wait
        for the position can."""
        if self.timeouts:
            self.timeouts -= 1
            raise TimeoutError
        self.sought.extend(partitions.items())

    async def seek(self, tp: Any, offset: int) -> None:
        raise AssertionError("a seek from the worker's thread races the consumer's thread")


def test_stall_watch_tells_a_stuck_partition_once() -> None:
    tp_key = TP("yidi.settlement.v1", 10)
    consumer = _Consumer(tp_key, committed=176, high=190)
    watch = StallWatch()
    assert watch.tick(consumer) == []  # first sight: no previous committed offset to compare
    [fact] = watch.tick(consumer)
    assert (fact["topic"], fact["partition"]) == ("yidi.settlement.v1", 10)
    assert (fact["committed"], fact["highwater"], fact["unacked"]) == (176, 190, [176])
    assert fact["acked_head"] == [177, 178]
    assert fact["reseek"] is False  # a message in flight holds it: not ours to move
    assert watch.tick(consumer) == [] and watch.tick(consumer) == []
    [again] = watch.tick(consumer)  # every third tick while it stays there
    assert again["committed"] == 176
    consumer._committed_offset[tp_key] = 190
    assert watch.tick(consumer) == []  # caught up


async def test_a_partition_nothing_holds_is_read_again_from_its_commit() -> None:
    tp = TP("yidi.settlement.v1", 10)
    consumer = _Consumer(tp, committed=176, high=190)
    consumer._acked[tp] = [181, 182]  # acks behind a hole at 176..180: records dropped
    consumer._unacked_messages = []
    consumer._read_offset[tp] = 189
    watch = StallWatch()
    await heal(consumer, watch)
    assert consumer.sought == []
    await heal(consumer, watch)
    assert consumer.sought == [(tp, 176)]
    await heal(consumer, watch)
    assert consumer.sought == [(tp, 176)]
    consumer._committed_offset[tp] = 190  # the hole filled: caught up
    for _ in range(4):
        await heal(consumer, watch)
    assert consumer.sought == [(tp, 176)]


def test_the_marker_after_the_last_record_is_not_a_stall() -> None:
    tp = TP("yidi.settlement.v1", 8)
    consumer = _Consumer(tp, committed=91, high=92)
    consumer._acked[tp] = []
    consumer._unacked_messages = []
    consumer._read_offset[tp] = 90
    watch = StallWatch()
    assert watch.tick(consumer) == [] and watch.tick(consumer) == []


async def test_commit_passes_transaction_markers_in_one_step() -> None:
    """Records 100, 101 | marker 102 | 103, 104 | marker 105 | 106, all processed: one
    commit reaches 107 (faust's own gap bookkeeping reached 104 and needed a commit per
    transaction)."""
    sup = _unit_app()
    consumer: Any = sup.app.consumer
    tp = TP("yidi.settlement.v1", 3)
    consumer._committed_offset[tp] = 100
    read = 100
    for offset in (100, 101, 103, 104, 106):  # what _drain_messages does per record
        if offset - read > 1:
            await consumer._add_gap(tp, read + 1, offset)
        read = offset
        consumer._acked[tp].append(offset)
        consumer._acked_index[tp].add(offset)
    assert consumer._new_offset(tp) == 107


def test_institution_days_are_a_tumbling_day_window_on_the_business_date() -> None:
    """The outlier stream's table is faust's windowed table as docs/supervision.md says:
    tumbling one day, expiring far past the grace, its time from the record's business
    date (not the Kafka timestamp); its changelog and the repartition and late topics are
    declared before faust starts."""
    import datetime as dt

    from services.supervision.outliers import (
        EXPIRES_DAYS,
        GRACE_DAYS,
        InstitutionClaim,
        at_of,
        day_of,
    )
    from services.supervision.run import changelog_topics

    sup = _unit_app()
    table: Any = sup.app.tables["institution-day"]
    assert table.window.size == 86_400 and table.window.step == 86_400
    assert table.window.expires == EXPIRES_DAYS * 86_400 > GRACE_DAYS * 86_400
    day = dt.date(2026, 10, 12)
    rec = InstitutionClaim(kind="claim", source=3, at=at_of(day))
    start, end = table.window.current(rec.at)
    assert day_of(start) == day and day_of(end) == day  # the window is the business date
    # writes and .value() take the time from the record's field, not the Kafka timestamp
    assert sup.outliers is not None
    late_arrival = SimpleNamespace(
        value=rec, message=SimpleNamespace(timestamp=rec.at + 3 * 86_400, partition=0)
    )
    assert sup.outliers.days.get_timestamp(cast(Any, late_arrival)) == rec.at
    topics = {t.name: t for t in changelog_topics(sup)}
    changelog = topics["yidi-supervision-unit-institution-day-changelog"]
    assert changelog.cleanup_policy == "compact,delete"
    assert changelog.retention_ms == EXPIRES_DAYS * 86_400_000
    assert topics["yidi-supervision-unit-visit-state-changelog"].cleanup_policy == "compact"
    assert "yidi-supervision-unit-institution-claims" in topics
    assert "yidi-supervision-unit-institution-late" in topics


def test_faust_data_directory_is_under_the_run_directory(tmp_path: Path) -> None:
    """faust's default data directory is ``<group>-data`` in the working directory (the
    repository's root for every worker the tests and benches start): it goes under the
    run directory instead, one per group."""
    from services.runtime.settings import Settings
    from services.supervision.run import datadir

    where = datadir(Settings(run_dir=tmp_path))
    assert (tmp_path / "supervision").is_dir()
    sup = build_app(
        bootstrap=KafkaConnection(bootstrap="127.0.0.1:1"),
        group_id="yidi-supervision-unit-dir",
        rules=load_rules(REFERENCE),
        codec=Codec.__new__(Codec),
        database_url=None,
        datadir=where,
    )
    assert sup.app.conf.datadir == tmp_path / "supervision" / "yidi-supervision-unit-dir-data"
    assert not Path("yidi-supervision-unit-dir-data").exists()


async def test_a_reseek_that_times_out_is_tried_again_on_a_later_tick() -> None:
    tp = TP("yidi.settlement.v1", 3)
    consumer = _Consumer(tp, committed=40, high=55)
    consumer._unacked_messages = []
    consumer._read_offset[tp] = 54
    consumer.timeouts = 1
    watch = StallWatch()
    await heal(consumer, watch)  # first sight
    await heal(consumer, watch)  # stuck: the seek times out, the worker goes on
    assert consumer.sought == []
    for _ in range(3):
        await heal(consumer, watch)
    assert consumer.sought == [(tp, 40)]  # RESEEK_EVERY ticks later
