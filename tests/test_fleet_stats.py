"""Tests for the fleet's statistics: the figures it reports, directly."""

from __future__ import annotations

from sagemaker_watch._core.planner import JobTiming
from sagemaker_watch._drivers._fleet_stats import percentile, tally


def test_percentile_is_nearest_rank():
    """The nearest-rank percentile of an ordered list, and 0 for none."""
    assert 0.0 == percentile([], 0.5)
    assert 2.0 == percentile([1.0, 2.0, 3.0], 0.5)
    assert 3.0 == percentile([1.0, 2.0, 3.0], 0.95)


def test_a_job_whose_hinted_change_is_not_described_yet_is_not_vouched_for():
    """A drained receive or a sweep vouches only for jobs with no known change waiting.

    A hint still pending in the coalescer, or handed to a describe still in
    flight, means the job changed after its last observation: its staleness
    runs from that observation, not from the receive.
    """

    class Tallied(JobTiming):
        __slots__ = ("last", "outcome")

    jobs = {name: Tallied(name, 0.0) for name in ("quiet", "pending", "sent")}
    for job in jobs.values():
        job.observed_at, job.last, job.outcome = 10.0, None, None
    jobs["sent"].in_flight, jobs["sent"].for_hint = True, True
    _, stale = tally(
        jobs.values(), now=100.0, swept_at=95.0, pending=frozenset({"pending"})
    )
    assert [5.0, 90.0, 90.0] == stale
