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
from services.supervision.core.model import Claim
from services.supervision.outliers import (
    Fed,
    InstitutionClaim,
    OutlierStream,
    at_of,
    day_of,
    province_partition,
)
from services.supervision.reference import load_rules

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


class _Sent:
    """The repartition topic as the feed uses it: each send recorded."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, InstitutionClaim]] = []

    async def send(self, *, key: bytes, value: InstitutionClaim, partition: int = -1) -> None:
        self.sent.append((partition, value))


def _settled(setl_id: str, code: str, day: dt.date, fen: int, source: int) -> tuple[Any, Claim]:
    claim = Claim("310104:p", setl_id, "M" + setl_id, code, "310104", "11", day, fen, fen // 3)
    return SimpleNamespace(message=SimpleNamespace(partition=source)), claim


async def test_a_settlements_batch_sends_one_record_per_institution_day_marks_after() -> None:
    """The settlements agent's side: a batch's claims go out as one record per
    institution-day, those fed before a mark ahead of it; the repartitioned side makes of
    them the days it makes of one record per claim in the order fed (the old records)."""
    feeder = OutlierStream.__new__(OutlierStream)
    feeder.rules, feeder.institutions = load_rules(), {"H2": ("310115", 2)}
    feeder.newest = cast(Any, {b"4": D1.isoformat().encode()})
    feeder.claims = cast(Any, _Sent())
    batch = [
        _settled("s1", "H1", D1, 1000, 4), _settled("s2", "H2", D1, 3000, 4),
        _settled("s3", "H1", D1, 500, 7),  # partition 7's first claim: a mark
        _settled("s4", "H1", D1, 700, 4), _settled("s5", "H1", D2, 200, 4),  # 4 moves on
        _settled("s6", "H2", D1, 100, 4), _settled("s7", "H2", D2, 900, 7),
    ]  # fmt: skip
    fed: Fed = {}
    for event, claim in batch:
        await feeder.feed(event, claim, fed)
    await feeder.send_fed(fed)
    sent = cast(Any, feeder.claims).sent
    shape = [(v.kind, v.fixmedins_code, day_of(v.at), [i[0] for i in v.items]) for _, v in sent]
    mark1, mark2, mark3 = (("mark", "", d, []) for d in (D1, D2, D2))
    assert shape == [
        ("claims", "H1", D1, ["s1", "s3"]), ("claims", "H2", D1, ["s2"]), *[mark1] * 12,
        ("claims", "H1", D1, ["s4"]), ("claims", "H1", D2, ["s5"]), *[mark2] * 12,
        ("claims", "H2", D1, ["s6"]), ("claims", "H2", D2, ["s7"]), *[mark3] * 12,
    ]  # fmt: skip
    assert {p for p, v in sent if v.kind == "claims"} == {province_partition("31")}
    assert [v.level for _, v in sent[:2]] == [0, 2] and sent[1][1].admdvs == "310115"
    assert [i[3] for _, v in sent if v.kind == "claims" for i in v.items] == [4, 7, 4, 4, 4, 4, 7]
    # the same institution-days as one record per claim, in the order fed
    q = province_partition("31")
    aggregated, one_by_one = _stream([]), _stream([])
    await aggregated.on_claims([_Event(v, q) for p, v in sent if p == q])
    where = {"H1": ("310104", 0), "H2": ("310115", 2)}
    singles = [
        _Event(InstitutionClaim(kind="claim", source=e.message.partition, at=at_of(c.day),
                                fixmedins_code=c.fixmedins_code, admdvs=where[c.fixmedins_code][0],
                                level=where[c.fixmedins_code][1], setl_id=c.setl_id,
                                medfee_fen=c.medfee_fen, fund_fen=c.fund_fen), q)
        for e, c in batch
    ]  # fmt: skip
    await one_by_one.on_claims(singles)
    assert _values(aggregated) == _values(one_by_one)
    assert _values(aggregated)[("31|H1", at_of(D1))]["setl_ids"] == ["s1", "s3", "s4"]
    assert _values(aggregated)[("31|H2", at_of(D1))]["n"] == 2


async def test_an_aggregate_of_a_closed_day_goes_to_the_late_topic_claim_by_claim() -> None:
    """Late on the repartitioned side (its day closed already): the late topic gets one
    record per claim, as from the per-claim records, each with its own source."""
    effects: list[Any] = []
    stream = _stream(effects)
    dict.__setitem__(cast(Any, stream.closing), b"5", b'{"marks": {}, "closed": "2026-10-12"}')
    late = _Sent()
    stream.late, stream.counters = cast(Any, late), SimpleNamespace(late=0)
    rec = InstitutionClaim(kind="claims", source=4, at=at_of(D1), fixmedins_code="H1",
                           admdvs="310104", level=3,
                           items=[["s1", 100, 50, 4], ["s2", 300, 100, 9]])  # fmt: skip
    event = _Event(rec, 5)
    with as_current(event):
        await stream.on_claim(event)
    assert stream.counters.late == 2 and cast(Any, stream.days).data == {}
    assert [
        (v.kind, v.setl_id, v.medfee_fen, v.fund_fen, v.source, v.level) for _, v in late.sent
    ] == [("claim", "s1", 100, 50, 4, 3), ("claim", "s2", 300, 100, 9, 3)]
