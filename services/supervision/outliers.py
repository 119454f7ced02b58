"""Institution outliers on the stream: a repartition by province, a faust tumbling
one-day window per institution on the business date, judged once per closed day.

Why these pieces:

- **Repartition by province of treatment.** The settlement topic is keyed by person; an
  institution's peers are the institutions of its province (``core/outlier.py``), so
  the settlements agent re-sends the settled claims, as ``InstitutionClaim`` faust
  Records built from the decoded messages, to ``<group>-institution-claims``, partition
  ``crc32(province) % 12``: a province's institutions all land in one partition. One
  record per institution-day per settlements batch (``kind="claims"``, the claims in the
  order fed), not one per claim: each record costs a send and, read back, faust's whole
  per-record path, and one a claim was ~12 % of what the worker read in all.
- **A faust windowed table** (``institution-day``: tumbling 1 day, changelog-backed,
  ``relative_to_field(InstitutionClaim.at)``): ``at`` is the claim's business date
  (``setl_date``, Asia/Shanghai) written as that date's UTC midnight, so faust's
  epoch-aligned day windows are exactly the business dates, never the arrival time.
  Values are read with ``WindowSet.value()`` (relative to the field); ``.current()``
  would use the Kafka record timestamp and ``.now()`` the wall clock.
- **Closing a day on business time, not on faust's expiry.** faust expires a window by
  the *wall clock* (``Table._del_old_keys`` compares window ends with ``time.time()``)
  and its ``on_window_close`` would fire whenever the cleanup timer runs: a replay or a
  restart would judge a different set of claims. Instead each source partition's newest
  business date travels as a mark (``kind="mark"``, sent to every repartition partition
  after the claims that raised it); a partition closes the days every source partition
  has passed by ``GRACE_DAYS`` (``core.outlier.close_through``), judges them, emits the
  alerts (awaited), records the close, then deletes the days' keys. faust's ``expires``
  (``EXPIRES_DAYS``, far past the grace) only collects what was never closed.
- **Late claims are never dropped silently.** A claim older than its source partition's
  newest business date minus ``GRACE_DAYS`` (``core.outlier.is_late``), or of a day
  already closed, or older than faust's expiry by the wall clock, is not counted: it is
  counted in ``Counters.late`` (metric outcome ``late``), logged without personal data,
  and copied to ``<group>-institution-late`` (no alert).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import faust
import orjson
import structlog
from faust.types import FieldDescriptorT

from contracts.supervision import RuleKind, SupervisionAlert
from events.catalog import PERSON_PARTITIONS
from services.supervision.adapters.batches import BATCH_MAX, BATCH_WITHIN_S, as_current
from services.supervision.adapters.stages import Stages, timed
from services.supervision.core import outlier
from services.supervision.core.model import Claim
from services.supervision.core.person import to_alert
from services.supervision.core.rules import RuleBook

GRACE_DAYS = 1
EXPIRES_DAYS = 120
DAY_S = 86_400
LOG_FIRST_LATE = 20
LOG_EVERY_LATE = 1000
CLAIMS = "institution-claims"
LATE = "institution-late"
log = structlog.get_logger("yidi.supervision.outliers")


class InstitutionClaim(faust.Record, serializer="json"):
    """A settlements batch's claims of one institution-day (``kind="claims"``: ``items``,
    each ``[setl_id, medfee_fen, fund_fen, source]``, in the order fed), one settled claim
    (``kind="claim"``: what workers before the batches sent, still read; the late topic's
    records) or a source partition's newest business date (``kind="mark"``). No personal
    data: institution, settlement ids and amounts only."""

    kind: str
    source: int
    at: float
    fixmedins_code: str = ""
    admdvs: str = ""
    level: int = 0
    setl_id: str = ""
    medfee_fen: int = 0
    fund_fen: int = 0
    items: Sequence[Any] = ()


_EPOCH = dt.date(1970, 1, 1).toordinal()


def at_of(day: dt.date) -> float:
    """``day``'s UTC midnight as epoch seconds (days × 86,400, exactly what
    ``datetime.combine(day, 0:00, UTC).timestamp()`` gives, without making the datetime:
    called for every settled claim)."""
    return float((day.toordinal() - _EPOCH) * DAY_S)


def day_of(at: float) -> dt.date:
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).date()


Pending = dict[tuple[str, dt.date], tuple[outlier.InstitutionDay, Any]]
"""A batch's institution-days not written yet: (key, business date) -> (day, its last event)."""
Fed = dict[tuple[str, str, int, float], list[list[Any]]]
"""A settlements batch's claims not sent yet: (institution, admdvs, level, ``at``) -> items."""


def _each(rec: InstitutionClaim) -> list[InstitutionClaim]:
    """An aggregate (``kind="claims"``) as the one-claim records it stands for."""
    if rec.kind != "claims":
        return [rec]
    return [
        InstitutionClaim(kind="claim", source=source, at=rec.at, fixmedins_code=rec.fixmedins_code,
                         admdvs=rec.admdvs, level=rec.level, setl_id=setl_id, medfee_fen=medfee,
                         fund_fen=fund)
        for setl_id, medfee, fund, source in rec.items
    ]  # fmt: skip


def province_partition(province: str) -> int:
    return zlib.crc32(province.encode()) % PERSON_PARTITIONS


def _dumps(d: outlier.InstitutionDay) -> dict[str, Any]:
    return {
        "code": d.fixmedins_code, "admdvs": d.admdvs, "level": d.level,
        "day": d.day.isoformat(), "n": d.settlements, "medfee": d.medfee_fen,
        "fund": d.fund_fen, "setl_ids": list(d.setl_ids),
    }  # fmt: skip


def _loads(v: dict[str, Any]) -> outlier.InstitutionDay:
    return outlier.InstitutionDay(
        v["code"], v["admdvs"], v["level"], dt.date.fromisoformat(v["day"]), v["n"],
        v["medfee"], v["fund"], tuple(v["setl_ids"]),
    )  # fmt: skip


class OutlierStream:
    """The outlier part of the worker: a feed called by the settlements agent, and an agent
    over the repartition topic. ``emit`` is the handler's (PostgreSQL, then the topic)."""

    def __init__(
        self,
        app: faust.App,
        rules: RuleBook,
        institutions: dict[str, tuple[str, int]],
        emit: Callable[[list[SupervisionAlert]], Awaitable[None]],
        counters: Any,
    ) -> None:
        self.rules, self.institutions, self.emit, self.counters = (
            rules,
            institutions,
            emit,
            counters,
        )
        self.handled: dict[str, int] = {}
        """Records of the repartition topic handled, for the stall watch: a backlog of claims
        being worked through is progress, not a stall to read again (``adapters/watchdog.py``);
        apart from the handler's ``by_topic``, which counts what the worker reads from outside."""
        plain: dict[str, Any] = {"partitions": PERSON_PARTITIONS, "key_type": bytes,
                                 "value_type": bytes}  # fmt: skip
        # the settlements agent's newest business date per source partition
        self.newest = app.Table("settlement-newest", default=None, **plain)
        # per repartition partition: the marks it has received and the last closed day
        self.closing = app.Table("institution-close", default=None, **plain)
        # keys (name, (start, end)) and dict values: faust's json serializer (no type given)
        self.days = (
            app.Table("institution-day", default=None, partitions=PERSON_PARTITIONS)
            .tumbling(dt.timedelta(days=1), expires=dt.timedelta(days=EXPIRES_DAYS))
            .relative_to_field(cast("FieldDescriptorT[Any]", InstitutionClaim.at))
        )
        self.claims_topic = f"{app.conf.id}-{CLAIMS}"
        self.claims = app.topic(
            self.claims_topic, key_type=bytes, value_type=InstitutionClaim,
            partitions=PERSON_PARTITIONS, internal=True,
        )  # fmt: skip
        self.late = app.topic(
            f"{app.conf.id}-{LATE}", key_type=bytes, value_type=InstitutionClaim,
            partitions=PERSON_PARTITIONS, internal=True,
        )  # fmt: skip

        self.stages: Stages = getattr(app, "stages", None) or Stages()

        @app.agent(self.claims, name="institution-days")
        async def on_claims(stream: Any) -> None:
            batches = stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S)
            async for events in timed(batches, self.stages, "institution_days"):
                await self.on_claims(events)

        self.agent = on_claims

    # -- the settlements agent's side -------------------------------------------------
    async def feed(self, event: Any, claim: Claim, fed: Fed) -> None:
        """Called for each settled claim of a settlements batch, in order, before the
        persons' states are written; ``fed`` (the batch's, sent by ``send_fed`` before those
        writes) collects the claims per institution-day: one message each instead of one a
        claim. A mark is sent after every claim fed before it (``send_fed`` first), as
        before; between two marks the claims of different institution-days may be sent in
        another order than fed, which nothing reads (a day's claims keep theirs)."""
        source = event.message.partition
        key = str(source).encode()
        raw = self.newest.get(key)
        newest = None if raw is None else dt.date.fromisoformat(raw.decode())
        admdvs, level = self.institutions.get(claim.fixmedins_code, (claim.mdtrtarea_admvs, 0))
        at = at_of(claim.day)
        if outlier.is_late(newest, claim.day, GRACE_DAYS):
            rec = InstitutionClaim(
                kind="claim", source=source, at=at, fixmedins_code=claim.fixmedins_code,
                admdvs=admdvs, level=level, setl_id=claim.setl_id, medfee_fen=claim.medfee_fen,
                fund_fen=claim.fund_fen,
            )  # fmt: skip
            await self._late(rec, "after its partition's mark")
        elif self.rules.for_region(admdvs).outlier:
            fed.setdefault((claim.fixmedins_code, admdvs, level, at), []).append(
                [claim.setl_id, claim.medfee_fen, claim.fund_fen, source]
            )
        if newest is None or claim.day > newest:
            await self.send_fed(fed)
            mark = InstitutionClaim(kind="mark", source=source, at=at_of(claim.day))
            for q in range(PERSON_PARTITIONS):
                await self.claims.send(key=b"mark", value=mark, partition=q)
            self.newest[key] = claim.day.isoformat().encode()

    async def send_fed(self, fed: Fed) -> None:
        """The claims fed since the last send, one message per institution-day."""
        for (code, admdvs, level, at), items in fed.items():
            rec = InstitutionClaim(kind="claims", source=items[0][3], at=at,
                                   fixmedins_code=code, admdvs=admdvs, level=level,
                                   items=items)  # fmt: skip
            await self.claims.send(
                key=admdvs[:2].encode(), value=rec, partition=province_partition(admdvs[:2])
            )
        fed.clear()

    async def _late(self, rec: InstitutionClaim, why: str) -> None:
        """Counted always; logged for the first ``LOG_FIRST_LATE`` and then every
        ``LOG_EVERY_LATE``-th (a log holding an old day after a newer one — test traffic
        replayed — makes thousands; the count and the late topic have them all)."""
        self.counters.late += 1
        n = self.counters.late
        if n <= LOG_FIRST_LATE or n % LOG_EVERY_LATE == 0:
            log.warning("supervision_claim_late", day=day_of(rec.at).isoformat(), why=why,
                        fixmedins_code=rec.fixmedins_code, late_so_far=n)  # fmt: skip
        await self.late.send(key=rec.fixmedins_code.encode(), value=rec)

    # -- the repartitioned side ---------------------------------------------------------
    async def on_claims(self, events: list[Any]) -> None:
        """A batch of the repartition topic, in order. Each institution-day a batch's claims
        touch is written once, after its last claim (``Pending``), not once per claim: a
        day's value holds every ``setl_id`` counted (the dedup of a redelivered claim), so
        per claim its changelog grew with the square of the day's claims (19 MB for 4,000
        claims in one bench run, more than the person states). Before a mark, whose close
        reads the table, the batch's days are written; a crash mid-batch redelivers it all
        (take_events acks after the body), and the ``setl_id``s make the replay harmless."""
        self.handled[self.claims_topic] = self.handled.get(self.claims_topic, 0) + len(events)
        pending: Pending = {}
        for event in events:
            with as_current(event):
                if event.value.kind == "mark":
                    self._write(pending)
                await self.on_claim(event, pending)
        self._write(pending)

    def _write(self, pending: Pending) -> None:
        """The batch's institution-days, each with its last claim as faust's current event
        (the window from its business date, the changelog partition from its partition)."""
        for key, (d, event) in pending.items():
            with as_current(event):
                self.days[key[0]] = _dumps(d)
        pending.clear()

    async def on_claim(self, event: Any, pending: Pending | None = None) -> None:
        """One record of the repartition topic; ``pending`` (a batch's unwritten days) None:
        a claim's day is written at once."""
        rec: InstitutionClaim = event.value
        q = event.message.partition
        ckey = str(q).encode()
        raw = self.closing.get(ckey)
        state: dict[str, Any] = orjson.loads(raw) if raw else {"marks": {}, "closed": None}
        closed = None if state["closed"] is None else dt.date.fromisoformat(state["closed"])
        day = day_of(rec.at)
        if rec.kind == "mark":
            marks = state["marks"]
            if marks.get(str(rec.source), "") >= day.isoformat():
                return
            marks[str(rec.source)] = day.isoformat()
            marks_d = {int(k): dt.date.fromisoformat(v) for k, v in marks.items()}
            through = outlier.close_through(marks_d, PERSON_PARTITIONS, GRACE_DAYS)
            if through is not None and (closed is None or through > closed):
                keys = await self._close(q, closed, through)
                state["closed"] = through.isoformat()
                self.closing[ckey] = orjson.dumps(state)
                for k in keys:
                    del self.days.table[k]
            else:
                self.closing[ckey] = orjson.dumps(state)
            return
        expired = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=EXPIRES_DAYS - 1)
        if (closed is not None and day <= closed) or day < expired:
            why = "day closed" if closed and day <= closed else "expired"
            for one in _each(rec):
                await self._late(one, why)
            return
        key = f"{rec.admdvs[:2]}|{rec.fixmedins_code}"
        kept = None if pending is None else pending.get((key, day))
        if kept is not None:
            d = kept[0]
        else:
            # ``in`` and ``.value()`` are relative to the field (the business date), as is
            # the write
            cur = self.days[key].value() if key in self.days else None
            d = (
                outlier.empty_day(rec.fixmedins_code, rec.admdvs, rec.level, day)
                if cur is None else _loads(cur)
            )  # fmt: skip
        items: Sequence[Any] = (
            rec.items
            if rec.kind == "claims"
            else [[rec.setl_id, rec.medfee_fen, rec.fund_fen, rec.source]]
        )
        new = d.add_all(
            Claim("", setl_id, "", rec.fixmedins_code, rec.admdvs, "", day, medfee, fund)
            for setl_id, medfee, fund, _source in items
        )
        if new is d:
            return
        if pending is None:
            self.days[key] = _dumps(new)
        else:
            pending[(key, day)] = (new, event)

    async def _close(self, q: int, closed: dt.date | None, through: dt.date) -> list[Any]:
        """Judge every institution-day of this partition's provinces after ``closed`` up to
        ``through``; emit the alerts; the windowed keys judged (to delete after the close
        is recorded)."""
        keys, days = [], []
        for k in list(self.days.table.data.keys()):
            name, (start, _end) = k
            day = day_of(start)
            if province_partition(name.split("|", 1)[0]) != q or day > through:
                continue
            if closed is not None and day <= closed:
                continue
            keys.append(k)
            days.append(_loads(self.days.table.data[k]))
        by_province: dict[str, list[outlier.InstitutionDay]] = {}
        for d in days:
            by_province.setdefault(d.admdvs[:2], []).append(d)
        alerts: list[SupervisionAlert] = []
        for province in sorted(by_province):
            group = by_province[province]
            rules_for = {d.fixmedins_code: self.rules.for_region(d.admdvs).outlier for d in group}
            for f in outlier.judge(rules_for, group):
                admdvs = next(d.admdvs for d in group if d.fixmedins_code == f.subject)
                rs = self.rules.for_region(admdvs)
                alerts.append(to_alert(RuleKind.INSTITUTION_OUTLIER, f, rs, "institution"))
        log.info("supervision_days_closed", partition=q, through=through.isoformat(),
                 institution_days=len(days), alerts=len(alerts))  # fmt: skip
        await self.emit(alerts)
        return keys
