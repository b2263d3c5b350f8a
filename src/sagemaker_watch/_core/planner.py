"""The fleet's due times: which watched job to describe next, within the rate budget.

Pure: no I/O, no clock object, no anyio, aiobotocore or structlog. Times
are float seconds on the caller's monotonic clock, passed in; randomness, where
there is any, comes from the caller's ``random.Random``. ``FleetWatcher`` keeps
the I/O, the task group, the client, the clock, the waiters and the event
stream, and asks this module which job to describe when (and ``sweeps``, which
reads list pages into the same ``JobTiming`` records, when to list):

* ``DueQueue`` orders watched jobs by the time each is next due; ``next_due``
  picks the most overdue one that the rate budget allows, changed jobs before
  first looks before routine ones (``is_routine``): a routine re-check yields
  to a change due no later than ``RECHECK_SLACK`` seconds after it, a first look
  to one due no later than ``FIRST_LOOK_SLACK``, so neither is starved.
* ``JobTiming`` holds what decides one job's due time (its own schedule, a
  change a list page reported, a retry, a lagging describe); ``due_at`` and
  ``routine_due`` combine them, and ``recheck_interval`` stretches the safety
  re-checks to at most half the describe budget while list sweeps or push
  hints find the changes; a list census that shows a job unchanged stands in
  for its re-check (``vouched_at``), within ``CENSUS_STRETCH``. Each job's
  re-check comes a fixed fraction of the interval after its last observation,
  set by its ``recheck_phase`` (between half and all of it), so jobs seen
  together are re-checked at an even pace over half an interval, not in a wave.
  After a fall-back from listing, ``routine_due`` resumes each job's own
  schedule from the last sweep.
* ``lag_delay`` says when to describe again a job whose answer lags the summary
  that called for it.
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    import datetime as dt

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
#: A job a list census shows unchanged is still described after this many of
#: its re-check intervals of silence (a summary stuck on an old state vouches
#: for a while, never for good).
CENSUS_STRETCH: Final = 4.0
#: The golden ratio's fractional part: successive phases fill [0, 1) evenly.
_GOLDEN: Final = (math.sqrt(5.0) - 1.0) / 2.0
#: Describes that lag a newer list summary are retried this often at most...
LAG_RETRIES: Final = 12
#: ...after 1, 2, 4 seconds, then every this many seconds (about 50 s in all).
LAG_DELAY_CAP: Final = 5.0
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
        hinted: a push hint made the job due, and no describe was sent since.
        for_hint: the last describe sent was one a hint made due.
        phase: how much sooner than one interval after each observation its
            re-check comes, in ``RECHECK_SPREAD`` intervals (a fraction in
            [0, 1), ``recheck_phase``); ``None``: one interval after.
        vouched_at: when the last list census that showed the job exactly as
            its last snapshot began (``sweeps.vouch_page``), or ``None``.
    """

    __slots__ = (
        "active",
        "added_at",
        "chasing",
        "consumed",
        "for_hint",
        "hinted",
        "in_flight",
        "lag_retries",
        "listed",
        "name",
        "observed_at",
        "phase",
        "retry_at",
        "schedule_due",
        "urgent",
        "vouched_at",
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
        self.hinted = False
        self.for_hint = False
        self.vouched_at: float | None = None

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
        self.for_hint, self.hinted = self.hinted, False
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
    """Seconds between safety re-checks of each job while changes are found elsewhere.

    At least *interval*, stretched so that re-checking *active* jobs takes at
    most ``RECHECK_SHARE`` of *describe_rate* on average: a job's re-checks
    come ``1 - RECHECK_SPREAD * phase`` of it apart, three quarters on average.
    """
    mean = 1.0 - RECHECK_SPREAD / 2.0
    return max(interval, active / (RECHECK_SHARE * describe_rate * mean))


def census_interval(recheck: float) -> float:
    """Seconds between list censuses when re-checks are *recheck* seconds apart.

    Half the shortest phased re-check interval: each census vouches for a job
    before its re-check comes, even when the census reads it on a late page.
    """
    return recheck * (1.0 - RECHECK_SPREAD) / 2.0


def routine_due(
    job: JobTiming, *, rechecking: bool, swept_at: float | None, recheck: float
) -> float:
    """When *job* is due by routine: its schedule, or a safety re-check.

    Args:
        job: the job.
        rechecking: whether changes are found by something else now (list
            sweeps, push hints), so the job's schedule gives way to a slow
            safety re-check.
        swept_at: when the last complete sweep began, ``None`` if none did.
        recheck: the re-check interval (``recheck_interval``).

    While rechecking, a job is due one interval (less its phase) after its last
    describe or after the last list census that vouched for it, whichever is
    later, but no later than ``CENSUS_STRETCH`` intervals after the describe.
    """
    if job.observed_at is None:
        return job.schedule_due
    if not rechecking:
        if swept_at is None:
            return job.schedule_due
        # A sweep that showed the job unchanged was as good as a poll: after
        # falling back from listing, resume each job's own schedule from the
        # last sweep, instead of finding every job overdue at once.
        last_delay = job.schedule_due - job.observed_at
        return max(job.schedule_due, swept_at + last_delay)
    if job.phase is not None:
        recheck *= 1.0 - RECHECK_SPREAD * job.phase
    due = job.observed_at + recheck
    vouched = job.vouched_at
    if vouched is not None and vouched > job.observed_at:
        # A census that listed the job unchanged was as good as a re-check,
        # up to CENSUS_STRETCH intervals after the last describe.
        due = min(vouched + recheck, job.observed_at + CENSUS_STRETCH * recheck)
    return due


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
