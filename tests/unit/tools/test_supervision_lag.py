"""The lag bench's reading of its samples: the load ends at the last sample where the
topics' ends grew, and the catch-up counts from there."""

from __future__ import annotations

from services.tools.bench.supervision_lag import LagRun


def test_catchup_counts_from_the_last_growth_of_the_topics() -> None:
    run = LagRun(
        samples=[(0.0, 0), (1.0, 3000), (2.0, 5000), (3.0, 4000), (4.0, 900), (5.0, 12)],
        ends=[100, 3100, 5100, 5400, 5400, 5400],
        pipeline_s=5.0,
        caught_up_at=5.0,
    )
    assert run.load_end_s == 3.0
    assert run.lag_at(run.load_end_s) == 4000
    assert run.catchup_s == 2.0
    assert run.max_lag == 5000


def test_caught_up_before_the_load_ended_is_zero_and_never_is_none() -> None:
    early = LagRun(samples=[(0.0, 10), (1.0, 12), (2.0, 12)], ends=[10, 20, 30],
                   caught_up_at=2.0)  # fmt: skip
    assert early.load_end_s == 2.0 and early.catchup_s == 0.0
    assert LagRun(samples=[(0.0, 500)], ends=[500]).catchup_s is None
