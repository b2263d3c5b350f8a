"""FleetWatcher: thousands of jobs, one client, one rate budget, one scheduler.

How it works:

* **One per-job core.** Each job has a ``JobTracker`` (``_core/tracker.py``,
  the same one ``watch()`` and the waiters drive), fed every answer about it:
  it decides the job's events, its retries, the not-found grace, the throttle
  stretch and its own poll schedule, and whether the job finished or is lost.
* **One scheduler** task asks the planner (``_core/planner.py``, pure, tested
  without sockets) which job is due, when to sweep, what a list page means and
  when to fall back; this module keeps the I/O, the task group, the client, the
  clock, the waiters and the event stream (the sweeps' I/O is in
  ``_fleet_sweeps.py``, the per-job record in ``_fleet_jobs.py``). Jobs are
  queued by the time each is next due, and the most overdue one is always
  polled first. A job's due time comes from its tracker's schedule (as in
  ``watch()``), from a change ``ListTrainingJobs`` reported (due since the
  change's ``LastModifiedTime``), or from its tracker's retry after an error.
  Describe calls run concurrently, at most *max_in_flight* at once; every sleep
  on the clock happens in the scheduler, and a hand-driven clock wakes sleepers at
  absolute deadlines, so runs on it are deterministic with any *max_in_flight*.
* **One rate budget** (``RateBudget``): a token bucket per operation, halved on a
  throttling answer and climbing back while answers are clean (AIMD). Throttled
  calls are retried later through the same budget; they never reach the caller.
* **Change detection at scale.** While at least *list_min_jobs* jobs are watched,
  a sweep pages through ``ListTrainingJobs(LastModifiedTimeAfter=...)`` every
  *sweep_interval* seconds (the window overlaps the previous sweep by *overlap*
  seconds, for clock skew and for a list index that lags), and only jobs it
  reports as changed are described. A summary counts as a change when its
  ``LastModifiedTime`` is later than the last snapshot's, or, for timestamps too
  coarse to tell, when its statuses differ. Summaries of jobs not watched are
  ignored. Then each job's own schedule is replaced by a slow **safety re-check**
  (every *recheck_interval* seconds, stretched so re-checks take at most half the
  describe budget) that catches a change the list missed. Each job's re-checks
  fall on its own slots, spread evenly over the interval, so jobs added together
  are not re-checked in a wave; and changed jobs (a listed change, a retry, a
  first describe) are described before routine re-checks, which use what is left
  of the budget and are passed over by at most a minute. So the cost grows with
  the number of changes, not with jobs times polls. If a sweep fails (throttled,
  5xx, an unreadable page, pages that never end) the fleet falls back to per-job
  schedules until a sweep succeeds; if listing is forbidden (no
  ``sagemaker:ListTrainingJobs`` permission) it stays on per-job schedules.
* **The list and the describe may disagree for a while.** A describe older than
  the summary that called for it is retried after 1, 2, 4, then every 5 seconds,
  about 50 seconds at most, until it shows what the summary showed.
* **The service's clock, not ours.** Each window starts from the service's own
  timestamps (the latest ``LastModifiedTime`` seen, as a lower bound on its
  clock, from two different jobs), so a local clock minutes or years off moves
  no window. A sweep reads at most 50 pages plus two per 100 jobs watched, and
  stops at a ``NextToken`` it has seen.
* **Per-job errors never stop the fleet.** A job that is not found (after the
  retry policy's grace period for a job never seen), that was replaced by
  another job of the same name, that got a fatal error (access denied), or
  whose answers cannot be handled (counted as transient errors) is *lost*: it
  is no longer polled, a ``JobLost`` event carrying the error is put in the event
  stream, ``sagemaker_watch.fleet_job_lost`` is logged, and its waiters raise
  that error. Throttling is ridden out for as long as it lasts (back-pressure,
  not failure: it uses up none of the ``RetryPolicy``); other transient errors
  follow the ``RetryPolicy`` (then the job is lost with ``RetriesExhausted``).
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import math
import random
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Self

import anyio
import anyio.lowlevel

from .._core.diff import ResumeCursor
from .._core.events import Event, JobLost
from .._core.names import validate_job_name
from .._core.planner import (
    DueQueue,
    covers,
    due_at,
    is_routine,
    lag_delay,
    next_due,
    recheck_interval,
    recheck_phase,
    routine_due,
)
from .._core.schedule import PollSchedule
from .._core.status import SecondaryStatus, wanted_statuses
from .._core.tracker import JobTracker, RetryPolicy
from .._errors import (
    JobRemoved,
    SageMakerWatchError,
    StatusNotReached,
    UsageError,
    WaitTimeout,
)
from .._io.clock import Clock, SystemClock
from .._io.logging import (
    FLEET_JOB_LOST,
    FLEET_POLL_FAILED,
    HISTORY_ANOMALY,
    JOB_NOT_FOUND_YET,
    logger,
)
from .._io.ratelimit import Rate, RateBudget
from .._io.source import (
    AioBotocoreSource,
    CallFailed,
    ClientOptions,
    ErrorKind,
    default_client,
    error_code,
)
from ._fleet_jobs import (
    IDLE,
    Events,
    Idle,
    Job,
    StatusWaiter,
    Timeouts,
    unreadable,
)
from ._fleet_stats import FleetStatistics, staleness, tally
from ._fleet_sweeps import LIST, Sweeper

__all__ = ["FleetStatistics", "FleetWatcher", "JobLost", "JobRemoved"]

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection
    from types import TracebackType

    from anyio.abc import TaskGroup
    from anyio.streams.memory import (
        MemoryObjectReceiveStream,
        MemoryObjectSendStream,
    )
    from types_aiobotocore_sagemaker import SageMakerClient

    from .._core.snapshot import Snapshot
else:
    SageMakerClient = Any

DESCRIBE: Final = "DescribeTrainingJob"


class FleetWatcher:
    """Watch many training jobs at once, inside the account's API quotas.

    ::

        async with sw.FleetWatcher() as fleet:
            for name in names:
                fleet.add(name)
            async for event in fleet:          # every job's events, merged
                print(event.to_json())

    The stream carries, for each job, exactly the events ``watch()`` would yield
    for it (``ProgressChanged`` only when the job is polled, which is rarer
    here), in order, plus a ``JobLost`` for a job the fleet had to give up. It
    ends once no job is left to watch; ``events(until_idle=False)`` runs until the
    fleet closes. Consume it from one task. Events not consumed accumulate, so
    pass ``stream=False`` if only the waiters and ``statistics()`` are used.

    Entering starts the scheduler (and creates a client unless one is given:
    waits for local set-up only); leaving cancels every request in flight and
    closes a client the fleet created (shielded from cancellation). A fleet can
    be entered once. The waiters and ``events()`` wait and can be cancelled.

    A hand-driven clock (``ManualClock``) jumps only when every task waits on it,
    so runs on it are deterministic with any *max_in_flight*.

    Args:
        client: a caller-owned aiobotocore SageMaker client, never closed here.
            Without one, the fleet creates one from the standard credential chain.
        schedule: each job's poll schedule when not listing; ``PollSchedule()``.
        retry: each job's retry policy (throttles are ridden out as long as they last).
        clock: the source of time (the fake SageMaker's clock in tests).
        seed: seeds the jitter.
        describe_rate: the ``DescribeTrainingJob`` budget, requests per second.
        list_rate: the ``ListTrainingJobs`` budget, requests per second (keep it
            under the account's limit, which other tools share).
        max_in_flight: the most requests in flight at once.
        sweep_interval: seconds between list sweeps; ``None`` never lists.
        list_min_jobs: list only while at least this many jobs are watched (one
            sweep a few seconds costs less than polling them one by one).
        overlap: seconds each sweep's window reaches back before the previous
            sweep began.
        recheck_interval: the most seconds between safety re-checks of each
            job while listing (each job's come between half and all of it
            apart, by a phase of its own; stretched when re-checks would take
            more than half the describe budget on average).
        stream: whether to keep an event stream at all.
        region: the AWS region, when no *client* is given.
        profile: the AWS profile, when no *client* is given.
        endpoint_url: the SageMaker endpoint, when no *client* is given.
    """

    def __init__(
        self,
        *,
        client: SageMakerClient | None = None,
        schedule: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        describe_rate: float = 10.0,
        list_rate: float = 1.0,
        max_in_flight: int = 4,
        sweep_interval: float | None = 5.0,
        list_min_jobs: int = 10,
        overlap: float = 60.0,
        recheck_interval: float = 900.0,
        stream: bool = True,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        """Configure the fleet; nothing is sent before ``async with``.

        Raises:
            ValueError: for a rate, interval or limit that is not positive.
        """
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        for name, value in (
            ("overlap", overlap),
            ("recheck_interval", recheck_interval),
            ("sweep_interval", 1.0 if sweep_interval is None else sweep_interval),
        ):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        self._client = client
        self._client_options = ClientOptions(
            region=region, profile=profile, endpoint_url=endpoint_url
        )
        self._schedule = schedule if schedule is not None else PollSchedule()
        self._retry = retry if retry is not None else RetryPolicy()
        self._clock = clock if clock is not None else SystemClock()
        self._rng = random.Random(seed)  # noqa: S311 - jitter, not security
        self._budget = RateBudget(
            {
                DESCRIBE: Rate(
                    per_second=describe_rate, burst=max(1.0, describe_rate / 2)
                ),
                LIST: Rate(per_second=list_rate, burst=1.0),
            },
            clock=self._clock,
        )
        self._describe_ceiling = describe_rate
        self._max_in_flight = max_in_flight
        self._recheck_interval = recheck_interval
        self._stream = stream
        self._source = AioBotocoreSource(
            client,
            retry=self._retry,
            clock=self._clock,
            client_options=self._client_options,
        )
        self._jobs: dict[str, Job] = {}
        self._active = 0
        self._queue_of = DueQueue()
        self._added = itertools.count()
        self._timeouts = Timeouts()
        self._in_flight = 0
        self._poked = False
        self._sleep_scope: anyio.CancelScope | None = None
        self._state = "new"
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._task_group: TaskGroup | None = None
        self._send: MemoryObjectSendStream[Event | Idle] | None = None
        self._receive: MemoryObjectReceiveStream[Event | Idle] | None = None
        self._calls: collections.Counter[str] = collections.Counter()
        self._throttles: collections.Counter[str] = collections.Counter()
        self._errors: collections.Counter[str] = collections.Counter()
        self._events = 0
        self._lost = 0
        self._finished = 0
        self._sweeper = Sweeper(
            source=self._source,
            budget=self._budget,
            clock=self._clock,
            rng=self._rng,
            retry=self._retry,
            interval=sweep_interval,
            min_jobs=list_min_jobs,
            overlap=overlap,
            counters=(self._calls, self._throttles, self._errors),
        )

    def __repr__(self) -> str:
        """Return a short description."""
        return (
            f"FleetWatcher(watching={self._active}, jobs={len(self._jobs)}, "
            f"state={self._state!r})"
        )

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start the scheduler; create a client unless one was given (waits).

        Raises:
            UsageError: if this fleet was entered before.
        """
        if self._state != "new":
            msg = "this FleetWatcher was already entered; create a new one"
            raise UsageError(msg)
        self._state = "running"
        stack = contextlib.AsyncExitStack()
        try:
            if self._client is None:
                self._source.client = await stack.enter_async_context(
                    default_client(self._client_options)
                )
            if self._stream:
                self._send, self._receive = anyio.create_memory_object_stream[
                    Event | Idle
                ](math.inf)
                stack.push_async_callback(self._close_streams)
            task_group = anyio.create_task_group()
            await task_group.__aenter__()
        except BaseException:
            self._state = "closed"
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            raise
        self._exit_stack = stack
        self._task_group = task_group
        self._sweeper.start()
        self._task_group.start_soon(self._run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Cancel the scheduler and every request; close an owned client (shielded)."""
        self._state = "closed"
        for job in self._jobs.values():
            job.release()
        self._timeouts.fire_all()
        task_group, self._task_group = self._task_group, None
        stack, self._exit_stack = self._exit_stack, None
        try:
            if task_group is not None:
                task_group.cancel_scope.cancel()
                await task_group.__aexit__(None, None, None)
        finally:
            if stack is not None:
                with anyio.CancelScope(shield=True):
                    await stack.aclose()
        if self._client is None:
            self._source.client = None

    async def _close_streams(self) -> None:
        if self._send is not None:
            self._send.close()
        if self._receive is not None:
            self._receive.close()

    # -- jobs ----------------------------------------------------------------

    def add(self, job_name: str, *, resume: str | None = None) -> None:
        """Start watching *job_name*; adding a job already watched does nothing.

        A job that finished or was lost is watched again from the start (or from
        *resume*). Jobs may be added before or while the fleet runs.

        Args:
            job_name: the training job's name.
            resume: an event's ``resume_token``: emit only what came after it.

        Raises:
            InvalidJobName: at once, if SageMaker would reject the name.
            InvalidResumeToken: at once, if *resume* cannot be read or is for
                another job.
            UsageError: if the fleet was closed.
        """
        self._add(job_name, resume=resume)

    def _add(self, job_name: str, *, resume: str | None) -> Job:
        name = validate_job_name(job_name)
        if self._state == "closed":
            msg = "this FleetWatcher is closed"
            raise UsageError(msg)
        cursor = (
            None if resume is None else ResumeCursor.from_token(resume, job_name=name)
        )
        job = self._jobs.get(name)
        if job is not None and job.active:
            return job
        tracker = JobTracker(
            name,
            schedule=self._schedule,
            retry=self._retry,
            rng=self._rng,
            resume=cursor,
        )
        job = Job(tracker, added_at=self._clock.monotonic(), token=resume)
        job.phase = recheck_phase(next(self._added))
        self._jobs[name] = job
        self._active += 1
        self._queue(job)
        self._poke()
        return job

    def remove(self, job_name: str) -> None:
        """Stop watching *job_name* and forget it; its waiters raise ``JobRemoved``.

        Removing a job the fleet does not know does nothing. A request in
        flight for it completes, but its answer is dropped.
        """
        job = self._jobs.pop(job_name, None)
        if job is None:
            return
        self._queue_of.discard(job_name)
        if job.active:
            job.active = False
            self._active -= 1
            self._check_idle()
        job.outcome = JobRemoved(job_name)
        job.release()
        self._poke()

    def __contains__(self, job_name: object) -> bool:
        """Return whether *job_name* is watched now (not ended, lost or removed)."""
        job = self._jobs.get(job_name) if isinstance(job_name, str) else None
        return job is not None and job.active

    def snapshot(self, job_name: str) -> Snapshot | None:
        """Return the last snapshot of *job_name*, or ``None`` if not seen yet.

        Raises:
            KeyError: if the fleet does not know the job.
        """
        return self._jobs[job_name].last

    # -- waiters ---------------------------------------------------------------

    async def wait_until_terminal(
        self,
        job_name: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    ) -> Snapshot:
        """Wait until the job is Completed, Failed or Stopped; never raise on that.

        A job the fleet does not watch is added first; one that already ended
        returns at once.

        Args:
            job_name: the training job's name.
            timeout: seconds on the fleet's clock to wait at most, or ``None``.

        Returns:
            The final snapshot.

        Raises:
            WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
            TrainingJobNotFound: there is no such job (after the grace period).
            JobReplaced: the name now belongs to another job.
            ServiceError: a fatal AWS error, or transient ones that outlasted
                the retry policy.
            JobRemoved: the job was removed from the fleet meanwhile.
            InvalidJobName: at once, for a name SageMaker would reject.
            UsageError: the fleet is not running.
        """
        job = self._waited(job_name, timeout)
        if job.outcome is None:
            await self._wait_for(job.done, timeout)
        return self._final(job, timeout)

    async def wait_until_complete(
        self,
        job_name: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    ) -> Snapshot:
        """Wait until the job is Completed; raise if it ends any other way.

        Takes the same arguments as ``wait_until_terminal``.

        Returns:
            The final snapshot of the Completed job.

        Raises:
            TrainingJobFailed: the job failed; ``.failure_reason`` says why.
            TrainingJobStopped: the job was stopped; ``.reason`` says how.
            WaitTimeout: as for ``wait_until_terminal``, and its other errors.
        """
        snapshot = await self.wait_until_terminal(job_name, timeout=timeout)
        return snapshot.raise_for_outcome()

    async def wait_for_status(
        self,
        job_name: str,
        status: SecondaryStatus | str | Collection[SecondaryStatus | str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    ) -> Snapshot:
        """Wait until the job has entered *status* (a secondary status, or several).

        As ``sagemaker_watch.wait_for_status``: a status already in the job's
        history counts. A job the fleet does not watch is added first.

        Args:
            job_name: the training job's name.
            status: the secondary status to wait for, or a collection of them.
            timeout: seconds on the fleet's clock to wait at most, or ``None``.

        Returns:
            The snapshot in which the status was first seen.

        Raises:
            TrainingJobFailed: the job failed before entering *status*.
            TrainingJobStopped: the job was stopped before entering *status*.
            StatusNotReached: the job completed without ever entering *status*.
            WaitTimeout: as for ``wait_until_terminal``, and its other errors.
            ValueError: at once, if *status* is an empty collection.
        """
        wanted = wanted_statuses(status)
        job = self._waited(job_name, timeout)
        seen = job.last
        if seen is not None and any(t.status in wanted for t in seen.transitions):
            return seen
        waiter = StatusWaiter(wanted)
        if job.outcome is None:
            job.status_waiters.append(waiter)
            try:
                await self._wait_for(waiter.wake, timeout)
            finally:
                job.status_waiters.remove(waiter)
        if waiter.found is not None:
            return waiter.found
        # Failed or Stopped raise here; Completed without the status comes back.
        snapshot = self._final(job, timeout).raise_for_outcome()
        raise StatusNotReached(snapshot, wanted=sorted(wanted))

    def _waited(self, job_name: str, timeout: float | None) -> Job:
        """Check a waiter's arguments; return the job, added if not known."""
        if self._state != "running":
            msg = "wait inside `async with FleetWatcher(...)`"
            raise UsageError(msg)
        if timeout is not None and not timeout >= 0:
            msg = f"timeout must be a number of seconds >= 0, not {timeout!r}"
            raise ValueError(msg)
        job = self._jobs.get(job_name)
        if job is None:
            job = self._add(job_name, resume=None)
        return job

    def _final(self, job: Job, timeout: float | None) -> Snapshot:
        """Return the job's final snapshot, or raise why there is none."""
        outcome = job.outcome
        if outcome is None:
            if self._state != "running":
                msg = "the FleetWatcher was closed"
                raise UsageError(msg)
            raise WaitTimeout(job.name, timeout=timeout or 0.0, snapshot=job.last)
        if isinstance(outcome, SageMakerWatchError):
            raise outcome
        return outcome

    async def _wait_for(self, done: anyio.Event, limit: float | None) -> None:
        if limit is None:
            await done.wait()
            return
        timeout = self._timeouts.add(self._clock.monotonic() + limit)
        self._poke()
        async with anyio.create_task_group() as tg:

            async def on_done() -> None:
                await done.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(on_done)
            await timeout.wait()
            tg.cancel_scope.cancel()

    # -- events --------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        """Iterate ``events()``: every job's events until none is left to watch."""
        return self.events()

    def events(self, *, until_idle: bool = True) -> AsyncIterator[Event]:
        """Return the merged event stream.

        Args:
            until_idle: end once no job is left to watch (else run until the
                fleet closes).

        Raises:
            UsageError: the fleet is not running, or was made with
                ``stream=False``.
        """
        if self._receive is None or self._state != "running":
            msg = "iterate inside `async with FleetWatcher(...)` (and stream=True)"
            raise UsageError(msg)
        return Events(
            self._receive, until_idle=until_idle, watching=lambda: self._active
        )

    def _emit(self, item: Event | Idle) -> None:
        if self._send is not None:
            with contextlib.suppress(anyio.ClosedResourceError):
                self._send.send_nowait(item)

    def _check_idle(self) -> None:
        if self._active == 0:
            self._emit(IDLE)

    # -- statistics ----------------------------------------------------------

    def statistics(self) -> FleetStatistics:
        """Return the fleet's counters and the staleness of what it knows."""
        sweeper = self._sweeper
        swept = sweeper.swept_at if sweeper.listing else None
        by_status, stale = tally(
            self._jobs.values(), now=self._clock.monotonic(), swept_at=swept
        )
        p50, p95, worst = staleness(stale)
        return FleetStatistics(
            watching=self._active,
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
            listing=sweeper.listing,
            events=self._events,
            staleness_p50=p50,
            staleness_p95=p95,
            staleness_max=worst,
        )

    # -- the scheduler -------------------------------------------------------

    def _poke(self) -> None:
        """Wake the scheduler: something changed."""
        self._poked = True
        if self._sleep_scope is not None:
            self._sleep_scope.cancel()

    async def _run(self) -> None:
        # Leaving the fleet drops the task group before this task first runs.
        while self._task_group is not None:
            now = self._clock.monotonic()
            self._timeouts.fire(now)
            self._refresh_mode()
            wait = self._dispatch(now)
            await self._wait(wait)

    async def _wait(self, delay: float | None) -> None:
        if self._poked:
            self._poked = False
            await anyio.lowlevel.checkpoint()
            return
        with anyio.CancelScope() as scope:
            self._sleep_scope = scope
            try:
                if delay is None:
                    await anyio.sleep_forever()
                else:
                    await self._clock.sleep(delay)
            finally:
                self._sleep_scope = None
        self._poked = False

    def _dispatch(self, now: float) -> float | None:
        """Send what is due, within budget; return how long to sleep (or None)."""
        waits: list[float] = []
        while self._in_flight < self._max_in_flight:
            sweep_wait = self._sweeper.wait(now, self._jobs, self._active)
            if sweep_wait == 0:
                self._start_page()
                continue
            name, job_wait = next_due(self._queue_of, now, self._budget, DESCRIBE)
            if name is not None:
                self._start_describe(self._jobs[name])
                continue
            waits.extend(w for w in (sweep_wait, job_wait) if w is not None)
            break
        else:
            # At capacity: wait for an answer, not the clock.
            return None
        if (deadline := self._timeouts.next_deadline()) is not None:
            waits.append(deadline - now)
        return max(0.0, min(waits)) if waits else None

    def _start_describe(self, job: Job) -> None:
        job.sent()
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
            self._calls[DESCRIBE] += 1
            self._poke()
        if self._jobs.get(job.name) is not job or not job.active:
            return
        try:
            if isinstance(outcome, CallFailed):
                self._describe_failed(job, outcome)
            else:
                self._observe(job, outcome)
        except Exception as error:  # noqa: BLE001 - one job's answer, never the fleet
            self._contain(job, error)

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
        job.observed_at = now
        job.retry_at = None
        for event in step.events:
            self._events += 1
            job.token = event.resume_token
            self._emit(event)
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
        if retry.kind is ErrorKind.TRANSIENT:
            logger.info(
                FLEET_POLL_FAILED,
                job_name=job.name,
                attempt=retry.attempt,
                error=getattr(failed.error, "code", type(failed.error).__name__),
            )
        elif retry.kind is ErrorKind.NOT_FOUND:
            # As watch() logs it: within the grace for a job not visible yet.
            logger.info(
                JOB_NOT_FOUND_YET,
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
        job.outcome = snapshot
        job.release()
        self._active -= 1
        self._finished += 1
        self._check_idle()

    def _lose(
        self, job: Job, error: SageMakerWatchError, snapshot: Snapshot | None
    ) -> None:
        job.active = False
        self._queue_of.discard(job.name)
        job.outcome = error
        job.release()
        self._active -= 1
        self._lost += 1
        logger.warning(
            FLEET_JOB_LOST,
            job_name=job.name,
            error=type(error).__name__,
            message=str(error),
        )
        self._events += 1
        self._emit(
            JobLost(
                job_name=job.name,
                at=self._clock.now(),
                resume_token=job.token,
                snapshot=snapshot,
                error=error,
            )
        )
        self._check_idle()

    # -- due times (asked of the planner) ---------------------------------------

    def _queue(self, job: Job) -> None:
        """(Re)place *job* in the queue at its due time, unless it is there as early."""
        if job.in_flight or not job.active:
            return
        routine = routine_due(
            job,
            listing=self._sweeper.listing,
            swept_at=self._sweeper.swept_at,
            recheck=recheck_interval(
                active=self._active,
                interval=self._recheck_interval,
                describe_rate=self._describe_ceiling,
            ),
        )
        self._queue_of.schedule(
            job.name, due_at(job, routine), routine=is_routine(job, routine)
        )

    def _refresh_mode(self) -> None:
        listing = self._sweeper.wants_listing(self._active)
        if listing == self._sweeper.listing:
            return
        self._sweeper.listing = listing
        self._queue_of.clear()
        for job in self._jobs.values():
            self._queue(job)

    def _start_page(self) -> None:
        self._sweeper.in_flight = True
        self._in_flight += 1
        assert self._task_group is not None  # noqa: S101 - set while running
        self._task_group.start_soon(self._list_page)

    async def _list_page(self) -> None:
        try:
            due = await self._sweeper.read_page(self._jobs, self._active)
        finally:
            self._in_flight -= 1
            self._poke()
        for name in due:
            self._queue(self._jobs[name])


def _watch_error(error: Exception, job_name: str) -> SageMakerWatchError:
    """Return *error* if it is one of ours, else it as an unreadable answer."""
    if isinstance(error, SageMakerWatchError):
        return error
    return unreadable(error, job_name).error
