"""The fleet's change detection: ``ListTrainingJobs`` sweeps, page by page.

``_core/sweeps.py`` decides when a sweep starts, what window it
reads, what each page means for each job and when listing falls back to
per-job schedules; the ``Sweeper`` here sends the pages through the fleet's
source and rate budget, keeps the counters, and hands the fleet the names of
the jobs a page made due and of those it vouched for. Once every
*census_interval* seconds (when every watched job's creation time is known) a
sweep is a census: no window, so every watched job's summary comes back, and
each one that shows the job unchanged stands in for its safety re-check.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Final

from .._core.planner import EPSILON
from .._core.sweeps import (
    PageVerdict,
    ServiceClock,
    Sweep,
    list_failed,
    mark_page,
    new_sweep,
    page_read,
    sweep_wait,
    vouch_page,
    wants_listing,
    wants_sweeps,
)
from .._core.tracker import ErrorKind
from .._errors import MalformedResponse
from .._io.logging import FLEET_LIST_UNAVAILABLE, FLEET_POLL_FAILED, logger
from .._io.source import CallFailed
from ._fleet_jobs import unreadable

if TYPE_CHECKING:
    import collections
    import random
    from collections.abc import Mapping

    from .._core.tracker import RetryPolicy
    from .._io.clock import Clock
    from .._io.ratelimit import RateBudget
    from .._io.source import AioBotocoreSource
    from ._fleet_jobs import Job

LIST: Final = "ListTrainingJobs"
#: The exponent of the list retries' back-off stops growing here.
RETRY_CAP: Final = 16

#: A sweep whose NextToken repeated, or whose pages outran the bound.
_ENDLESS_PAGES: Final = CallFailed(
    kind=ErrorKind.TRANSIENT,
    error=MalformedResponse(
        "ListTrainingJobs pages never end (a token repeated, or pages outran the bound)"
    ),
)


class Sweeper:
    """One fleet's list sweeps: when to send a page, and what it made due.

    Attributes:
        listing: whether changes are found by listing now (else per-job
            schedules); the fleet sets it from ``wants_listing``.
        sweeps: complete sweeps so far (censuses included).
        censuses: complete censuses so far.
        swept: when the last complete sweep began (monotonic, wall), or ``None``.
        service: the service's clock, read off its timestamps.
        in_flight: whether a page is being read.
        census_interval: a sweep is a census when the last began this many
            seconds ago or more (the fleet sets it from its re-check interval).
        statuses_only: push hints flow and announce every change of status:
            a summary showing only a new status message makes no job due (the
            fleet sets it).
    """

    __slots__ = (
        "_budget",
        "_calls",
        "_census_at",
        "_clock",
        "_errors",
        "_failing",
        "_failures",
        "_forbidden",
        "_interval",
        "_min_jobs",
        "_next_sweep",
        "_overlap",
        "_previous_pages",
        "_retry",
        "_rng",
        "_source",
        "_started",
        "_sweep",
        "_throttles",
        "census_interval",
        "censuses",
        "in_flight",
        "listing",
        "service",
        "statuses_only",
        "sweeps",
        "swept",
    )

    def __init__(
        self,
        *,
        source: AioBotocoreSource,
        budget: RateBudget,
        clock: Clock,
        rng: random.Random,
        retry: RetryPolicy,
        interval: float | None,
        min_jobs: int,
        overlap: float,
        counters: tuple[collections.Counter[str], ...],
    ) -> None:
        """Sweep every *interval* seconds while *min_jobs* jobs are watched.

        *counters* are the fleet's calls, throttles and errors, by operation.
        """
        self._source = source
        self._budget = budget
        self._clock = clock
        self._rng = rng
        self._retry = retry
        self._interval = interval
        self._min_jobs = min_jobs
        self._overlap = overlap
        self.census_interval = math.inf
        self.statuses_only = False
        #: When the last census that ended (or was given up) began.
        self._census_at: float | None = None
        self._calls, self._throttles, self._errors = counters
        self._failing = False
        self._failures = 0
        self._forbidden = False
        self._sweep: Sweep | None = None
        self._next_sweep = 0.0
        # The pages the last sweep read: the next one's page bound follows it.
        self._previous_pages = 0
        self._started: tuple[float, dt.datetime] | None = None
        self.listing = False
        self.sweeps = 0
        self.censuses = 0
        self.swept: tuple[float, dt.datetime] | None = None
        self.service = ServiceClock()
        self.in_flight = False

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Sweeper(listing={self.listing}, sweeps={self.sweeps})"

    def start(self) -> None:
        """The fleet started: the first sweep is due now, its window from now."""
        self._started = (self._clock.monotonic(), self._clock.now())
        self._next_sweep = self._started[0]

    @property
    def swept_at(self) -> float | None:
        """When the last complete sweep began, ``None`` if none did."""
        return None if self.swept is None else self.swept[0]

    def wants_listing(self, active: int) -> bool:
        """Whether changes should be found by listing with *active* jobs watched."""
        return wants_listing(
            sweep_interval=self._interval,
            forbidden=self._forbidden,
            failing=self._failing,
            active=active,
            min_jobs=self._min_jobs,
        )

    def wait(self, now: float, jobs: Mapping[str, Job], active: int) -> float | None:
        """Seconds until a page may be sent (0: a list token was taken), or None.

        ``None`` when no sweep is wanted or a page is in flight.
        """
        wanted = wants_sweeps(
            sweep_interval=self._interval,
            forbidden=self._forbidden,
            active=active,
            min_jobs=self._min_jobs,
        )
        if self.in_flight or not wanted:
            return None
        start, wait = sweep_wait(self._sweep, now=now, next_sweep=self._next_sweep)
        if start:
            assert self._started is not None  # noqa: S101 - set while running
            self._sweep = new_sweep(
                now=now,
                local=self._clock.now(),
                begun=self._service_time((self.swept or self._started)[0]),
                overlap=self._overlap,
                creation_times=[
                    job.last.creation_time
                    for job in jobs.values()
                    if job.active and job.last is not None
                ],
                active=active,
                previous_pages=self._previous_pages,
                census=self._census_at is None
                or now - self._census_at >= self.census_interval - EPSILON,
            )
        if wait > 0:
            return wait
        return 0.0 if self._budget.try_take(LIST) else self._budget.delay(LIST)

    async def read_page(self, jobs: Mapping[str, Job]) -> tuple[list[str], list[str]]:
        """Read the sweep's next page; return the jobs it made due and vouched for.

        Call after ``wait`` returned 0, with ``in_flight`` set by the caller.
        """
        sweep = self._sweep
        assert sweep is not None  # noqa: S101 - a page is only started for a sweep
        try:
            outcome = await self._source.list_changed(
                modified_after=sweep.since,
                created_after=sweep.created_after,
                next_token=sweep.next_token,
            )
        except Exception as error:  # noqa: BLE001 - an unreadable page fails one sweep
            outcome = unreadable(error, None)
        finally:
            self.in_flight = False
            self._calls[LIST] += 1
        now = self._clock.monotonic()
        if isinstance(outcome, CallFailed):
            self._failed(sweep, outcome, now)
            return [], []
        self._budget.succeeded(LIST)
        self._failures = 0
        # Only the page's jobs: a map of every watched job per page would cost
        # jobs x pages per sweep.
        on_page = {
            summary.job_name: (job, job.last)
            for summary in outcome.summaries
            if (job := jobs.get(summary.job_name)) is not None
        }
        due, skipped = mark_page(
            on_page,
            outcome.summaries,
            now=now,
            service=self.service,
            local=self._clock.now(),
            statuses_only=self.statuses_only,
        )
        for name, problem in skipped:
            logger.info(FLEET_POLL_FAILED, job_name=name, error=type(problem).__name__)
        vouched = (
            vouch_page(on_page, outcome.summaries, at=sweep.started)
            if sweep.census
            else []
        )
        verdict = page_read(sweep, outcome.next_token)
        if verdict is not PageVerdict.MORE:
            self._previous_pages = sweep.pages
        if verdict is PageVerdict.ENDLESS and sweep.census:
            # A census whose pages outran the bound is no reason to fall back
            # (its windowed sweeps may be short): count it, try again after an
            # interval (with the bound its pages set), sweep windowed now.
            self._errors[LIST] += 1
            self._census_at = sweep.started
            self._sweep = None
            self._next_sweep = now
        elif verdict is PageVerdict.ENDLESS:
            # Pages that never end: give this sweep up like a failed one, and
            # begin a new one (whose bound follows the pages this one read)
            # after the back-off; the tokens this one saw would repeat at once.
            self._failed(sweep, _ENDLESS_PAGES, now)
            self._sweep = None
            self._next_sweep = sweep.ready_at
        elif verdict is PageVerdict.DONE:
            self._sweep = None
            self.sweeps += 1
            self._failing = False
            self.swept = (sweep.started, sweep.started_wall)
            if sweep.census:
                self.censuses += 1
                self._census_at = sweep.started
            assert self._interval is not None  # noqa: S101 - sweeps need one
            self._next_sweep = sweep.started + self._interval
        return list(due), vouched

    def _service_time(self, monotonic: float) -> dt.datetime:
        """The service's clock at *monotonic* (at most), or the local one."""
        local = self._clock.now() - dt.timedelta(
            seconds=self._clock.monotonic() - monotonic
        )
        return self.service.at(monotonic, local)

    def _failed(self, sweep: Sweep, failed: CallFailed, now: float) -> None:
        if failed.kind is ErrorKind.THROTTLED:
            self._budget.throttled(LIST)
            self._throttles[LIST] += 1
        else:
            self._errors[LIST] += 1
        verdict = list_failed(
            sweep,
            throttled=failed.kind is ErrorKind.THROTTLED,
            refused=failed.kind in {ErrorKind.FATAL, ErrorKind.NOT_FOUND},
            failures=self._failures + 1,
        )
        if verdict.forbidden:
            # Listing is not allowed here: per-job schedules from now on.
            self._forbidden = True
            self._sweep = None
            logger.warning(
                FLEET_LIST_UNAVAILABLE,
                error=getattr(failed.error, "code", type(failed.error).__name__),
                message=str(failed.error),
            )
            return
        self._failures += 1
        if verdict.failing:
            self._failing = True
        attempt = min(self._throttles[LIST] + self._errors[LIST], RETRY_CAP)
        sweep.ready_at = now + self._retry.wait_for(attempt, self._rng)
