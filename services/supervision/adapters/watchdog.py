"""A partition whose committed offset stops short of its end, told in the log with faust's
own bookkeeping for it (what it read last, which offsets it holds acked, which gaps), and
read again from its committed offset when nothing holds it.

Why: faust commits a partition only up to a run of consecutive acked offsets from the
committed one (``Consumer._new_offset``), and its fetch loop drops any record below the
partition's last read offset (``Consumer._drain_messages``: "DROPPED MESSAGE"). A record
whose offset was recorded as read but which never reached the agent (a rebalance clearing
the stream's buffer between the two is the suspected way; not reproduced) would leave a
hole every later ack waits behind: the partition's commit holds for ever while the worker
looks idle. The e2e test once saw a settlement partition stay 14 records short after a
SIGKILL and restart (docs/supervision.md). The watch says what faust holds for the
partition on the spot, and when no message of it is in flight it seeks the partition back
to its committed offset — what faust itself does after a rebalance: the records come again,
a hole is filled, and a record the worker had already applied changes nothing (its event id
is in the person's ``seen``).

The attributes read are faust's private ones, read only, for the log.
"""

from __future__ import annotations

from typing import Any

import structlog

log = structlog.get_logger("yidi.supervision")
RESEEK_EVERY = 3


class StallWatch:
    """Per tick: a partition behind its high watermark with the same committed offset as at
    the previous tick is logged once per (partition, committed offset) and, when no message
    of it is in flight, marked for a seek back to that offset (again every ``RESEEK_EVERY``
    ticks while it stays there).

    Not a stall: the committed offset one short of the end right after the last record read
    (a transaction's commit marker takes that offset); nor a partition of a topic whose agent
    handled events since the previous tick (``progress``: events handled per topic). A busy
    agent behind a backlog leaves a partition's fetched records in faust's stream buffer, its
    commit unmoved for many ticks: seeking it back then read the whole backlog again — during
    the pipeline bench the watch re-sought 11 of 12 settlement partitions that were only
    queued, doubling the work, and the catch-up took 79 s instead of 5–10 s
    (docs/supervision.md, "Throughput")."""

    def __init__(self) -> None:
        self.previous: dict[Any, int | None] = {}
        self.stuck: dict[tuple[Any, int], int] = {}
        self.progress: dict[str, int] = {}

    def tick(self, consumer: Any, progress: dict[str, int] | None = None) -> list[dict[str, Any]]:
        stalled: list[dict[str, Any]] = []
        progress = dict(progress or {})
        busy = {t for t, n in progress.items() if n != self.progress.get(t, 0)}
        self.progress = progress
        committed_by_tp = getattr(consumer, "_committed_offset", {})
        read_by_tp = getattr(consumer, "_read_offset", {})
        paused: set[Any] = getattr(consumer, "_paused_partitions", set())
        for tp in sorted(consumer.assignment()):
            high = consumer.highwater(tp)
            committed = committed_by_tp.get(tp)
            before = self.previous.get(tp)
            self.previous[tp] = committed
            if high is None or committed is None or committed >= high or before != committed:
                continue
            if tp.topic in busy:
                continue  # its agent is working through a backlog: queued, not stalled
            read = read_by_tp.get(tp)
            if high - committed == 1 and read == committed - 1:
                continue  # the marker after the last record
            ticks = self.stuck[(tp, committed)] = self.stuck.get((tp, committed), 0) + 1
            if ticks % RESEEK_EVERY != 1:
                continue
            acked = sorted(getattr(consumer, "_acked", {}).get(tp, []))
            gaps = sorted(getattr(consumer, "_gap", {}).get(tp, []))
            unacked = sorted(
                m.offset for m in getattr(consumer, "_unacked_messages", ()) if m.tp == tp
            )
            fact = {
                "topic": tp.topic,
                "partition": tp.partition,
                "committed": committed,
                "highwater": high,
                "read_offset": read,
                "acked_count": len(acked),
                "acked_head": acked[:5],
                "gaps": [(g.begin, g.end) for g in gaps[:5]],
                "paused": tp in paused,
                "buffered": tp in getattr(consumer, "_buffered_partitions", set()),
                "unacked": unacked[:5],
                "reseek": not unacked and tp not in paused,
            }
            if ticks == 1:
                log.warning("supervision_partition_stalled", **fact)
            stalled.append(fact)
        return stalled


async def heal(consumer: Any, watch: StallWatch, progress: dict[str, int] | None = None) -> None:
    """One tick of the watch; a partition nothing holds is read again from its commit."""
    for fact in watch.tick(consumer, progress):
        if fact["reseek"]:
            tp = next(t for t in consumer.assignment() if (t.topic, t.partition) ==
                      (fact["topic"], fact["partition"]))  # fmt: skip
            try:
                # faust's seek_wait runs the seek in the consumer's own thread: a seek from
                # this one (``consumer.seek``) deleted from aiokafka's fetched records while
                # that thread iterated them, a KeyError that crashed the fetcher and the
                # worker with it (seen once in a bench run; robinhood/aiokafka#19)
                await consumer.seek_wait({tp: fact["committed"]})
            except TimeoutError:
                log.warning("supervision_partition_reseek_timeout", topic=tp.topic,
                            partition=tp.partition)  # fmt: skip
                continue  # the next tick tries again
            log.warning("supervision_partition_reseek", topic=tp.topic,
                        partition=tp.partition, offset=fact["committed"])  # fmt: skip
