"""The fleet's list sweeps: when to sweep, what window, what a page means.

Pure, like ``planner``: no I/O, no clock object, no anyio, aiobotocore or
structlog. Times are float seconds on the caller's monotonic clock, passed in;
wall-clock values (the service's ``LastModifiedTime``) are ``datetime`` objects,
passed in too. Data flows one way: a page's summaries make jobs due by setting
their ``JobTiming`` (``planner``), which the planner then orders with every
other due time; the planner knows nothing of sweeps. The fleet's ``Sweeper``
sends the pages and asks this module what to do:

* ``wants_sweeps`` and ``wants_listing`` say when to sweep ``ListTrainingJobs``
  and when to fall back to per-job polling (the planner's ``routine_due`` then
  resumes each job's own schedule from the last sweep).
* ``Sweep``, ``new_sweep``, ``sweep_wait``, ``max_pages``, ``page_read`` and
  ``list_failed`` follow one sweep page by page, within a bound on its pages,
  and say what a failed page means.
* ``ServiceClock`` reads the service's clock off its own timestamps;
  ``mark_page`` says which jobs a page's summaries make due (``summary_due``
  for one summary, ``covers`` for whether a snapshot already shows it).
* A **census** is a sweep without a window (every job created since the
  oldest watched one): ``vouch_page`` says which watched jobs its pages show
  exactly as their last snapshot (``vouches``); each such summary stands in
  for the job's safety re-check (``planner.routine_due``). The service pages
  before it filters, so a census reads the pages a windowed sweep reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import TYPE_CHECKING, Final, Protocol

from .planner import EPSILON, summary_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .planner import JobTiming, Summary
    from .status import PrimaryStatus, SecondaryStatus

#: A sweep reads at most this many pages more than twice what the service has
#: shown a sweep needs (``max_pages``).
MIN_PAGE_BOUND: Final = 50
#: Consecutive throttled sweeps before the fleet falls back to per-job schedules.
LIST_THROTTLES_BEFORE_FALLBACK: Final = 5


class Seen(Protocol):
    """What a sweep reads of a job's last snapshot."""

    @property
    def last_modified_time(self) -> dt.datetime | None:
        """``LastModifiedTime``, on the service's clock."""

    @property
    def primary_status(self) -> PrimaryStatus:
        """``TrainingJobStatus``."""

    @property
    def secondary_status(self) -> SecondaryStatus | None:
        """``SecondaryStatus``."""


def wants_sweeps(
    *, sweep_interval: float | None, forbidden: bool, active: int, min_jobs: int
) -> bool:
    """Whether the fleet should sweep ``ListTrainingJobs`` at all."""
    return sweep_interval is not None and not forbidden and active >= min_jobs


def wants_listing(
    *,
    sweep_interval: float | None,
    forbidden: bool,
    failing: bool,
    active: int,
    min_jobs: int,
) -> bool:
    """Whether changes are found by listing (else each job's own schedule).

    Listing needs sweeps enabled, allowed (not *forbidden*), working (not
    *failing*: a failed sweep falls back to per-job schedules until one succeeds)
    and worth it (*active* at least *min_jobs*).
    """
    return not failing and wants_sweeps(
        sweep_interval=sweep_interval,
        forbidden=forbidden,
        active=active,
        min_jobs=min_jobs,
    )


def covers(seen: Seen, summary: Summary) -> bool:
    """Whether a snapshot (*seen*) already shows what *summary* reports.

    Later ``LastModifiedTime`` in the summary: not covered. Otherwise covered
    when the statuses agree (a missing status agrees with any), or when the
    snapshot is strictly newer.
    """
    listed, last = summary.last_modified_time, seen.last_modified_time
    if listed is not None and last is not None and listed > last:
        return False
    return (
        summary.primary_status in {None, seen.primary_status}
        and summary.secondary_status in {None, seen.secondary_status}
    ) or (listed is not None and last is not None and last > listed)


def vouches(seen: Seen, summary: Summary) -> bool:
    """Whether *summary* shows exactly what the snapshot (*seen*) showed.

    The same ``LastModifiedTime`` (the service moves it at every status
    change) and the same statuses (a missing one agrees with any): nothing
    changed between the snapshot and the list's view of the job.
    """
    listed = summary.last_modified_time
    return (
        listed is not None
        and listed == seen.last_modified_time
        and summary.primary_status in {None, seen.primary_status}
        and summary.secondary_status in {None, seen.secondary_status}
    )


def summary_due(
    job: JobTiming,
    seen: Seen | None,
    summary: Summary,
    *,
    now: float,
    service_now: dt.datetime,
    statuses_only: bool = False,
) -> float | None:
    """What one summary means for one watched job: the time it became due, or None.

    ``None`` when the job was never observed (its first describe is due anyway),
    when its last snapshot already covers the summary, or when the same summary
    was already acted on; with *statuses_only* (push hints announce every
    change of status), also when it shows the snapshot's statuses at a later
    time: a new status message alone waits for the job's safety re-check.
    Otherwise the job is due since the change: *now* minus how long ago, on
    the service's clock, the summary says it changed.
    """
    if seen is None:
        return None
    key = summary_key(summary)
    if job.consumed == key or covers(seen, summary):
        return None
    if (
        statuses_only
        and summary.primary_status == seen.primary_status
        and summary.secondary_status is not None
        and summary.secondary_status == seen.secondary_status
    ):
        return None
    if job.listed is not None and summary_key(job.listed) == key:
        return None
    changed = summary.last_modified_time
    ago = 0.0 if changed is None else max(0.0, (service_now - changed).total_seconds())
    return now - ago


class ServiceClock:
    """The service's clock, read off its own timestamps.

    A timestamp is never later than the service's clock when it is read, so a
    stamp minus the monotonic time it was seen bounds from below where the
    service's clock stood at monotonic time 0. The second-best bound of two
    different jobs is used, so one job with a timestamp far in the future
    cannot move every window.
    """

    __slots__ = ("_marks",)

    def __init__(self) -> None:
        """Start knowing nothing."""
        self._marks: list[tuple[dt.datetime, str]] = []

    def __repr__(self) -> str:
        """Return a short description."""
        return f"ServiceClock(marks={len(self._marks)})"

    def mark(self, job_name: str, stamp: dt.datetime | None, now: float) -> None:
        """Learn from *job_name*'s timestamp *stamp*, seen at monotonic time *now*."""
        if stamp is None:
            return
        try:
            mark = stamp - dt.timedelta(seconds=now)
        except OverflowError:
            return
        best = {name: value for value, name in self._marks}
        best[job_name] = max(mark, best.get(job_name, mark))
        self._marks = sorted(
            ((value, name) for name, value in best.items()), reverse=True
        )[:2]

    def at(self, monotonic: float, local: dt.datetime) -> dt.datetime:
        """The service's clock at *monotonic* (at most), else *local* if unknown.

        SageMaker filters ``LastModifiedTimeAfter`` on its own clock: a local
        clock a minute off would move every sweep's window past the changes.
        """
        if not self._marks:
            return local
        try:
            return self._marks[-1][0] + dt.timedelta(seconds=monotonic)
        except OverflowError:
            return local


def mark_page(
    jobs: Mapping[str, tuple[JobTiming, Seen | None]],
    summaries: Iterable[Summary],
    *,
    now: float,
    service: ServiceClock,
    local: dt.datetime,
    statuses_only: bool = False,
) -> tuple[list[str], list[tuple[str, Exception]]]:
    """Apply one list page to the watched *jobs*; say which became due.

    Summaries of jobs not watched (or no longer active) are ignored; each
    summary's ``LastModifiedTime`` teaches *service* the service's clock. A
    summary that reports a change sets the job's ``listed`` summary and, unless
    a describe is in flight for it, its ``urgent`` time.

    Args:
        jobs: every watched job's timing and last snapshot, by name.
        summaries: the page's summaries, in order.
        now: the monotonic time the page was read.
        service: the service's clock, updated here.
        local: the local wall clock at *now*.
        statuses_only: push hints announce every change of status: a summary
            that shows only a later time (a new status message) makes no job
            due (``summary_due``).

    Returns:
        The names of the jobs made due, in order, and the summaries that could
        not be handled (their job's name and the error), which are skipped.
    """
    due: list[str] = []
    skipped: list[tuple[str, Exception]] = []
    for summary in summaries:
        try:
            entry = jobs.get(summary.job_name)
            if entry is None or not entry[0].active:
                continue
            job, seen = entry
            service.mark(job.name, summary.last_modified_time, now)
            since = summary_due(
                job,
                seen,
                summary,
                now=now,
                service_now=service.at(now, local),
                statuses_only=statuses_only,
            )
            if since is None:
                continue
            job.listed = summary
            if not job.in_flight:
                job.hurry(since)
                due.append(job.name)
        except Exception as error:  # noqa: BLE001 - skip one summary, not the page
            skipped.append((summary.job_name, error))
    return due, skipped


def vouch_page(
    jobs: Mapping[str, tuple[JobTiming, Seen | None]],
    summaries: Iterable[Summary],
    *,
    at: float,
) -> list[str]:
    """Apply one census page: the watched jobs it shows unchanged are vouched for.

    A job is vouched for (its ``vouched_at`` set to *at*, the census's start)
    when it is watched, seen before, has no describe in flight and no listed
    change pending, and its summary ``vouches`` for its last snapshot.

    Returns:
        The names of the jobs vouched for, in order.
    """
    vouched: list[str] = []
    for summary in summaries:
        entry = jobs.get(summary.job_name)
        if entry is None:
            continue
        job, seen = entry
        if (
            job.active
            and seen is not None
            and not job.in_flight
            and job.listed is None
            and vouches(seen, summary)
        ):
            job.vouched_at = at
            vouched.append(job.name)
    return vouched


@dataclasses.dataclass(slots=True, kw_only=True)
class Sweep:
    """One sweep of ``ListTrainingJobs``, page by page (mutable, owned by the fleet).

    Attributes:
        started: the monotonic time it began.
        started_wall: the local wall clock then.
        since: ``LastModifiedTimeAfter`` (service's clock); ``None`` for a
            census (every job created after *created_after*).
        created_after: ``CreationTimeAfter``, when every watched job's creation
            time is known, else ``None``.
        next_token: the token of the next page, ``None`` for the first.
        ready_at: the next page is not sent before this time (after a failure).
        pages: pages read so far.
        tokens: every ``NextToken`` seen, to stop pages that never end.
        page_bound: the most pages it reads (``max_pages``).
    """

    started: float
    started_wall: dt.datetime
    since: dt.datetime | None
    created_after: dt.datetime | None
    next_token: str | None = None
    ready_at: float = 0.0
    pages: int = 0
    tokens: set[str] = dataclasses.field(default_factory=set)
    page_bound: int = MIN_PAGE_BOUND

    @property
    def census(self) -> bool:
        """Whether it reads every job since the oldest watched one, unwindowed."""
        return self.since is None


def new_sweep(
    *,
    now: float,
    local: dt.datetime,
    begun: dt.datetime,
    overlap: float,
    creation_times: list[dt.datetime],
    active: int,
    previous_pages: int = 0,
    census: bool = False,
) -> Sweep:
    """Plan a sweep starting at *now*.

    Args:
        now: the monotonic time it starts.
        local: the local wall clock at *now*.
        begun: the service's clock when the previous complete sweep began (or
            the fleet started): the window starts *overlap* seconds before it.
        overlap: seconds of overlap, for clock skew and a list index that lags.
        creation_times: the creation times of the watched jobs known so far.
        active: how many jobs are watched.
        previous_pages: the pages the previous sweep read, complete or cut
            short at its bound (0 before the first): see ``max_pages``.
        census: read every job created since the oldest watched one, without
            a window (``Sweep.census``); only when every watched job's
            creation time is known (else the whole account's history).
    """
    try:
        since = begun - dt.timedelta(seconds=overlap)
    except OverflowError:
        since = begun
    created_after = None
    if creation_times and len(creation_times) == active:
        created_after = min(creation_times) - dt.timedelta(seconds=1)
    return Sweep(
        started=now,
        started_wall=local,
        since=None if census and created_after is not None else since,
        created_after=created_after,
        ready_at=now,
        page_bound=max_pages(active, previous=previous_pages),
    )


def sweep_wait(
    sweep: Sweep | None, *, now: float, next_sweep: float
) -> tuple[bool, float]:
    """Whether a page may be sent now, budget aside; else the seconds to wait.

    Returns:
        ``(start, wait)``: *start* is true when a new sweep must be planned
        first (none is under way and *next_sweep* has come); *wait* is 0 when a
        page may go now.
    """
    if sweep is None:
        if now + EPSILON < next_sweep:
            return False, next_sweep - now
        return True, 0.0
    if now + EPSILON < sweep.ready_at:
        return False, sweep.ready_at - now
    return False, 0.0


def max_pages(active: int, *, previous: int = 0) -> int:
    """The most pages one sweep reads: twice what it is known to need, and more.

    The service pages before it filters: a sweep reads every job created since
    the oldest watched one, watched or not, finished or not, so how many pages
    it needs depends on the account, not on the *active* jobs watched (they
    fill one page per 100 at least). The bound is ``MIN_PAGE_BOUND`` more than
    twice the larger of what they fill and the pages the *previous* sweep read
    (complete, or cut short at its own bound).
    A sweep cut short at its bound so lets the next read more than twice as
    many pages: a window of any length is read in full after a few cuts, then
    every time while it at most doubles between sweeps; pages that never end
    still stop each sweep within its bound.
    """
    return MIN_PAGE_BOUND + max(active // 50, 2 * previous)


class PageVerdict(enum.Enum):
    """What a page read means for its sweep."""

    MORE = "more"
    ENDLESS = "endless"
    DONE = "done"


def page_read(sweep: Sweep, next_token: str | None) -> PageVerdict:
    """Record a page that was read; say whether the sweep goes on.

    ``ENDLESS`` when a ``NextToken`` repeats or the pages reach the sweep's
    ``page_bound`` with more to come: the sweep is then given up like a failed
    one.
    """
    sweep.pages += 1
    if next_token is None:
        return PageVerdict.DONE
    if next_token in sweep.tokens or sweep.pages >= sweep.page_bound:
        sweep.next_token = None
        return PageVerdict.ENDLESS
    sweep.tokens.add(next_token)
    sweep.next_token = next_token
    return PageVerdict.MORE


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ListFailure:
    """What a failed page means.

    Attributes:
        forbidden: listing is not allowed here: per-job schedules from now on.
        failing: fall back to per-job schedules until a sweep succeeds.
    """

    forbidden: bool
    failing: bool


def list_failed(
    sweep: Sweep, *, throttled: bool, refused: bool, failures: int
) -> ListFailure:
    """Decide what a failed page means.

    A refused page (fatal or not-found) of a sweep under way starts the sweep
    over from its first page (the tokens it saw may come again; the pages it
    read still count towards its bound); another failure retries the same page
    later.

    Args:
        sweep: the sweep whose page failed.
        throttled: the page was throttled.
        refused: the page got a fatal or not-found error.
        failures: consecutive failed pages, this one included.
    """
    if refused:
        if sweep.next_token is None:
            return ListFailure(forbidden=True, failing=False)
        sweep.next_token = None
        sweep.tokens.clear()
    # A throttled sweep is retried through the budget; only errors, or
    # throttling that persists, fall back to per-job schedules.
    failing = not throttled or failures >= LIST_THROTTLES_BEFORE_FALLBACK
    return ListFailure(forbidden=False, failing=failing)
