"""A fleet's statistics: the counters and how stale what it knows is."""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import TYPE_CHECKING, Protocol

from .._errors import SageMakerWatchError

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Mapping

    from .._core.planner import Summary
    from .._core.snapshot import Snapshot
    from .hints import HintStatistics


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FleetStatistics:
    """A fleet's state at one instant.

    Attributes:
        watching: jobs being polled.
        finished: jobs that reached a terminal status.
        lost: jobs given up because of an error (see ``JobLost``).
        jobs_by_status: every known job by its last primary status
            (``"Unobserved"`` before the first answer, ``"Lost"`` once lost).
        calls: requests sent, by operation.
        throttles: throttling answers, by operation (ridden out, never raised).
        errors: other failed requests (5xx, dropped connections, ...), by operation.
        rates: the current budget, requests per second, by operation.
        sweeps: ``ListTrainingJobs`` sweeps completed (censuses included).
        censuses: sweeps completed without a window, each reading every
            watched job's summary: one that shows a job unchanged stands in
            for the job's safety re-check.
        listing: whether changes are found by listing (else per-job schedules).
        events: events put in the stream.
        staleness_p50: median of now minus the last successful observation of
            each watched job, in seconds; a complete list sweep that shows a job
            unchanged counts as observing it.
        staleness_p95: the 95th percentile of the same.
        staleness_max: the largest of the same.
        hints: what push hints did (``HintStatistics``), ``None`` without them.
            While they flow, a receive that found the queue drained counts as
            observing every job with no hint pending.
        logs: what reading training logs did (``FleetLogStatistics``),
            ``None`` without *logs*.
    """

    watching: int
    finished: int
    lost: int
    jobs_by_status: Mapping[str, int]
    calls: Mapping[str, int]
    throttles: Mapping[str, int]
    errors: Mapping[str, int]
    rates: Mapping[str, float]
    sweeps: int
    censuses: int
    listing: bool
    events: int
    staleness_p50: float
    staleness_p95: float
    staleness_max: float
    hints: HintStatistics | None = None
    logs: FleetLogStatistics | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FleetLogStatistics:
    """What a fleet's log reading did so far (``FleetStatistics.logs``).

    Attributes:
        following: jobs whose logs are followed now (a job that ended counts
            until its streams are drained).
        stopped: followers stopped by an error no retry mends (see
            ``FleetWatcher``'s *logs*).
        calls: ``GetLogEvents`` and ``DescribeLogStreams`` requests sent.
        lines: log lines put in the stream.
        throttles: throttling answers (ridden out in the budget, never raised).
        errors: other failed requests, by the service's code or the error's type.
        rates: the current log budget, requests per second, by operation (the
            ``CloudWatchLogs`` settings' budget, shared with whoever uses them).
    """

    following: int
    stopped: int
    calls: int
    lines: int
    throttles: int
    errors: Mapping[str, int]
    rates: Mapping[str, float]


class Tallied(Protocol):
    """What statistics read of one job."""

    @property
    def name(self) -> str:
        """The training job's name."""

    @property
    def active(self) -> bool:
        """Whether the job is still watched."""

    @property
    def in_flight(self) -> bool:
        """Whether a describe for it is in flight."""

    @property
    def for_hint(self) -> bool:
        """Whether the last describe sent was one a hint made due."""

    @property
    def added_at(self) -> float:
        """When the fleet began watching it."""

    @property
    def observed_at(self) -> float | None:
        """When its last snapshot was taken."""

    @property
    def listed(self) -> Summary | None:
        """A summary reporting a change not yet described."""

    @property
    def chasing(self) -> Summary | None:
        """A summary a describe was sent for, until one shows it."""

    @property
    def hinted(self) -> bool:
        """Whether a push hint made the job due, with no describe sent since."""

    @property
    def last(self) -> Snapshot | None:
        """Its last snapshot."""

    @property
    def outcome(self) -> Snapshot | SageMakerWatchError | None:
        """How it ended, if it did."""


def tally(
    jobs: Iterable[Tallied],
    *,
    now: float,
    swept_at: float | None,
    pending: Container[str] = (),
) -> tuple[dict[str, int], list[float]]:
    """Count *jobs* by status and measure each watched job's staleness.

    Args:
        jobs: every job the fleet knows.
        now: the monotonic time.
        swept_at: when the last complete sweep began, while listing, or the
            last receive found the queue drained, while hints flow: either
            counts as observing every job with no known change waiting (a
            listed change, a describe chasing one, a hint pending in *pending*
            or handed to a describe not answered yet).
        pending: the jobs a hint waits on (the coalescer's).

    Returns:
        The jobs by status, and the staleness of each watched job, in order.
    """
    by_status: collections.Counter[str] = collections.Counter()
    stale: list[float] = []
    swept = -math.inf if swept_at is None else swept_at
    for job in jobs:
        if isinstance(job.outcome, SageMakerWatchError):
            by_status["Lost"] += 1
        elif job.last is None:
            by_status["Unobserved"] += 1
        else:
            by_status[str(job.last.primary_status)] += 1
        if job.active:
            seen = job.added_at if job.observed_at is None else job.observed_at
            if (
                job.observed_at is not None
                and job.listed is None
                and job.chasing is None
                and not job.hinted
                and not (job.in_flight and job.for_hint)
                and job.name not in pending
            ):
                seen = max(seen, swept)
            stale.append(max(0.0, now - seen))
    stale.sort()
    return dict(by_status), stale


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an ordered list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def staleness(stale: list[float]) -> tuple[float, float, float]:
    """The median, 95th percentile and largest of ordered staleness figures."""
    return (
        percentile(stale, 0.5),
        percentile(stale, 0.95),
        stale[-1] if stale else 0.0,
    )
