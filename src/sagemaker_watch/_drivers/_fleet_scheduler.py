"""The fleet's scheduler: its jobs, which one is polled when, what each answer does.

One ``Scheduler`` per fleet holds the jobs (each a ``Job`` with its own
``JobTracker``), queued by the time each is next due, and runs the fleet's one
loop: ask the planner (``_core/planner.py``) what is due within the rate budget,
send describes and list pages (at most *max_in_flight* at once), sleep on the
clock until the next due time, a waiter's deadline or a poke. Each answer is fed
to its job's tracker, whose step is turned into events (for the stream), a new
due time, the job's end, or its loss (``JobLost``); with logs, the events go
through the fleet's ``FleetLogs`` (``_fleet_logs.py``), which tells each job's
log follower and holds a terminal event until the job's lines are out. The
sweeps' I/O is in
``_fleet_sweeps.py``; the lifecycle, the client and the public methods are
``FleetWatcher``'s (``fleet.py``).
"""

from __future__ import annotations

import collections
import itertools
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from .._core.events import JobLost
from .._core.planner import (
    DueQueue,
    census_interval,
    due_at,
    is_routine,
    lag_delay,
    next_due,
    recheck_interval,
    recheck_phase,
    routine_due,
)
from .._core.sweeps import covers
from .._core.tracker import ErrorKind, JobTracker
from .._errors import JobRemoved, SageMakerWatchError
from .._io.failures import error_code
from .._io.logging import (
    FLEET_JOB_LOST,
    FLEET_POLL_FAILED,
    HISTORY_ANOMALY,
    JOB_NOT_FOUND_YET,
    logger,
)
from .._io.ratelimit import Rate, RateBudget
from .._io.source import CallFailed
from ._fleet_jobs import Job, unreadable
from ._fleet_stats import FleetStatistics, staleness, tally
from ._fleet_stream import IDLE
from ._fleet_sweeps import LIST, Sweeper
from ._fleet_waiters import Nap, Timeouts

if TYPE_CHECKING:
    import random

    from anyio.abc import TaskGroup

    from .._core.diff import ResumeCursor
    from .._core.events import Event
    from .._core.schedule import PollSchedule
    from .._core.snapshot import Snapshot
    from .._core.tracker import RetryPolicy
    from .._io.clock import Clock
    from .._io.source import AioBotocoreSource
    from ._fleet_logs import FleetLogs
    from ._fleet_stream import Stream
    from ._hint_feed import HintFeed

DESCRIBE: Final = "DescribeTrainingJob"


class Scheduler:
    """One fleet's jobs, their due times, and the loop that polls them.

    Attributes:
        jobs: every job the fleet knows (watched, ended or lost), by name.
        active: how many of them are still watched.
        timeouts: the waiters' deadlines, fired by the loop.
    """

    def __init__(
        self,
        *,
        source: AioBotocoreSource,
        stream: Stream,
        schedule: PollSchedule,
        retry: RetryPolicy,
        clock: Clock,
        rng: random.Random,
        describe_rate: float,
        list_rate: float,
        max_in_flight: int,
        sweep_interval: float | None,
        list_min_jobs: int,
        overlap: float,
        recheck_interval: float,
    ) -> None:
        """Poll through *source* and emit into *stream*; see ``FleetWatcher``."""
        self._source = source
        self._stream = stream
        self._schedule = schedule
        self._retry = retry
        self._clock = clock
        self._rng = rng
        self._budget = RateBudget(
            {
                DESCRIBE: Rate(
                    per_second=describe_rate, burst=max(1.0, describe_rate / 2)
                ),
                LIST: Rate(per_second=list_rate, burst=1.0),
            },
            clock=clock,
        )
        self._describe_ceiling = describe_rate
        self._max_in_flight = max_in_flight
        self._recheck_interval = recheck_interval
        self.jobs: dict[str, Job] = {}
        self.active = 0
        self._queue_of = DueQueue()
        self._added = itertools.count()
        self.timeouts = Timeouts()
        self._in_flight = 0
        #: The jobs with a describe in flight.
        self._busy: set[str] = set()
        self._hints: HintFeed | None = None
        #: The jobs' training logs, if the fleet reads them (set by the fleet).
        self.logs: FleetLogs | None = None
        #: (listing, hints flowing): a change re-plans every job. A change of
        #: the hints' re-check interval does not: each job takes it up when it
        #: is next queued, so a tightening brings no wave of overdue re-checks
        #: to crowd out the changes hints announce.
        self._mode = (False, False)
        self._nap = Nap(clock)
        self._task_group: TaskGroup | None = None
        self._calls: collections.Counter[str] = collections.Counter()
        self._throttles: collections.Counter[str] = collections.Counter()
        self._errors: collections.Counter[str] = collections.Counter()
        self._events = 0
        self._lost = 0
        self._finished = 0
        self._sweeper = Sweeper(
            source=source,
            budget=self._budget,
            clock=clock,
            rng=rng,
            retry=retry,
            interval=sweep_interval,
            min_jobs=list_min_jobs,
            overlap=overlap,
            counters=(self._calls, self._throttles, self._errors),
        )

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Scheduler(watching={self.active}, in_flight={self._in_flight})"

    # -- lifecycle (the fleet's) -----------------------------------------------

    def start(self, task_group: TaskGroup, *, hints: HintFeed | None = None) -> None:
        """Run the loop in *task_group*; the first sweep is due now.

        With *hints*, a second task reads them: each hint about a watched job
        makes it due at once, and while hints flow schedules relax.
        """
        self._task_group = task_group
        self._sweeper.start()
        self._hints = hints
        task_group.start_soon(self._run)
        if hints is not None:
            task_group.start_soon(self._read_hints, hints)

    def close(self) -> None:
        """Wake every waiter and stop the loop (the fleet cancels the task group)."""
        for job in self.jobs.values():
            job.release()
        self.timeouts.fire_all()
        self._task_group = None

    # -- jobs ------------------------------------------------------------------

    def add(
        self,
        name: str,
        *,
        cursor: ResumeCursor | None,
        token: str | None,
        logs_resume: str | None = None,
    ) -> Job:
        """Watch *name* (after *cursor*), due at once; return a watched job as is.

        With logs, its logs are followed too (after *logs_resume*).
        """
        job = self.jobs.get(name)
        if job is not None and job.active:
            return job
        if self.logs is not None:
            self.logs.follow(name, resume=logs_resume)
        tracker = JobTracker(
            name,
            schedule=self._schedule,
            retry=self._retry,
            rng=self._rng,
            resume=cursor,
        )
        job = Job(tracker, added_at=self._clock.monotonic(), token=token)
        job.phase = recheck_phase(next(self._added))
        self.jobs[name] = job
        self.active += 1
        self._queue(job)
        self.poke()
        return job

    def remove(self, name: str) -> None:
        """Forget *name*; its waiters raise ``JobRemoved``, an answer is dropped."""
        job = self.jobs.pop(name, None)
        if job is None:
            return
        self._queue_of.discard(name)
        self._forget_hints(name)
        if self.logs is not None:
            self.logs.removed(name)
        if job.active:
            job.active = False
            self.active -= 1
            self.check_idle()
        job.outcome = JobRemoved(name)
        job.release()
        self.poke()

    def watching(self, name: str) -> bool:
        """Whether *name* is watched now (hints about other jobs are dropped)."""
        job = self.jobs.get(name)
        return job is not None and job.active

    # -- statistics ------------------------------------------------------------

    def statistics(self) -> FleetStatistics:
        """Return the counters and the staleness of what the fleet knows."""
        sweeper = self._sweeper
        swept = sweeper.swept_at if sweeper.listing else None
        hints = self._hints
        if hints is not None and hints.mode.flowing and hints.confirmed_at is not None:
            # A receive that found the queue drained vouches for every job
            # with no hint pending, as a complete sweep does.
            confirmed = hints.confirmed_at
            swept = confirmed if swept is None else max(swept, confirmed)
        by_status, stale = tally(
            self.jobs.values(),
            now=self._clock.monotonic(),
            swept_at=swept,
            pending=() if hints is None else hints.coalescer.pending_jobs(),
        )
        p50, p95, worst = staleness(stale)
        return FleetStatistics(
            watching=self.active,
            finished=self._finished,
            lost=self._lost,
            jobs_by_status=MappingProxyType(by_status),
            calls=MappingProxyType(dict(self._calls)),
            throttles=MappingProxyType(dict(self._throttles)),
            errors=MappingProxyType(dict(self._errors)),
            rates=MappingProxyType(
                {op: self._budget.rate(op) for op in (DESCRIBE, LIST)}
            ),
            sweeps=sweeper.sweeps,
            censuses=sweeper.censuses,
            listing=sweeper.listing,
            events=self._events,
            staleness_p50=p50,
            staleness_p95=p95,
            staleness_max=worst,
            hints=None if hints is None else hints.statistics(),
            logs=None if self.logs is None else self.logs.statistics(),
        )

    # -- the loop --------------------------------------------------------------

    def poke(self) -> None:
        """Wake the loop: something changed."""
        self._nap.poke()

    async def _run(self) -> None:
        # Leaving the fleet drops the task group before this task first runs.
        while self._task_group is not None:
            now = self._clock.monotonic()
            self.timeouts.fire(now)
            self._refresh_mode()
            wait = self._dispatch(now)
            await self._nap.sleep(wait)

    async def _read_hints(self, hints: HintFeed) -> None:
        """Receive hints until the fleet closes; each batch wakes the loop."""
        while self._task_group is not None:
            await hints.receive()
            self.poke()
            if (delay := hints.next_receive()) > 0:
                await self._clock.sleep(delay)

    def _take_hinted(self, now: float) -> float | None:
        """Make the jobs hints made due urgent; return when the next one is due."""
        hints = self._hints
        if hints is None:
            return None
        for name in hints.coalescer.take_due(now, busy=self._busy):
            job = self.jobs.get(name)
            if job is not None and job.active:
                job.hinted = True
                job.hurry(now)
                self._queue(job)
            else:
                hints.coalescer.forget(name)
        due = hints.coalescer.next_due(busy=self._busy)
        return None if due is None else max(0.0, due - now)

    def _dispatch(self, now: float) -> float | None:
        """Send what is due, within budget; return how long to sleep (or None)."""
        waits: list[float] = []
        if (hinted := self._take_hinted(now)) is not None:
            waits.append(hinted)
        while self._in_flight < self._max_in_flight:
            sweep_wait = self._sweeper.wait(now, self.jobs, self.active)
            if sweep_wait == 0:
                self._start_page()
                continue
            name, job_wait = next_due(self._queue_of, now, self._budget, DESCRIBE)
            if name is not None:
                self._start_describe(self.jobs[name])
                continue
            waits.extend(w for w in (sweep_wait, job_wait) if w is not None)
            break
        else:
            # At capacity: wait for an answer, not the clock.
            return None
        if (deadline := self.timeouts.next_deadline()) is not None:
            waits.append(deadline - now)
        return max(0.0, min(waits)) if waits else None

    def _start_describe(self, job: Job) -> None:
        if self._hints is not None:
            if job.hinted:
                self._hints.sent_for_hint()
            self._hints.coalescer.described(job.name, at=self._clock.monotonic())
        job.sent()
        self._busy.add(job.name)
        self._in_flight += 1
        assert self._task_group is not None  # noqa: S101 - set while running
        self._task_group.start_soon(self._describe, job)

    async def _describe(self, job: Job) -> None:
        try:
            outcome = await self._source.describe_once(job.name)
        except Exception as error:  # noqa: BLE001 - one job's answer, never the fleet
            outcome = unreadable(error, job.name)
        finally:
            self._in_flight -= 1
            job.in_flight = False
            self._busy.discard(job.name)
            self._calls[DESCRIBE] += 1
            self.poke()
        if self.jobs.get(job.name) is not job or not job.active:
            return
        try:
            if isinstance(outcome, CallFailed):
                self._describe_failed(job, outcome)
            else:
                self._observe(job, outcome)
        except Exception as error:  # noqa: BLE001 - one job's answer, never the fleet
            self._contain(job, error)

    def _start_page(self) -> None:
        self._sweeper.in_flight = True
        self._in_flight += 1
        assert self._task_group is not None  # noqa: S101 - set while running
        self._task_group.start_soon(self._list_page)

    async def _list_page(self) -> None:
        try:
            due, vouched = await self._sweeper.read_page(self.jobs)
        finally:
            self._in_flight -= 1
            self.poke()
        for name in due:
            self._queue(self.jobs[name])
        for name in vouched:
            # Its re-check moves later: re-plan it, not keep the earlier time.
            self._queue(self.jobs[name], replace=True)

    # -- what an answer does -----------------------------------------------------

    def _contain(self, job: Job, error: Exception) -> None:
        """Handle what went wrong with one job's answer as that job's failure."""
        if not job.active:
            return
        failed = unreadable(error, job.name)
        if job.tracker.finished:
            self._lose(job, failed.error, job.last)
            return
        try:
            self._describe_failed(job, failed)
        except Exception as again:  # noqa: BLE001 - last resort: lose the job only
            if job.active:
                self._lose(job, unreadable(again, job.name).error, job.last)

    def _observe(self, job: Job, snapshot: Snapshot) -> None:
        """Feed a snapshot to the job's tracker; emit, end, lose or requeue."""
        self._budget.succeeded(DESCRIBE)
        now = self._clock.monotonic()
        step = job.tracker.snapshot(snapshot, now=now)
        if step.lost is not None:
            self._lose(job, _watch_error(step.lost, job.name), snapshot)
            return
        for anomaly in step.anomalies:
            logger.warning(HISTORY_ANOMALY, job_name=job.name, anomaly=anomaly)
        self._sweeper.service.mark(job.name, snapshot.last_modified_time, now)
        self._hint_observed(job, snapshot, step.events, now)
        job.observed_at = now
        job.retry_at = None
        finished = step.finished or step.delay is None
        for event in step.events:
            self._events += 1
            job.token = event.resume_token
            if self.logs is None:
                self._stream.emit(event)
        if self.logs is not None:
            self.logs.observed(
                job.name, step.events, finished=finished, snapshot=snapshot
            )
        job.entered(step.events)
        if step.finished or step.delay is None:
            self._end(job, snapshot)
            return
        job.schedule_due = now + step.delay
        if job.listed is not None and not covers(snapshot, job.listed):
            job.urgent = now
        else:
            job.listed = None
        self._chase(job, snapshot, now)
        self._queue(job)

    def _hint_observed(
        self, job: Job, snapshot: Snapshot, events: tuple[Event, ...], now: float
    ) -> None:
        """Tell the hints of a snapshot; re-plan if that changed how jobs are due."""
        hints = self._hints
        # A describe a list summary called for is no evidence of a lost event:
        # the sweep may simply have seen the change before its event arrived.
        if hints is not None and hints.observed(
            job.name,
            snapshot,
            events,
            for_hint=job.for_hint or job.chasing is not None,
            first=job.observed_at is None,
            now=now,
        ):
            self.poke()

    def _forget_hints(self, name: str) -> None:
        if self._hints is not None:
            self._hints.coalescer.forget(name)

    def _chase(self, job: Job, snapshot: Snapshot, now: float) -> None:
        """Describe again soon if *snapshot* lags the summary that called for it.

        The list and the describe are separate reads and may briefly disagree:
        a describe older than the summary is retried, a few times with growing
        short delays, until it shows what the summary showed.
        """
        chasing = job.chasing
        if chasing is None or covers(snapshot, chasing):
            job.chasing = None
            return
        delay = lag_delay(job.lag_retries)
        if delay is None:
            # Given up: the safety re-check will catch what the list showed.
            job.chasing = None
            return
        job.lag_retries += 1
        job.hurry(now + delay)

    def _describe_failed(self, job: Job, failed: CallFailed) -> None:
        """Feed a failed describe to the job's tracker; retry later or lose it."""
        now = self._clock.monotonic()
        if failed.kind is ErrorKind.THROTTLED:
            self._budget.throttled(DESCRIBE)
            self._throttles[DESCRIBE] += 1
        elif failed.kind is ErrorKind.TRANSIENT:
            self._errors[DESCRIBE] += 1
        step = job.tracker.failed(failed.kind, failed.error, now=now)
        retry = step.retry
        if step.lost is not None or retry is None:
            lost = failed.error if step.lost is None else step.lost
            self._lose(job, _watch_error(lost, job.name), job.last)
            return
        # As watch() logs its retries (job_name, attempt, delay, error); a throttle
        # at debug: a throttling storm over many jobs is the budget's to ride out.
        log = logger.debug if retry.kind is ErrorKind.THROTTLED else logger.info
        log(
            JOB_NOT_FOUND_YET
            if retry.kind is ErrorKind.NOT_FOUND
            else FLEET_POLL_FAILED,
            job_name=job.name,
            attempt=retry.attempt,
            delay=round(retry.delay, 3),
            error=error_code(retry.error),
        )
        job.retry_at = job.urgent = now + retry.delay
        self._queue(job)

    def _end(self, job: Job, snapshot: Snapshot) -> None:
        job.active = False
        self._queue_of.discard(job.name)
        self._forget_hints(job.name)
        job.outcome = snapshot
        job.release()
        self.active -= 1
        self._finished += 1
        self.check_idle()

    def _lose(
        self, job: Job, error: SageMakerWatchError, snapshot: Snapshot | None
    ) -> None:
        job.active = False
        self._queue_of.discard(job.name)
        self._forget_hints(job.name)
        job.outcome = error
        job.release()
        self.active -= 1
        self._lost += 1
        if self.logs is not None:
            self.logs.lost(job.name)
        logger.warning(
            FLEET_JOB_LOST,
            job_name=job.name,
            error=type(error).__name__,
            message=str(error),
        )
        self._events += 1
        self._stream.emit(
            JobLost(
                job_name=job.name,
                at=self._clock.now(),
                resume_token=job.token,
                snapshot=snapshot,
                error=error,
            )
        )
        self.check_idle()

    def check_idle(self) -> None:
        """Mark the stream idle if no job is left to watch (or to drain the logs of)."""
        if self.active == 0 and (self.logs is None or not self.logs.draining):
            self._stream.emit(IDLE)

    def watching_or_draining(self) -> int:
        """Jobs watched, and jobs that ended whose logs are being drained."""
        return self.active + (0 if self.logs is None else self.logs.draining)

    # -- due times (asked of the planner) -----------------------------------------

    def _queue(self, job: Job, *, replace: bool = False) -> None:
        """(Re)place *job* in the queue at its due time, unless it is there as early.

        With *replace*, at its due time even if that is later (nothing else
        made it due sooner: the due time is computed from all of the job).
        """
        if job.in_flight or not job.active:
            return
        listing, flowing = self._mode
        routine = routine_due(
            job,
            rechecking=listing or flowing,
            swept_at=self._sweeper.swept_at,
            recheck=self._recheck(),
        )
        self._queue_of.schedule(
            job.name,
            due_at(job, routine),
            routine=is_routine(job, routine),
            first_look=job.observed_at is None,
            replace=replace,
        )

    def _recheck(self) -> float:
        """The seconds between each job's safety re-checks now (while rechecking)."""
        listing, flowing = self._mode
        # Each source of changes has its safety re-check; with both, a change is
        # missed only if both miss it: the longer one is enough.
        interval = self._recheck_interval if listing else 0.0
        if flowing and self._hints is not None:
            interval = max(interval, self._hints.mode.recheck)
        return recheck_interval(
            active=self.active,
            interval=interval,
            describe_rate=self._describe_ceiling,
        )

    def _refresh_mode(self) -> None:
        listing = self._sweeper.wants_listing(self.active)
        self._sweeper.listing = listing
        flowing = self._hints is not None and self._hints.mode.flowing
        mode = (listing, flowing)
        if mode != self._mode:
            self._mode = mode
            self._queue_of.clear()
            for job in self.jobs.values():
                self._queue(job)
        self._sweeper.census_interval = census_interval(self._recheck())
        self._sweeper.statuses_only = flowing


def _watch_error(error: Exception, job_name: str) -> SageMakerWatchError:
    """Return *error* if it is one of ours, else it as an unreadable answer."""
    if isinstance(error, SageMakerWatchError):
        return error
    return unreadable(error, job_name).error
