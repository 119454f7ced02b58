"""The person agents' batches: states chain through a batch, every alert of the batch is
stored and acknowledged before any state is written, and each write runs with its own
event as faust's current event (its changelog partition). Also the stall watch leaving a
busy topic alone, and the report's scoping of a run's alerts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from faust.streams import current_event
from faust.types import TP

from services.supervision.adapters.batches import as_current
from services.supervision.adapters.watchdog import StallWatch
from services.supervision.app import _Handler
from services.supervision.core.state import PersonState
from services.supervision.report import AlertRow, against_plants, of_run


class _Table(dict[bytes, bytes]):
    """A table that records each write with the partition faust would give its changelog."""

    def __init__(self, effects: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.effects = effects

    def __setitem__(self, key: bytes, value: bytes) -> None:
        event = current_event()
        assert event is not None, "a table write outside any current event"
        self.effects.append(("write", (key, cast(Any, event).message.partition)))
        super().__setitem__(key, value)


class _Event:
    """Stands in for a faust event (which faust refers to weakly as the current one)."""

    def __init__(self, n: int, person: str, partition: int) -> None:
        self.n, self.person = n, person
        self.message = SimpleNamespace(partition=partition, topic="yidi.visit.v1")


def _event(n: int, person: str, partition: int) -> Any:
    return _Event(n, person, partition)


def _handler(effects: list[tuple[str, Any]]) -> _Handler:
    handler = _Handler(rules=cast(Any, SimpleNamespace(for_region=lambda r: None)),
                       codec=cast(Any, None), database_url=None, alerts_topic=None)  # fmt: skip

    def decode(event: Any) -> Any:
        return SimpleNamespace(message=event, envelope=SimpleNamespace(ce_id=f"e{event.n}"))

    async def emit(alerts: list[Any]) -> None:
        effects.append(("emit", list(alerts)))

    handler.decode = decode  # type: ignore[method-assign]
    handler.emit = emit  # type: ignore[method-assign]
    return handler


def _apply(state: PersonState, core: Any, rules: Any, ce_id: str) -> tuple[PersonState, Any]:
    """Each event adds its id to ``seen``; the second event of a person raises an alert."""
    alerts = [f"alert:{core.person}:{ce_id}"] if state.seen else []
    return PersonState(seen=(*state.seen, ce_id)), alerts


async def test_a_batch_chains_states_and_emits_every_alert_before_any_write() -> None:
    effects: list[tuple[str, Any]] = []
    handler = _handler(effects)
    table = _Table(effects)
    events = [_event(1, "330900:A", 3), _event(2, "110100:B", 7), _event(3, "330900:A", 3)]
    to_core = lambda m: SimpleNamespace(person=m.person)  # noqa: E731
    await handler._apply(events, table, to_core, _apply)
    # one emit for the batch, holding the alert the third event raised on the state the
    # first one left (not on the table's, which the batch had not written yet)
    assert effects[0] == ("emit", ["alert:330900:A:e3"])
    writes = [e for kind, e in effects if kind == "write"]
    assert [kind for kind, _ in effects] == ["emit", "write", "write"]
    # one write per person, each with the partition of the event it came from
    assert sorted(writes) == [(b"110100:B", 7), (b"330900:A", 3)]
    from services.supervision.adapters import state_codec

    assert state_codec.loads(table[b"330900:A"]).seen == ("e1", "e3")
    assert current_event() is None  # as_current restores what was there


def test_as_current_sets_and_restores_faust_current_event() -> None:
    a, b = _event(1, "x", 0), _event(2, "y", 1)
    with as_current(a):
        assert current_event() is a
        with as_current(b):
            assert current_event() is b
        assert current_event() is a
    assert current_event() is None


class _Consumer:
    def __init__(self, tp: Any) -> None:
        self.tp = tp
        self._committed_offset = {tp: 9}
        self._read_offset = {tp: 632}
        self._unacked_messages: list[Any] = []

    def assignment(self) -> set[Any]:
        return {self.tp}

    def highwater(self, tp: Any) -> int:
        return 633


def test_stall_watch_leaves_a_partition_of_a_busy_topic_alone() -> None:
    """Records fetched and queued behind a busy agent are not a stall (the pipeline bench's
    case: the watch re-sought them and the worker read its backlog twice)."""
    tp = TP("yidi.visit.v1", 1)
    consumer, watch = _Consumer(tp), StallWatch()
    assert watch.tick(consumer, {"yidi.visit.v1": 100}) == []
    assert watch.tick(consumer, {"yidi.visit.v1": 350}) == []  # the agent is working
    assert watch.tick(consumer, {"yidi.visit.v1": 900}) == []
    [fact] = watch.tick(consumer, {"yidi.visit.v1": 900})  # idle, commit unmoved: a stall
    assert fact["reseek"] and fact["committed"] == 9


def _row(subject: str, kind: str, day: dt.date) -> AlertRow:
    return AlertRow(f"{subject}{day}", "R", kind, "suspicious", subject, Decimal(1), day, day)


def test_the_report_counts_institution_alerts_of_the_runs_days_only() -> None:
    day = dt.date(2026, 10, 12)
    plants = {
        "subjects": ["330900:P1", "H1", "H2"],
        "institution_days": [day.isoformat()],
        "plants": [{"rule_kind": "institution_outlier", "subject": "H1"},
                   {"rule_kind": "frequency", "subject": "330900:P1"}],
    }  # fmt: skip
    rows = [
        _row("H1", "institution_outlier", day),  # the plant
        _row("H2", "institution_outlier", day - dt.timedelta(days=30)),  # another run's day
        _row("330900:P1", "frequency", day - dt.timedelta(days=3)),  # the run's own person
        _row("110100:OTHER", "frequency", day),  # another run's person
    ]
    assert [r.subject for r in of_run(rows, plants)] == ["H1", "330900:P1"]
    result = against_plants(rows, plants)
    assert result["institution_outlier"]["precision"] == 1.0
    assert result["frequency"]["recall"] == 1.0
    # a plants file without institution_days (older runs) scopes by subject only
    older = {k: v for k, v in plants.items() if k != "institution_days"}
    assert len(of_run(rows, older)) == 3
