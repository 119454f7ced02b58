"""The institution-days agent's batches: each institution-day a batch touches is written
once, after its last claim, with that claim as faust's current event (its window and its
changelog partition); the days are written before a mark (whose close reads the table);
and the values are those of the per-claim path, a redelivered claim included."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, cast

import orjson
from faust.streams import current_event

from services.supervision.adapters.batches import as_current
from services.supervision.outliers import InstitutionClaim, OutlierStream, at_of, day_of

D1, D2 = dt.date(2026, 10, 12), dt.date(2026, 10, 13)


class _Days:
    """faust's windowed table as the stream uses it: reads and writes relative to the
    current event's business date (``at``); each write recorded with its partition."""

    def __init__(self, effects: list[Any]) -> None:
        self.effects = effects
        self.data: dict[tuple[str, float], Any] = {}
        self.table = SimpleNamespace(data=self.data)

    def _now(self) -> tuple[Any, float]:
        event = current_event()
        assert event is not None, "a windowed table used outside any current event"
        return event, cast(Any, event).value.at

    def __contains__(self, key: str) -> bool:
        return (key, self._now()[1]) in self.data

    def __getitem__(self, key: str) -> Any:
        value = self.data[(key, self._now()[1])]
        return SimpleNamespace(value=lambda: value)

    def __setitem__(self, key: str, value: Any) -> None:
        event, at = self._now()
        self.effects.append(("day", key, day_of(at), event.message.partition))
        self.data[(key, at)] = value


class _Closing(dict[bytes, bytes]):
    def __init__(self, effects: list[Any]) -> None:
        super().__init__()
        self.effects = effects

    def __setitem__(self, key: bytes, value: bytes) -> None:
        assert current_event() is not None
        self.effects.append(("closing", key))
        super().__setitem__(key, value)


class _Event:
    def __init__(self, value: InstitutionClaim, partition: int) -> None:
        self.value, self.message = value, SimpleNamespace(partition=partition)


def _claim(code: str, setl_id: str, day: dt.date, fen: int, partition: int = 5) -> Any:
    rec = InstitutionClaim(kind="claim", source=1, at=at_of(day), fixmedins_code=code,
                           admdvs="310104", level=3, setl_id=setl_id, medfee_fen=fen,
                           fund_fen=fen // 2)  # fmt: skip
    return _Event(rec, partition)


def _mark(day: dt.date, partition: int = 5) -> Any:
    return _Event(InstitutionClaim(kind="mark", source=1, at=at_of(day)), partition)


def _stream(effects: list[Any]) -> OutlierStream:
    stream = OutlierStream.__new__(OutlierStream)
    stream.days = cast(Any, _Days(effects))
    stream.closing = cast(Any, _Closing(effects))
    stream.claims_topic, stream.handled = "yidi-supervision-institution-claims", {}
    return stream


def _values(stream: OutlierStream) -> dict[tuple[str, float], Any]:
    return {k: orjson.loads(orjson.dumps(v)) for k, v in cast(Any, stream.days).data.items()}


async def test_a_batch_writes_each_day_once_before_a_mark_and_at_its_end() -> None:
    batch = [
        _claim("H1", "s1", D1, 1000), _claim("H1", "s2", D1, 3000), _claim("H2", "s3", D1, 500),
        _claim("H1", "s4", D2, 700), _claim("H1", "s1", D1, 1000),  # s1 redelivered
        _mark(D1), _claim("H1", "s5", D1, 200), _claim("H1", "s6", D1, 100, partition=5),
    ]  # fmt: skip
    effects: list[Any] = []
    batched = _stream(effects)
    await batched.on_claims(batch)
    # the stall watch sees the repartition topic's progress (a backlog there is not a stall)
    assert batched.handled == {"yidi-supervision-institution-claims": len(batch)}
    assert effects == [
        ("day", "31|H1", D1, 5), ("day", "31|H2", D1, 5), ("day", "31|H1", D2, 5),
        ("closing", b"5"),
        ("day", "31|H1", D1, 5),
    ]  # fmt: skip
    assert current_event() is None
    # the same values as one write per claim
    one_by_one = _stream([])
    for event in batch:
        with as_current(event):
            await one_by_one.on_claim(event)
    assert _values(batched) == _values(one_by_one)
    h1 = _values(batched)[("31|H1", at_of(D1))]
    assert (h1["n"], h1["medfee"], h1["setl_ids"]) == (4, 4300, ["s1", "s2", "s5", "s6"])
