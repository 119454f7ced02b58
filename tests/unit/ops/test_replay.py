"""The replay core: ranges per partition, retention refusals, the rate limit and the diff."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ops.core.errors import BadArgument, RetentionGap
from services.ops.core.replay import (
    FUNDS,
    MONEY,
    RangeRequest,
    RateLimit,
    SideRow,
    Span,
    diff,
    parse_time,
    require_whole_log,
    resolve,
    share_spans,
)

T = "yidi.visit.v1"
STARTS = {0: 0, 1: 0, 2: 0}
ENDS = {0: 100, 1: 50, 2: 0}


def test_whole_log_by_default_and_end_is_a_snapshot() -> None:
    assert resolve(T, RangeRequest(), STARTS, ENDS) == [
        Span(0, 0, 100),
        Span(1, 0, 50),
        Span(2, 0, 0),
    ]
    assert RangeRequest().whole_log and not RangeRequest(start_offset=5).whole_log


def test_offsets_clip_to_the_log_and_partitions_filter() -> None:
    spans = resolve(T, RangeRequest(start_offset=40, end_offset=80, partitions=frozenset({0, 1})),
                    STARTS, ENDS)  # fmt: skip
    assert spans == [Span(0, 40, 80), Span(1, 40, 50)]
    assert [s.size for s in spans] == [40, 10]
    assert resolve(T, RangeRequest(start_offset=70), STARTS, ENDS)[1] == Span(1, 70, 70)
    with pytest.raises(BadArgument, match="no partition"):
        resolve(T, RangeRequest(partitions=frozenset({7})), STARTS, ENDS)


def test_times_use_the_brokers_answers() -> None:
    request = RangeRequest(since_ms=1_000, until_ms=2_000)
    spans = resolve(T, request, STARTS, ENDS, {0: 10, 1: None, 2: None}, {0: 60, 1: None, 2: None})
    assert spans == [Span(0, 10, 60), Span(1, 50, 50), Span(2, 0, 0)]


def test_a_start_the_log_no_longer_holds_is_refused_with_the_earliest_offset() -> None:
    starts = {0: 30, 1: 0, 2: 0}
    with pytest.raises(RetentionGap) as gap:
        resolve(T, RangeRequest(start_offset=10), starts, ENDS)
    assert (gap.value.partition, gap.value.wanted, gap.value.earliest) == (0, 10, 30)
    assert gap.value.code == "E_OPS_RETENTION" and "starts at offset 30" in gap.value.message
    assert resolve(T, RangeRequest(start_offset=30), starts, ENDS)[0] == Span(0, 30, 100)
    # A time older than the first record held: the broker answers the first offset held,
    # which proves nothing about what was deleted before it.
    with pytest.raises(RetentionGap):
        resolve(T, RangeRequest(since_ms=1), starts, ENDS, {0: 30, 1: 0, 2: None})
    with pytest.raises(RetentionGap):
        require_whole_log(T, starts)
    require_whole_log(T, STARTS)


def test_bad_requests() -> None:
    with pytest.raises(BadArgument):
        RangeRequest(start_offset=1, since_ms=1)
    with pytest.raises(BadArgument):
        RangeRequest(end_offset=1, until_ms=1)
    with pytest.raises(BadArgument):
        RangeRequest(start_offset=-1)
    with pytest.raises(BadArgument):
        parse_time("yesterday")
    assert parse_time("2026-10-12T00:00:00+08:00") == parse_time("2026-10-12")
    assert parse_time("2026-10-11T16:00:00Z") == parse_time("2026-10-12")


def test_rate_limit_is_a_token_bucket() -> None:
    assert RateLimit(None).wait_for(10**9, 0.0) == 0.0
    limit = RateLimit(1000)
    assert limit.wait_for(1000, 0.0) == 0.0  # one second of burst
    assert limit.wait_for(500, 0.0) == pytest.approx(0.5)
    assert limit.wait_for(0, 1.5) == 0.0  # refilled by the time passed


def _row(setl_id: str, fund: str, sha: bytes = b"a", versions: tuple[str, str] = ("p", "c"),
         home: str = "330900") -> SideRow:  # fmt: skip
    amounts = dict.fromkeys((*MONEY, *FUNDS), Decimal(0))
    amounts.update(
        fund_pay_sumamt=Decimal(fund), hifmi_pay=Decimal(fund), medfee_sumamt=Decimal(100)
    )
    return SideRow(setl_id, home, sha, amounts, versions)


def test_diff_classifies_every_settlement_and_totals_the_delta() -> None:
    production = [_row("S1", "10"), _row("S2", "20"), _row("S3", "30"), _row("S4", "40")]
    shadow = [
        _row("S1", "10"),  # identical
        _row("S2", "20", sha=b"b", versions=("p2", "c")),  # re-stamped only
        _row("S3", "31.5", sha=b"c"),  # changed
        _row("S5", "5", sha=b"d"),  # only in the shadow
    ]
    d = diff(production, shadow)
    assert (d.compared, d.identical, d.reversioned) == (3, 1, 1)
    assert [c.setl_id for c in d.changed] == ["S3"]
    assert d.changed[0].delta("fund_pay_sumamt") == Decimal("1.5")
    assert [c.setl_id for c in d.only_production] == ["S4"]
    assert [c.setl_id for c in d.only_shadow] == ["S5"]
    assert d.totals_delta()["fund_pay_sumamt"] == Decimal("1.5") - 40 + 5
    report = d.as_dict()
    assert report["totals_delta"]["fund_pay_sumamt"] == "-33.5"  # type: ignore[index]
    assert report["changed"][0]["hifmi_pay_delta"] == "1.5"  # type: ignore[index]


@given(
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=24),
    st.integers(min_value=1, max_value=6),
)
def test_every_partition_has_one_worker_and_loads_are_near_equal(
    sizes: list[int], workers: int
) -> None:
    spans = [Span(p, 7, 7 + size) for p, size in enumerate(sizes)]
    shares = share_spans(spans, workers)
    dealt = [s for share in shares for s in share]
    assert sorted(dealt, key=lambda s: s.partition) == [s for s in spans if s.size > 0]
    assert len(shares) <= workers and all(shares)
    loads = [sum(s.size for s in share) for share in shares]
    if loads:
        assert max(loads) - min(loads) <= max(sizes)


def test_sharing_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        share_spans([Span(0, 0, 1)], 0)
