"""FleetWatcher: thousands of jobs, one client, one rate budget, one scheduler.

How it works:

* **One per-job core.** Each job has a ``JobTracker`` (``_core/tracker.py``,
  the same one ``watch()`` and the waiters drive), fed every answer about it:
  it decides the job's events, its retries, the not-found grace, the throttle
  stretch and its own poll schedule, and whether the job finished or is lost.
* **One scheduler** task asks the pure core (``_core/planner.py``: which job is
  due; ``_core/sweeps.py``: when to sweep, what a list page means and when to
  fall back; both tested without sockets); it keeps the jobs, their due times
  and the describes
  (``_fleet_scheduler.py``; the sweeps' I/O is in ``_fleet_sweeps.py``, the
  per-job record in ``_fleet_jobs.py``, the waiters in ``_fleet_waiters.py``, the
  event stream in ``_fleet_stream.py``; this module keeps the lifecycle, the
  client and the public methods). Jobs are queued by the time each is next
  due, and the most overdue one is always polled first. A job's due time comes
  from its tracker's schedule (as in ``watch()``), from a change
  ``ListTrainingJobs`` reported (due since the change's ``LastModifiedTime``),
  or from its tracker's retry after an error.
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
  describe budget) that catches a change the list missed. Every quarter of
  that interval a sweep is a **census** (no window, once every watched job's
  creation time is known): it lists every watched job, and a summary that
  shows a job exactly as its last snapshot (the same ``LastModifiedTime`` and
  statuses) stands in for the job's re-check, for at most four intervals
  after its last describe; a job a census does not list is re-checked as
  before. While push hints flow, a summary that shows only a later time with
  the same statuses (a new status message) waits for the re-check: the
  hints announce every change of status. Each job's re-checks
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
* **Training logs, on one budget** (``logs=CloudWatchLogs(...)``): every job's
  CloudWatch Logs lines come out of the stream too, each once and in order per
  job, as ``logs()`` gives them; a job's terminal event after its last lines.
  Every job's calls take tokens from the settings' one ``RateBudget``, in a task
  of their own (``_fleet_logs.py``), so they never hold up a describe.
"""

from __future__ import annotations

import contextlib
import math
import random
from typing import TYPE_CHECKING, Any, Generic, Self, overload

import anyio
import anyio.lowlevel

from .._core.diff import ResumeCursor
from .._core.events import Event, JobLost
from .._core.log_reader import LogLine, LogReader
from .._core.names import JobRef, lookup_name, parse_job
from .._core.schedule import PollSchedule
from .._core.status import SecondaryStatus, wanted_statuses
from .._core.tracker import RetryPolicy
from .._errors import JobRemoved, SageMakerWatchError, UsageError
from .._io.client import ClientOptions, default_client
from .._io.clock import Clock, SystemClock
from .._io.source import AioBotocoreSource
from ._fleet_logs import FleetLogs
from ._fleet_scheduler import Scheduler
from ._fleet_stats import FleetLogStatistics, FleetStatistics
from ._fleet_stream import Stream
from ._fleet_waiters import Waiters
from ._hint_feed import open_feed
from ._log_follow import open_logs_client

__all__ = [
    "FleetLogStatistics",
    "FleetStatistics",
    "FleetWatcher",
    "JobLost",
    "JobRemoved",
]

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection
    from types import TracebackType

    from anyio.abc import TaskGroup
    from types_aiobotocore_sagemaker import SageMakerClient

    # What the stream hands out: ``Event`` without logs (the default, so a
    # bare ``FleetWatcher`` annotation means one without logs).
    from typing_extensions import TypeVar

    from .._core.snapshot import Snapshot
    from ._fleet_jobs import Job
    from .hints import SqsHints
    from .logs import CloudWatchLogs

    ItemT = TypeVar("ItemT", Event, Event | LogLine, default=Event)
else:
    from typing import TypeVar

    SageMakerClient = Any
    ItemT = TypeVar("ItemT", Event, Event | LogLine)


class FleetWatcher(Generic[ItemT]):
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

    With ``logs=CloudWatchLogs(...)`` every job's training log lines come out
    of the stream too (``LogLine`` between the ``Event`` items; the type says
    so: ``FleetWatcher[Event | LogLine]``), each job's as ``logs(job,
    events=True)`` gives them: every line of every host and restart once, in
    time order, and the job's terminal event after its last lines (the stream
    ends once those are out). ::

        async with sw.FleetWatcher(logs=sw.CloudWatchLogs()) as fleet:
            fleet.add("job-a")
            fleet.add("job-b")
            async for item in fleet:
                if isinstance(item, sw.LogLine):
                    print(item.job_name, item.host, item.message)

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
            more than half the describe budget on average). A census (a sweep
            without a window) every quarter of it stands in for the re-checks
            of the jobs it shows unchanged, up to four intervals of silence.
        stream: whether to keep an event stream at all.
        region: the AWS region, when no *client* is given.
        profile: the AWS profile, when no *client* is given.
        endpoint_url: the SageMaker endpoint, when no *client* is given.
        hints: push hints (``SqsHints``): each EventBridge event about a
            watched job makes it due at once (coalesced), and while hints
            flow each job's schedule gives way to a safety re-check every
            ``SqsHints.ceiling`` seconds (stretched as the list re-checks
            are); list sweeps go on as configured. Entering opens the hints'
            SQS client unless they carry one. ``statistics().hints`` says
            what they did.
        logs: follow every job's training logs (``CloudWatchLogs``); entering
            opens its client unless it carries one. Every job's calls share
            the settings' one budget (*read_rate* + *list_rate* requests per
            second in all, whatever the number of jobs; other ``logs()`` with
            the same settings share it too), run in a task of their own (at
            most *max_in_flight* jobs' at once, one at a time per job) and
            never delay a describe. Throttles are ridden out. A job whose logs
            are refused for good (``AccessDenied`` on ``logs:GetLogEvents``)
            stops being followed: a ``sagemaker_watch.logs_call_failed``
            warning names the job and the error type (never a line), the lines
            read are handed out, ``logs_error(job)`` returns the error, and its
            events go on; so does every other job. A lost job's follower
            stops after handing out what it read; a removed job's stops at
            once. ``statistics().logs`` says what the reading did. Needs
            *stream*.
    """

    @overload
    def __init__(
        self: FleetWatcher[Event],
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
        hints: SqsHints | None = None,
        logs: None = None,
    ) -> None: ...

    @overload
    def __init__(
        self: FleetWatcher[Event | LogLine],
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
        hints: SqsHints | None = None,
        logs: CloudWatchLogs,
    ) -> None: ...

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
        hints: SqsHints | None = None,
        logs: CloudWatchLogs | None = None,
    ) -> None:
        """Configure the fleet; nothing is sent before ``async with``.

        Raises:
            ValueError: for a rate, interval or limit that is not positive,
                or *logs* with ``stream=False``.
        """
        if logs is not None and not stream:
            msg = "logs= hands lines out through the stream: it needs stream=True"
            raise ValueError(msg)
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
        self._hints = hints
        self._client_options = ClientOptions(
            region=region, profile=profile, endpoint_url=endpoint_url
        )
        retry = retry if retry is not None else RetryPolicy()
        self._clock = clock if clock is not None else SystemClock()
        self._source = AioBotocoreSource(
            client,
            retry=retry,
            clock=self._clock,
            client_options=self._client_options,
        )
        # Never opened with stream=False: what the scheduler emits is dropped.
        self._stream = Stream()
        self._streaming = stream
        self._scheduler = Scheduler(
            source=self._source,
            stream=self._stream,
            schedule=schedule if schedule is not None else PollSchedule(),
            retry=retry,
            clock=self._clock,
            rng=random.Random(seed),  # noqa: S311 - jitter, not security
            describe_rate=describe_rate,
            list_rate=list_rate,
            max_in_flight=max_in_flight,
            sweep_interval=sweep_interval,
            list_min_jobs=list_min_jobs,
            overlap=overlap,
            recheck_interval=recheck_interval,
        )
        self._logs: FleetLogs | None = None
        if logs is not None:
            self._logs = self._scheduler.logs = FleetLogs(
                logs,
                clock=self._clock,
                max_in_flight=max_in_flight,
                emit=self._stream.emit,
                idle=self._scheduler.check_idle,
            )
        self._waiters = Waiters(
            clock=self._clock,
            timeouts=self._scheduler.timeouts,
            poke=self._scheduler.poke,
            running=lambda: self._state == "running",
        )
        self._state = "new"
        self._loop: object = None  # the event loop that entered the fleet
        # ARNs added before the fleet opened its client: their region is checked then.
        self._unchecked: list[JobRef] = []
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._task_group: TaskGroup | None = None

    def __repr__(self) -> str:
        """Return a short description."""
        return (
            f"FleetWatcher(watching={self._scheduler.active}, "
            f"jobs={len(self._scheduler.jobs)}, state={self._state!r})"
        )

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start the scheduler; create a client unless one was given (waits).

        Raises:
            UsageError: if this fleet was entered before.
            InvalidJobName: a job added by ARN is in another region than the
                client opened (closed again; no request was sent).
        """
        if self._state != "new":
            msg = "this FleetWatcher was already entered; create a new one"
            raise UsageError(msg)
        self._state = "running"
        self._loop = anyio.lowlevel.current_token()
        stack = contextlib.AsyncExitStack()
        try:
            if self._client is None:
                self._source.client = client = await stack.enter_async_context(
                    default_client(self._client_options)
                )
                for job in self._unchecked:
                    if job.name in self._scheduler.jobs:
                        job.check_region(client.meta.region_name)
                self._unchecked.clear()
            feed = None
            if self._hints is not None:
                feed = await open_feed(
                    self._hints,
                    stack,
                    options=self._client_options,
                    clock=self._clock,
                    watched=self._scheduler.watching,
                )
            logs = self._logs
            if logs is not None and logs.source.client is None:
                logs.source.client = await stack.enter_async_context(
                    open_logs_client(
                        logs.settings,
                        self._client_options,
                        sagemaker=self._source.client,
                    )
                )
            if self._streaming:
                self._stream.open()
                stack.callback(self._stream.close)
            task_group = anyio.create_task_group()
            await task_group.__aenter__()
        except BaseException:
            self._state = "closed"
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            raise
        self._exit_stack = stack
        self._task_group = task_group
        self._scheduler.start(task_group, hints=feed)
        if self._logs is not None:
            self._logs.start(task_group)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Cancel the scheduler and every request; close an owned client (shielded)."""
        self._state = "closed"
        self._scheduler.close()
        if self._logs is not None:
            self._logs.close()
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
        if self._logs is not None and self._logs.settings.client is None:
            self._logs.source.client = None

    # -- jobs ----------------------------------------------------------------

    def add(
        self,
        job_name: str,
        *,
        resume: str | None = None,
        logs_resume: str | None = None,
    ) -> None:
        """Start watching *job_name*; adding a job already watched does nothing.

        A job that finished or was lost is watched again from the start (or from
        *resume*). Jobs may be added before or while the fleet runs.

        Args:
            job_name: the training job's name, or its ARN: the fleet knows jobs
                by name, so an ARN and its name are the same job.
            resume: an event's ``resume_token``: emit only what came after it.
            logs_resume: with *logs*, a ``logs_resume_token(job_name)``: hand
                out only the lines after those read when it was taken.

        Raises:
            InvalidJobName: at once, if SageMaker would reject the name or ARN,
                or the ARN's region is not the client's (if the fleet opens its
                own client, that is checked when it opens).
            InvalidResumeToken: at once, if *resume* or *logs_resume* cannot
                be read or is for another job.
            UsageError: if the fleet was closed, or *logs_resume* is given to a
                fleet without *logs*.
        """
        self._add(job_name, resume=resume, logs_resume=logs_resume)

    def _add(
        self, job_name: str, *, resume: str | None, logs_resume: str | None = None
    ) -> Job:
        name = self._checked(job_name).name
        if self._state == "closed":
            msg = "this FleetWatcher is closed"
            raise UsageError(msg)
        if logs_resume is not None:
            if self._logs is None:
                msg = "logs_resume= is for a FleetWatcher made with logs="
                raise UsageError(msg)
            LogReader(name, resume=logs_resume)  # a bad token fails now
        cursor = (
            None if resume is None else ResumeCursor.from_token(resume, job_name=name)
        )
        return self._scheduler.add(
            name, cursor=cursor, token=resume, logs_resume=logs_resume
        )

    def logs_error(self, job_name: str) -> SageMakerWatchError | None:
        """The error that stopped following *job_name*'s logs, if one did.

        ``AccessDenied`` (no ``logs:GetLogEvents`` or ``logs:DescribeLogStreams``
        permission), ``CredentialsRejected``, or another error no retry mends;
        the job's events went on. ``None`` without *logs*, while its logs are
        followed, or once it is added again.
        """
        if self._logs is None:
            return None
        return self._logs.errors.get(self._lookup(job_name))

    def logs_resume_token(self, job_name: str) -> str | None:
        """A token for ``add(job_name, logs_resume=)``: the lines after those read.

        It counts the job's lines this fleet's stream handed out so far (not
        those still queued in it): a fleet made later with it hands out only
        the lines that followed. ``None`` without *logs*, or once the job's
        logs are no longer followed (drained, lost, removed).
        """
        if self._logs is None:
            return None
        return self._logs.resume_token(self._lookup(job_name))

    def _checked(self, job_name: str) -> JobRef:
        """Read a name or ARN; check an ARN's region once the client is known."""
        job = parse_job(job_name)
        client = self._source.client
        if client is not None:
            job.check_region(client.meta.region_name)
        elif job.region is not None:
            self._unchecked.append(job)
        return job

    def remove(self, job_name: str) -> None:
        """Stop watching *job_name* (or ARN), forget it; waiters raise ``JobRemoved``.

        Removing a job the fleet does not know does nothing. A request in
        flight for it completes, but its answer is dropped.
        """
        self._scheduler.remove(self._lookup(job_name))

    def __contains__(self, job_name: object) -> bool:
        """Return whether *job_name* (or ARN) is watched: not ended, lost or removed."""
        if not isinstance(job_name, str):
            return False
        job = self._scheduler.jobs.get(self._lookup(job_name))
        return job is not None and job.active

    def snapshot(self, job_name: str) -> Snapshot | None:
        """Return the last snapshot of *job_name* (or ARN), ``None`` if not seen yet.

        Raises:
            KeyError: if the fleet does not know the job.
        """
        return self._scheduler.jobs[self._lookup(job_name)].last

    def _lookup(self, job_name: str) -> str:
        """The name to look *job_name* up by (an ARN's, if in the client's region)."""
        client = self._source.client
        region = None if client is None else client.meta.region_name
        return lookup_name(job_name, region=region)

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
            job_name: the training job's name, or its ARN.
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
            InvalidJobName: at once, for a name or ARN SageMaker would reject,
                or an ARN from another region than the client's.
            UsageError: the fleet is not running.
        """
        job = self._waited(job_name, timeout)
        return await self._waiters.terminal(job, timeout)

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
            job_name: the training job's name, or its ARN.
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
        return await self._waiters.status(job, wanted, timeout)

    def _on_its_loop(self) -> None:
        """Raise unless called from the event loop (thread) that entered the fleet.

        A wait from another loop would never be woken: it would hang.
        """
        if anyio.lowlevel.current_token() != self._loop:
            msg = (
                "this FleetWatcher runs on another event loop: wait on it from "
                "the loop (thread) that entered it"
            )
            raise UsageError(msg)

    def _waited(self, job_name: str, timeout: float | None) -> Job:
        """Check a waiter's arguments; return the job, added if not known."""
        if self._state != "running":
            msg = "wait inside `async with FleetWatcher(...)`"
            raise UsageError(msg)
        self._on_its_loop()
        if timeout is not None and not timeout >= 0:
            msg = f"timeout must be a number of seconds >= 0, not {timeout!r}"
            raise ValueError(msg)
        job = self._scheduler.jobs.get(self._checked(job_name).name)
        if job is None:
            job = self._add(job_name, resume=None)
        return job

    # -- events --------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[ItemT]:
        """Iterate ``events()``: every job's events until none is left to watch."""
        return self.events()

    def events(self, *, until_idle: bool = True) -> AsyncIterator[ItemT]:
        """Return the merged event stream (and log lines, with *logs*).

        Args:
            until_idle: end once no job is left to watch (else run until the
                fleet closes).

        Raises:
            UsageError: the fleet is not running, or was made with
                ``stream=False``.
        """
        if not self._stream.opened or self._state != "running":
            msg = "iterate inside `async with FleetWatcher(...)` (and stream=True)"
            raise UsageError(msg)
        self._on_its_loop()
        logs = self._logs
        return self._stream.reader(  # type: ignore[return-value] # Event without logs
            until_idle=until_idle,
            watching=self._scheduler.watching_or_draining,
            read=None if logs is None else logs.read,
        )

    # -- statistics ----------------------------------------------------------

    def statistics(self) -> FleetStatistics:
        """Return the fleet's counters and the staleness of what it knows."""
        return self._scheduler.statistics()
