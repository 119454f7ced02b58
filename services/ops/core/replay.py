"""What a replay reads and what it found: ranges per partition, the retention check, the
rate limit, and the shadow diff — pure, so every rule is tested without a broker.

A range is resolved per partition to ``[start, end)``: ``start`` from an offset or a time
(the broker answers times), ``end`` from an offset, a time or the end of the log when the
replay starts (a snapshot: what arrives later is not part of this replay).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from services.ops.core.errors import BadArgument, RetentionGap

UTC8 = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class RangeRequest:
    """What the operator asked for; ``None`` means open on that side."""

    start_offset: int | None = None
    end_offset: int | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    partitions: frozenset[int] | None = None
    ce_ids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.start_offset is not None and self.since_ms is not None:
            raise BadArgument("give a start offset or a start time, not both")
        if self.end_offset is not None and self.until_ms is not None:
            raise BadArgument("give an end offset or an end time, not both")
        for name in ("start_offset", "end_offset"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise BadArgument(f"{name.replace('_', ' ')} must be >= 0")

    @property
    def whole_log(self) -> bool:
        return (
            self.start_offset in (None, 0)
            and self.since_ms is None
            and self.end_offset is None
            and self.until_ms is None
            and self.partitions is None
            and self.ce_ids is None
        )


def parse_time(text: str) -> int:
    """ISO date or date-time to epoch ms; without an offset it is China time (UTC+08:00)."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadArgument(f"not an ISO date or time: {text!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC8)
    return int(when.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Span:
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


def resolve(
    topic: str,
    request: RangeRequest,
    log_start: Mapping[int, int],
    log_end: Mapping[int, int],
    start_at_time: Mapping[int, int | None] | None = None,
    end_at_time: Mapping[int, int | None] | None = None,
) -> list[Span]:
    """Spans per partition; a start the log no longer holds is ``RetentionGap``.

    ``start_at_time``/``end_at_time`` are the broker's answers for ``since``/``until``
    (the first offset at or after the time, ``None`` past the end).
    """
    spans = []
    for p in sorted(log_end):
        if request.partitions is not None and p not in request.partitions:
            continue
        end = log_end[p]
        if request.end_offset is not None:
            end = min(end, request.end_offset)
        elif request.until_ms is not None and end_at_time is not None:
            hit = end_at_time.get(p)
            end = end if hit is None else min(end, hit)
        if request.since_ms is not None and start_at_time is not None:
            hit = start_at_time.get(p)
            start = log_end[p] if hit is None else hit
            # A time before the log's start: the broker answers with the first offset held,
            # which is only complete if nothing was deleted before it.
            wanted = 0 if hit == log_start[p] and log_start[p] > 0 else start
        else:
            start = request.start_offset or 0
            wanted = start
        if wanted < log_start[p] and end > wanted:
            raise RetentionGap(topic, p, wanted, log_start[p])
        spans.append(Span(p, start, max(start, end)))
    if request.partitions is not None and (missing := request.partitions - set(log_end)):
        raise BadArgument(f"{topic} has no partition {sorted(missing)}")
    return spans


def require_whole_log(topic: str, log_start: Mapping[int, int]) -> None:
    """A rebuild recreates a projection from nothing: every partition must start at 0."""
    for p, first in sorted(log_start.items()):
        if first > 0:
            raise RetentionGap(topic, p, 0, first)


@dataclass(slots=True)
class RateLimit:
    """Events per second over the whole replay (token bucket, one second of burst)."""

    per_second: float | None
    _allowance: float = 0.0
    _last: float | None = None

    def wait_for(self, events: int, now: float) -> float:
        """Seconds to sleep before handling ``events`` more (0 without a limit)."""
        if not self.per_second:
            return 0.0
        if self._last is None:
            self._last, self._allowance = now, self.per_second
        self._allowance = min(
            self.per_second, self._allowance + (now - self._last) * self.per_second
        )
        self._last = now
        self._allowance -= events
        return 0.0 if self._allowance >= 0 else -self._allowance / self.per_second


MONEY = ("medfee_sumamt", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay")
"""The amounts a diff compares and totals (the fund split is behind fund_pay_sumamt)."""
FUNDS = ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")


@dataclass(frozen=True, slots=True)
class SideRow:
    """One settlement as production or the shadow has it (amounts signed as in the ledger)."""

    setl_id: str
    insuplc_admdvs: str
    payload_sha256: bytes
    amounts: Mapping[str, Decimal]
    versions: tuple[str, str]


@dataclass(frozen=True, slots=True)
class Change:
    setl_id: str
    insuplc_admdvs: str
    production: Mapping[str, Decimal] | None
    shadow: Mapping[str, Decimal] | None

    def delta(self, column: str) -> Decimal:
        before = self.production[column] if self.production else Decimal(0)
        after = self.shadow[column] if self.shadow else Decimal(0)
        return after - before


@dataclass(slots=True)
class ShadowDiff:
    """Per settlement and in total: what the shadow computed against production."""

    compared: int = 0
    identical: int = 0
    reversioned: int = 0
    """Same money, other policy/catalog version (a changed pack re-stamps every settlement)."""
    changed: list[Change] = field(default_factory=list)
    only_production: list[Change] = field(default_factory=list)
    only_shadow: list[Change] = field(default_factory=list)
    totals_production: dict[str, Decimal] = field(default_factory=dict)
    totals_shadow: dict[str, Decimal] = field(default_factory=dict)

    def totals_delta(self) -> dict[str, Decimal]:
        return {c: self.totals_shadow[c] - self.totals_production[c] for c in self.totals_shadow}

    def as_dict(self) -> dict[str, object]:
        def rows(changes: list[Change]) -> list[dict[str, object]]:
            return [
                {
                    "setl_id": c.setl_id,
                    "insuplc_admdvs": c.insuplc_admdvs,
                    **{f"{m}_delta": str(c.delta(m)) for m in ("fund_pay_sumamt", *FUNDS)},
                    "fund_pay_sumamt_production": str(c.production["fund_pay_sumamt"])
                    if c.production
                    else None,
                    "fund_pay_sumamt_shadow": str(c.shadow["fund_pay_sumamt"])
                    if c.shadow
                    else None,
                }
                for c in changes
            ]

        return {
            "compared": self.compared,
            "identical": self.identical,
            "reversioned": self.reversioned,
            "changed": rows(self.changed),
            "only_production": rows(self.only_production),
            "only_shadow": rows(self.only_shadow),
            "totals_production": {k: str(v) for k, v in self.totals_production.items()},
            "totals_shadow": {k: str(v) for k, v in self.totals_shadow.items()},
            "totals_delta": {k: str(v) for k, v in self.totals_delta().items()},
        }


def diff(production: Iterable[SideRow], shadow: Iterable[SideRow]) -> ShadowDiff:
    """Pair rows by ``setl_id``; a settlement is *changed* when any amount differs."""
    columns = (*MONEY, *FUNDS)
    out = ShadowDiff(
        totals_production=dict.fromkeys(columns, Decimal(0)),
        totals_shadow=dict.fromkeys(columns, Decimal(0)),
    )
    prod = {r.setl_id: r for r in production}
    seen: set[str] = set()
    for s in shadow:
        seen.add(s.setl_id)
        _add(out.totals_shadow, s)
        p = prod.get(s.setl_id)
        if p is None:
            out.only_shadow.append(Change(s.setl_id, s.insuplc_admdvs, None, s.amounts))
            continue
        out.compared += 1
        if p.payload_sha256 == s.payload_sha256:
            out.identical += 1
        elif all(p.amounts[c] == s.amounts[c] for c in columns):
            out.reversioned += 1
        else:
            out.changed.append(Change(s.setl_id, s.insuplc_admdvs, p.amounts, s.amounts))
    for setl_id, p in prod.items():
        _add(out.totals_production, p)
        if setl_id not in seen:
            out.only_production.append(Change(setl_id, p.insuplc_admdvs, p.amounts, None))
    for group in (out.changed, out.only_production, out.only_shadow):
        group.sort(key=lambda c: c.setl_id)
    return out


def _add(totals: dict[str, Decimal], row: SideRow) -> None:
    for c in totals:
        totals[c] += row.amounts[c]


def share_spans(spans: Sequence[Span], workers: int) -> list[list[Span]]:
    """Partitions dealt to at most ``workers`` workers, largest first to the least loaded, so
    each partition has one owner (its offsets stay in order) and the loads are near equal.
    Empty spans are left out; fewer shares come back when there are fewer partitions."""
    if workers < 1:
        raise ValueError("at least one worker")
    shares: list[list[Span]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for span in sorted((s for s in spans if s.size > 0), key=lambda s: (-s.size, s.partition)):
        i = loads.index(min(loads))
        shares[i].append(span)
        loads[i] += span.size
    return [sorted(share, key=lambda s: s.partition) for share in shares if share]
