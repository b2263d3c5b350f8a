"""The fleet's planner: which job is due, when to sweep, what a list page means.

Pure: no I/O, no clock object, no anyio, aiobotocore or structlog. Times
are float seconds on the caller's monotonic clock, passed in; wall-clock values
(the service's ``LastModifiedTime``) are ``datetime`` objects, passed in too;
randomness, where there is any, comes from the caller's ``random.Random``.
``FleetWatcher`` keeps the I/O, the task group, the client, the clock, the
waiters and the event stream, and asks this module what to do:

* ``DueQueue`` orders watched jobs by the time each is next due; ``next_due``
  picks the most overdue one that the rate budget allows, changed jobs before
  first looks before routine ones (``is_routine``): a routine re-check yields
  to a change due no later than ``RECHECK_SLACK`` seconds after it, a first look
  to one due no later than ``FIRST_LOOK_SLACK``, so neither is starved.
* ``JobTiming`` holds what decides one job's due time (its own schedule, a
  change a list page reported, a retry, a lagging describe); ``due_at`` and
  ``routine_due`` combine them, and ``recheck_interval`` stretches the safety
  re-checks to at most half the describe budget while listing. Each job's
  re-check comes a fixed fraction of the interval after its last observation,
  set by its ``recheck_phase`` (between half and all of it), so jobs seen
  together are re-checked at an even pace over half an interval, not in a wave.
* ``wants_listing`` says when to sweep ``ListTrainingJobs`` and when to fall back
  to per-job polling; ``routine_due`` resumes each job's own schedule from the
  last sweep after a fall-back.
* ``Sweep``, ``new_sweep``, ``page_read`` and ``list_failed`` follow one sweep
  page by page; ``ServiceClock`` reads the service's clock off its own
  timestamps; ``mark_page`` says which jobs a page's summaries make due.
* ``lag_delay`` says when to describe again a job whose answer lags the summary
  that called for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import heapq
import itertools
import math
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .status import PrimaryStatus, SecondaryStatus

#: What re-checks may take of the describe budget at most (the rest is for changes).
RECHECK_SHARE: Final = 0.5
#: A routine re-check gives way to changes due up to this many seconds after it.
RECHECK_SLACK: Final = 60.0
#: How long a job never seen yet may be passed over by changes of jobs already
#: seen: after a thundering start, changes (what callers wait on) go before the
#: queue of first looks, which still all happen.
FIRST_LOOK_SLACK: Final = 600.0
#: The classes of a ``DueQueue``, in the order ``take`` prefers them.
_CHANGED, _FIRST_LOOK, _ROUTINE = 0, 1, 2
_KINDS: Final = (_CHANGED, _FIRST_LOOK, _ROUTINE)
#: Re-checks come between (1 - RECHECK_SPREAD) and 1 interval after an observation.
RECHECK_SPREAD: Final = 0.5
#: The golden ratio's fractional part: successive phases fill [0, 1) evenly.
_GOLDEN: Final = (math.sqrt(5.0) - 1.0) / 2.0
#: A sweep reads at most this many pages more than twice what the service has
#: shown a sweep needs (``max_pages``).
MIN_PAGE_BOUND: Final = 50
#: Describes that lag a newer list summary are retried this often at most...
LAG_RETRIES: Final = 12
#: ...after 1, 2, 4 seconds, then every this many seconds (about 50 s in all).
LAG_DELAY_CAP: Final = 5.0
#: Consecutive throttled sweeps before the fleet falls back to per-job schedules.
LIST_THROTTLES_BEFORE_FALLBACK: Final = 5
#: Slack for float rounding: what is due this close to now is due now, so that
#: sleeping exactly the delay returned always reaches it.
EPSILON: Final = 1e-6


class Summary(Protocol):
    """What the planner reads of one ``ListTrainingJobs`` summary."""

    @property
    def job_name(self) -> str:
        """The training job's name."""

    @property
    def last_modified_time(self) -> dt.datetime | None:
        """``LastModifiedTime``, on the service's clock."""

    @property
    def primary_status(self) -> PrimaryStatus | None:
        """``TrainingJobStatus``."""

    @property
    def secondary_status(self) -> SecondaryStatus | None:
        """``SecondaryStatus``."""


class Seen(Protocol):
    """What the planner reads of a job's last snapshot."""

    @property
    def last_modified_time(self) -> dt.datetime | None:
        """``LastModifiedTime``, on the service's clock."""

    @property
    def primary_status(self) -> PrimaryStatus:
        """``TrainingJobStatus``."""

    @property
    def secondary_status(self) -> SecondaryStatus | None:
        """``SecondaryStatus``."""


class Budget(Protocol):
    """A rate budget per operation (``RateBudget`` or any token bucket)."""

    def try_take(self, operation: str) -> bool:
        """Take a token for *operation* if one is available now."""

    def delay(self, operation: str) -> float:
        """Return the seconds until *operation* may be sent (0 if now)."""


class JobTiming:
    """What decides when one job is next due (mutable, owned by the fleet).

    Attributes:
        name: the training job's name.
        added_at: when the fleet began watching it.
        observed_at: when its last snapshot was taken, ``None`` before the first.
        schedule_due: when its own ``PollSchedule`` says to poll next.
        urgent: when it must be described at the latest (a listed change, a
            lagging describe, a retry), or ``None``.
        retry_at: not before this time (a failed call's back-off), or ``None``.
        in_flight: whether a describe for it is in flight.
        active: whether it is still watched.
        listed: a summary reporting a change not yet described.
        consumed: the key of the last summary a describe was sent for.
        chasing: the summary a describe was sent for, until one shows it.
        lag_retries: describes so far that lagged *chasing*.
        phase: how much sooner than one interval after each observation its
            re-check comes, in ``RECHECK_SPREAD`` intervals (a fraction in
            [0, 1), ``recheck_phase``); ``None``: one interval after.
    """

    __slots__ = (
        "active",
        "added_at",
        "chasing",
        "consumed",
        "in_flight",
        "lag_retries",
        "listed",
        "name",
        "observed_at",
        "phase",
        "retry_at",
        "schedule_due",
        "urgent",
    )

    def __init__(self, name: str, added_at: float) -> None:
        """Start a job that is due at once."""
        self.name = name
        self.added_at = added_at
        self.observed_at: float | None = None
        self.schedule_due = added_at
        self.urgent: float | None = added_at
        self.retry_at: float | None = None
        self.in_flight = False
        self.active = True
        self.listed: Summary | None = None
        self.consumed: tuple[object, ...] | None = None
        self.chasing: Summary | None = None
        self.lag_retries = 0
        self.phase: float | None = None

    def __repr__(self) -> str:
        """Return a short description."""
        return f"{type(self).__name__}(name={self.name!r}, urgent={self.urgent!r})"

    def hurry(self, due: float) -> None:
        """Make the job due at *due* at the latest."""
        self.urgent = due if self.urgent is None else min(self.urgent, due)

    def sent(self) -> None:
        """A describe was sent: what called for it now waits for the answer."""
        self.urgent = None
        self.in_flight = True
        if self.listed is not None:
            self.consumed = summary_key(self.listed)
            self.chasing, self.lag_retries = self.listed, 0
            self.listed = None


class DueQueue:
    """Jobs by the time each is due, earliest first; a job is in it at most once.

    Each job is queued as changed (the default), as a first look (a job never
    seen) or as routine (a re-check or its own schedule); ``take`` serves
    changes first, then first looks, then routine jobs, each passed over for at
    most its slack (see ``take``). Scheduling a job again keeps the earlier of
    its two due times unless *replace* is set; a job discarded is never
    returned by ``peek``, ``pop`` or ``take``.
    """

    __slots__ = ("_due", "_heaps", "_seq")

    def __init__(self) -> None:
        """Start empty."""
        self._heaps: tuple[list[tuple[float, int, str]], ...] = ([], [], [])
        self._due: dict[str, tuple[float, int]] = {}
        self._seq = itertools.count()

    def __repr__(self) -> str:
        """Return a short description."""
        return f"DueQueue(jobs={len(self._due)})"

    def __len__(self) -> int:
        """Return how many jobs are queued."""
        return len(self._due)

    def __contains__(self, name: object) -> bool:
        """Return whether *name* is queued."""
        return name in self._due

    def due(self, name: str) -> float | None:
        """Return when *name* is due, ``None`` if it is not queued."""
        entry = self._due.get(name)
        return None if entry is None else entry[0]

    def routine(self, name: str) -> bool | None:
        """Return whether *name* is queued as routine, ``None`` if not queued."""
        entry = self._due.get(name)
        return None if entry is None else entry[1] == _ROUTINE

    def schedule(
        self,
        name: str,
        due: float,
        *,
        routine: bool = False,
        first_look: bool = False,
        replace: bool = False,
    ) -> None:
        """Queue *name* at *due*, unless it is queued as early (or *replace*)."""
        queued = self._due.get(name)
        if queued is not None and queued[0] <= due and not replace:
            return
        kind = _ROUTINE if routine else _FIRST_LOOK if first_look else _CHANGED
        self._due[name] = (due, kind)
        heapq.heappush(self._heaps[kind], (due, next(self._seq), name))

    def discard(self, name: str) -> None:
        """Take *name* out of the queue (nothing if it is not queued)."""
        self._due.pop(name, None)

    def clear(self) -> None:
        """Empty the queue."""
        for heap in self._heaps:
            heap.clear()
        self._due.clear()

    def _head(self, kind: int) -> tuple[float, str] | None:
        heap = self._heaps[kind]
        while heap:
            due, _, name = heap[0]
            if self._due.get(name) == (due, kind):
                return due, name
            heapq.heappop(heap)
        return None

    def _remove(self, name: str, kind: int) -> str:
        heapq.heappop(self._heaps[kind])
        del self._due[name]
        return name

    def peek(self) -> tuple[float, str] | None:
        """Return the earliest due time and its job, ``None`` if empty."""
        heads = (self._head(kind) for kind in _KINDS)
        return min((head for head in heads if head is not None), default=None)

    def pop(self) -> str:
        """Take the earliest job out of the queue and return its name.

        Raises:
            IndexError: if the queue is empty.
        """
        head = self.peek()
        if head is None:
            msg = "pop from an empty DueQueue"
            raise IndexError(msg)
        return self._remove(head[1], self._due[head[1]][1])

    def wait(self, now: float) -> float | None:
        """Seconds until a job is due (0 if one is), ``None`` if empty."""
        head = self.peek()
        return None if head is None else max(0.0, head[0] - now)

    def take(self, now: float, *, slack: float = RECHECK_SLACK) -> str | None:
        """Take out the job to serve at *now*, ``None`` if none is due yet.

        The most overdue changed job, unless the most overdue first look was due
        more than ``FIRST_LOOK_SLACK`` seconds before it or the most overdue
        routine job more than *slack* seconds; then the first look, unless that
        routine job was due more than *slack* before it; then the routine job.
        """
        changed, first, routine = (
            head if head is not None and head[0] <= now + EPSILON else None
            for head in (self._head(kind) for kind in _KINDS)
        )
        if changed is not None and (
            (first is None or changed[0] <= first[0] + FIRST_LOOK_SLACK)
            and (routine is None or changed[0] <= routine[0] + slack)
        ):
            return self._remove(changed[1], _CHANGED)
        if first is not None and (routine is None or first[0] <= routine[0] + slack):
            return self._remove(first[1], _FIRST_LOOK)
        if routine is not None:
            return self._remove(routine[1], _ROUTINE)
        # A due changed job is passed over only for a first look or a routine
        # job, served above: nothing is due.
        return None


def next_due(
    queue: DueQueue,
    now: float,
    budget: Budget,
    operation: str,
    *,
    slack: float = RECHECK_SLACK,
) -> tuple[str | None, float | None]:
    """Pick the job to describe now if the budget allows sending *operation*.

    Changed jobs (a change a list page reported, a retry, a first describe) go
    first: a routine one is picked before a changed one only when it was due
    more than *slack* seconds earlier, so routine re-checks use what changes
    leave of the budget but are never passed over for long.

    Returns:
        ``(name, None)``: the job was taken out of the queue and a token spent;
        describe it now. ``(None, wait)``: nothing can be sent for *wait*
        seconds. ``(None, None)``: nothing is queued.
    """
    wait = queue.wait(now)
    if wait is None:
        return None, None
    if wait > EPSILON:
        return None, wait
    if not budget.try_take(operation):
        return None, budget.delay(operation)
    name = queue.take(now, slack=slack)
    if name is None:  # pragma: no cover - wait() said one is due
        msg = "a due job vanished from the DueQueue"
        raise AssertionError(msg)
    return name, None


def recheck_phase(index: int) -> float:
    """The re-check phase of the *index*-th job the fleet watches, in [0, 1).

    Successive multiples of the golden ratio, modulo 1: however many jobs are
    added together, their phases fill [0, 1) evenly (no gap more than about
    2.6 times the even spacing), so jobs seen at the same time are re-checked
    at an even pace, not all at once.
    """
    return (index * _GOLDEN) % 1.0


def recheck_interval(*, active: int, interval: float, describe_rate: float) -> float:
    """Seconds between safety re-checks of each job while listing, at most.

    At least *interval*, stretched so that re-checking *active* jobs takes at
    most ``RECHECK_SHARE`` of *describe_rate* on average: a job's re-checks
    come ``1 - RECHECK_SPREAD * phase`` of it apart, three quarters on average.
    """
    mean = 1.0 - RECHECK_SPREAD / 2.0
    return max(interval, active / (RECHECK_SHARE * describe_rate * mean))


def routine_due(
    job: JobTiming, *, listing: bool, swept_at: float | None, recheck: float
) -> float:
    """When *job* is due by routine: its schedule, or a safety re-check if listing.

    Args:
        job: the job.
        listing: whether changes are found by list sweeps now.
        swept_at: when the last complete sweep began, ``None`` if none did.
        recheck: the re-check interval (``recheck_interval``).
    """
    if job.observed_at is None:
        return job.schedule_due
    if not listing:
        if swept_at is None:
            return job.schedule_due
        # A sweep that showed the job unchanged was as good as a poll: after
        # falling back from listing, resume each job's own schedule from the
        # last sweep, instead of finding every job overdue at once.
        last_delay = job.schedule_due - job.observed_at
        return max(job.schedule_due, swept_at + last_delay)
    if job.phase is None:
        return job.observed_at + recheck
    return job.observed_at + recheck * (1.0 - RECHECK_SPREAD * job.phase)


def is_routine(job: JobTiming, routine: float) -> bool:
    """Whether *job* is due at its *routine* time, not sooner for a change.

    A change a list page reported, a retry or a first describe make a job due
    sooner (``urgent``); those go before routine ones in ``next_due``.
    """
    return job.urgent is None or job.urgent > routine


def due_at(job: JobTiming, routine: float) -> float:
    """When *job* is due: its *routine* time or an urgent one, never before a retry."""
    due = routine if job.urgent is None else min(routine, job.urgent)
    return due if job.retry_at is None else max(due, job.retry_at)


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


def lag_delay(retries: int) -> float | None:
    """Seconds until a describe that lagged its summary is sent again.

    1, 2, 4, then every ``LAG_DELAY_CAP`` seconds; ``None`` after
    ``LAG_RETRIES`` tries (the safety re-check will catch it then).
    """
    if retries >= LAG_RETRIES:
        return None
    return min(2.0**retries, LAG_DELAY_CAP)


def summary_key(summary: Summary) -> tuple[object, ...]:
    """What a summary says, to tell a new summary from one already acted on."""
    return (
        summary.last_modified_time,
        summary.primary_status,
        summary.secondary_status,
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


def summary_due(
    job: JobTiming,
    seen: Seen | None,
    summary: Summary,
    *,
    now: float,
    service_now: dt.datetime,
) -> float | None:
    """What one summary means for one watched job: the time it became due, or None.

    ``None`` when the job was never observed (its first describe is due anyway),
    when its last snapshot already covers the summary, or when the same summary
    was already acted on. Otherwise the job is due since the change: *now*
    minus how long ago, on the service's clock, the summary says it changed.
    """
    if seen is None:
        return None
    key = summary_key(summary)
    if job.consumed == key or covers(seen, summary):
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
                job, seen, summary, now=now, service_now=service.at(now, local)
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


@dataclasses.dataclass(slots=True, kw_only=True)
class Sweep:
    """One sweep of ``ListTrainingJobs``, page by page (mutable, owned by the fleet).

    Attributes:
        started: the monotonic time it began.
        started_wall: the local wall clock then.
        since: ``LastModifiedTimeAfter`` (service's clock).
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
    since: dt.datetime
    created_after: dt.datetime | None
    next_token: str | None = None
    ready_at: float = 0.0
    pages: int = 0
    tokens: set[str] = dataclasses.field(default_factory=set)
    page_bound: int = MIN_PAGE_BOUND


def new_sweep(
    *,
    now: float,
    local: dt.datetime,
    begun: dt.datetime,
    overlap: float,
    creation_times: list[dt.datetime],
    active: int,
    previous_pages: int = 0,
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
        since=since,
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


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an ordered list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
