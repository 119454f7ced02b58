"""Institution outliers on the stream, in pure form: late claims and day closes decided on
each source partition's own order, so any interleaving of the partitions (a restart, a
replay, a rebalance) judges the same claims and raises the same alerts.

The model below is what ``services/supervision/outliers.py`` does with faust: per source
partition, claims in order; a claim older than its partition's newest date minus the grace
is late; a mark follows the claim that raised the newest date; the repartitioned side counts
claims per (institution, day), dedupes by ``setl_id``, and closes the days every partition
has passed (``close_through``)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.supervision.core import outlier
from services.supervision.core.model import Claim
from services.supervision.core.rules import RuleBook
from services.supervision.reference import load_rules

D0 = dt.date(2026, 3, 1)
GRACE = 1
PARTS = 3
BOOK: RuleBook = load_rules()
RULES = BOOK.for_region("310104").outlier
CODES = [f"H31010400{i:03d}" for i in range(6)]


def _claim(n: int, code: str, day: dt.date, fen: int) -> Claim:
    return Claim("310104:p", f"S{n}", f"M{n}", code, "310104", "11", day, fen, fen // 2)


def _sources(draw: Any) -> list[list[Claim]]:
    """Per source partition, claims in that partition's order (mostly increasing days,
    some late), one outlier institution."""
    out: list[list[Claim]] = []
    n = 0
    for _ in range(PARTS):
        seq = []
        day = D0
        for _ in range(draw(st.integers(1, 25))):
            day += dt.timedelta(days=draw(st.sampled_from([0, 0, 0, 1, 1, 3])))
            back = draw(st.sampled_from([0, 0, 0, 0, 1, 2, 4]))
            code = draw(st.sampled_from(CODES))
            fen = draw(st.integers(10_000, 12_000)) * (100 if code == CODES[0] else 1)
            n += 1
            seq.append(_claim(n, code, day - dt.timedelta(days=back), fen))
        out.append(seq)
    return out


def _run(sources: list[list[Claim]], order: list[int], redeliver: set[int]) -> list[str]:
    """The two sides interleaved as ``order`` says (which partition's next record goes
    next); ``redeliver``: positions whose claim is sent twice. The alert subjects and days,
    in the order raised."""
    pos = [0] * PARTS
    newest: dict[int, dt.date] = {}
    marks: dict[int, dt.date] = {}
    closed: dt.date | None = None
    days: dict[tuple[str, dt.date], outlier.InstitutionDay] = {}
    raised: list[str] = []
    step = 0
    for p in order:
        if pos[p] >= len(sources[p]):
            continue
        c = sources[p][pos[p]]
        pos[p] += 1
        step += 1
        for _ in range(2 if step in redeliver else 1):
            if outlier.is_late(newest.get(p), c.day, GRACE):
                continue
            if closed is None or c.day > closed:
                k = (c.fixmedins_code, c.day)
                days[k] = days.get(k, outlier.empty_day(c.fixmedins_code, "310104", 3, c.day))
                days[k] = days[k].add(c)
        if p not in newest or c.day > newest[p]:
            newest[p] = c.day
            marks[p] = c.day
            through = outlier.close_through(marks, PARTS, GRACE)
            if through is not None and (closed is None or through > closed):
                judged = [d for (_, day), d in days.items() if day <= through]
                rules_for = {code: RULES for code in CODES}
                raised += [
                    f"{f.subject}@{f.window_start}" for f in outlier.judge(rules_for, judged)
                ]
                days = {k: d for k, d in days.items() if k[1] > through}
                closed = through
    return raised


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_interleaving_and_redelivery_judges_the_same_days(data: st.DataObject) -> None:
    sources = _sources(data.draw)
    total = sum(len(s) for s in sources)
    seed = data.draw(st.integers(0, 2**32))
    rng = random.Random(seed)
    one = [p for p in range(PARTS) for _ in sources[p]]
    two = list(one)
    rng.shuffle(two)
    redeliver = {rng.randrange(1, total + 1) for _ in range(3)}
    assert _run(sources, one, set()) == _run(sources, two, redeliver)


def test_close_through_waits_for_every_partition() -> None:
    assert outlier.close_through({0: D0, 1: D0}, 3, 1) is None
    assert outlier.close_through({0: D0, 1: D0 + dt.timedelta(days=5), 2: D0}, 3, 1) == (
        D0 - dt.timedelta(days=2)
    )


def test_late_is_relative_to_the_partition_and_the_grace() -> None:
    assert not outlier.is_late(None, D0, 1)
    assert not outlier.is_late(D0 + dt.timedelta(days=1), D0, 1)
    assert outlier.is_late(D0 + dt.timedelta(days=2), D0, 1)


def test_a_far_institution_is_found_once_its_day_closes() -> None:
    def fen(p: int, i: int) -> int:
        return (10_000 + (p * 7 + i) % 13 * 50) * (100 if i % 6 == 0 else 1)

    sources = [
        [_claim(p * 100 + i, CODES[i % 6], D0, fen(p, i)) for i in range(36)]
        + [_claim(p * 100 + 99, CODES[1], D0 + dt.timedelta(days=2), 10_000)]
        for p in range(PARTS)
    ]
    order = [p for p in range(PARTS) for _ in sources[p]]
    assert _run(sources, order, set()) == [f"{CODES[0]}@{D0}"]
    # without the later day in the last partition the day never closes
    sources[2].pop()
    assert _run(sources, [p for p in range(PARTS) for _ in sources[p]], set()) == []


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(st.integers(0, 30), max_size=12, unique=True),
    claims=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 50_000)), max_size=40),
)
def test_adding_claims_together_is_adding_them_one_by_one(
    before: list[int], claims: list[tuple[int, int]]
) -> None:
    """``add_all`` (a batch of one institution-day's claims, the stream's aggregate
    message) gives the day ``add`` gives claim by claim: counts, sums, the ``setl_id``s in
    order, a repeated or already counted ``setl_id`` once."""
    day = outlier.empty_day(CODES[0], "310104", 3, D0)
    for n in before:
        day = day.add(_claim(n, CODES[0], D0, 1000 + n))
    batch = [_claim(n, CODES[0], D0, fen) for n, fen in claims]
    one_by_one = day
    for c in batch:
        one_by_one = one_by_one.add(c)
    assert day.add_all(batch) == one_by_one
    assert (day.add_all([]) is day) and (day.add_all(batch[:0]) is day)
