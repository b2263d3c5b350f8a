"""The single-job driver: describe once, feed the tracker, emit, sleep its delay."""

from __future__ import annotations

import collections
import contextlib
import math
import random
from typing import TYPE_CHECKING, Any, Self

import anyio

from .._core.diff import ResumeCursor
from .._core.events import Event
from .._core.log_reader import LogReader
from .._core.names import parse_job
from .._core.tracker import ErrorKind, JobTracker, RetryPolicy
from .._errors import UsageError, WaitTimeout
from .._io.client import ClientOptions, default_client
from .._io.clock import Clock, SystemClock
from .._io.failures import error_code
from .._io.logging import (
    HISTORY_ANOMALY,
    JOB_NOT_FOUND_YET,
    POLL_RETRY_SCHEDULED,
    logger,
)
from .._io.logs import LogsSource
from .._io.source import AioBotocoreSource, CallFailed
from .._io.sqs import MAX_WAIT_SECONDS
from ._hint_feed import HintFeed, open_feed
from ._log_follow import LogFollower, open_logs_client, tell_follower

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from types_aiobotocore_sagemaker import SageMakerClient

    from .._core.log_reader import LogLine
    from .._core.schedule import PollSchedule
    from .._core.snapshot import Snapshot
    from .hints import HintStatistics, SqsHints
    from .logs import CloudWatchLogs
else:
    SageMakerClient = Any


class Watch:
    """The events of one training job, exactly once and in order.

    Iterate it with ``async for``; it ends after the terminal event (``JobCompleted``,
    ``JobFailed`` or ``JobStopped``), or with ``WaitTimeout`` when its *timeout*
    runs out first. Every step that waits (the describe call, the sleep between
    polls) can be cancelled by any cancel scope, and a cancelled or abandoned watch
    leaves nothing behind. The waiters are this, stopped at the first event they
    need.

    Who owns the client: a client passed as *client* is the caller's and is never
    closed, and the watch may be iterated directly. Without one, the watch opens
    its own client and must be entered: ``async with watch(...) as events:`` opens
    one client for the block and closes it on exit, so breaking out of the loop
    early leaves nothing open. Iterating such a watch outside ``async with``
    raises ``UsageError`` (a ``RuntimeError``) before any request.

    The driver is thin: each poll is one describe attempt, fed to a
    ``JobTracker``, which decides the events, retries and the next delay.
    """

    def __init__(
        self,
        job_name: str,
        *,
        client: SageMakerClient | None = None,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        schedule: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        resume: str | None = None,
        hints: SqsHints | None = None,
    ) -> None:
        """Prepare a watch; nothing is sent until the first event is awaited.

        Takes the arguments of ``watch()``.

        Raises:
            InvalidJobName: before any request, if SageMaker would reject the
                name or ARN, or the ARN's region is not the client's.
            InvalidResumeToken: if *resume* cannot be read or is for another job.
            ValueError: if *timeout* is negative or NaN.
        """
        self._job = parse_job(job_name)
        self.job_name = self._job.name
        if timeout is not None and not timeout >= 0:
            msg = f"timeout must be a number of seconds >= 0, not {timeout!r}"
            raise ValueError(msg)
        self._client = client
        self._clock = clock if clock is not None else SystemClock()
        rng = random.Random(seed)  # noqa: S311 - jitter, not security
        self._client_options = ClientOptions(
            region=region, profile=profile, endpoint_url=endpoint_url
        )
        self._timeout = timeout
        self._deadline: float | None = None
        self._timed_out = False
        retry = retry if retry is not None else RetryPolicy()
        self._tracker = JobTracker(
            self.job_name,
            schedule=schedule,
            retry=retry,
            rng=rng,
            resume=None
            if resume is None
            else ResumeCursor.from_token(resume, job_name=self.job_name),
        )
        self._pending: collections.deque[Event | LogLine] = collections.deque()
        self._next_delay: float | None = None
        self._finished = False
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._source = AioBotocoreSource(
            client, retry=retry, clock=self._clock, client_options=self._client_options
        )
        if client is not None:
            self._job.check_region(client.meta.region_name)
        self._hints = hints
        self._feed: HintFeed | None = None
        if hints is not None and hints.client is not None:
            self._feed = HintFeed(
                hints, client=hints.client, clock=self._clock, watched=self._watched
            )
        self._retrying = False
        self._for_hint = False
        self._wait_started: float | None = None
        self._logs: CloudWatchLogs | None = None
        self._logs_resume: str | None = None
        self._follower: LogFollower | None = None
        self._follow_logs = True
        self._closed = False
        self._held: list[Event] = []

    def read_logs(
        self, settings: CloudWatchLogs, *, resume: str | None, follow: bool = True
    ) -> None:
        """Also read the job's training logs (``logs()``'s; before the first use).

        The watch then hands out log lines too (``next_item``), and holds its
        terminal event back until the job's streams are drained. Without
        *follow*, it reads the lines there are after its first describe and
        ends (with the job's events so far; a terminal one only if it ended).

        Raises:
            InvalidResumeToken: *resume* cannot be read or is another job's.
        """
        if resume is not None:
            LogReader(self.job_name, resume=resume)  # a bad token fails now
        self._logs, self._logs_resume = settings, resume
        self._follow_logs = follow
        if settings.client is not None:
            self._follower = self._follow(settings.client)

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Watch({self.job_name!r}, finished={self._finished})"

    def hint_statistics(self) -> HintStatistics | None:
        """What push hints did so far, ``None`` without them (or before entering)."""
        return None if self._feed is None else self._feed.statistics()

    @property
    def last_snapshot(self) -> Snapshot | None:
        """The most recent snapshot observed, or ``None`` before the first poll."""
        return self._tracker.last_snapshot

    async def __aenter__(self) -> Self:
        """Open a client for the block unless the caller gave one (waits).

        Raises:
            InvalidJobName: the job's ARN is in another region than the client
                opened (closed again; no request was sent).
        """
        if self._exit_stack is not None:
            msg = "this watch was already entered; create a new one"
            raise UsageError(msg)
        self._start()
        self._exit_stack = stack = contextlib.AsyncExitStack()
        try:
            if self._client is None:
                self._source.client = client = await stack.enter_async_context(
                    default_client(self._client_options)
                )
                self._job.check_region(client.meta.region_name)
            if self._hints is not None and self._feed is None:
                self._feed = await open_feed(
                    self._hints,
                    stack,
                    options=self._client_options,
                    clock=self._clock,
                    watched=self._watched,
                )
            if self._logs is not None and self._follower is None:
                self._follower = self._follow(
                    await stack.enter_async_context(
                        open_logs_client(
                            self._logs,
                            self._client_options,
                            sagemaker=self._source.client,
                        )
                    )
                )
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client this block opened (shielded from cancellation)."""
        self._finished = self._closed = True
        stack = self._exit_stack
        if self._client is None:
            self._source.client = None
        if stack is not None:
            with anyio.CancelScope(shield=True):
                await stack.aclose()

    def __aiter__(self) -> Self:
        """Return this watch: it is its own iterator."""
        return self

    async def __anext__(self) -> Event:
        """Return the next event, polling and sleeping as the tracker says.

        Raises:
            UsageError: the watch has no client of its own and was not entered
                with ``async with`` (raised before any request).
            WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        """
        item = await self.next_item()
        assert isinstance(item, Event)  # noqa: S101 - lines only with logs=
        return item

    async def next_item(self) -> Event | LogLine:
        """The next event, or log line when the watch reads logs (``logs()``'s).

        Raises as ``__anext__`` does.
        """
        if self._source.client is None and not self._finished:
            msg = (
                f"watch({self.job_name!r}) opens its own client, so use it as "
                "'async with sw.watch(...) as events: async for event in events:' "
                "(the client closes when the block exits), or pass client="
            )
            raise UsageError(msg)
        if self._hints is not None and self._feed is None and not self._finished:
            msg = (
                f"watch({self.job_name!r}) opens an SQS client for its hints, so "
                "use it as 'async with sw.watch(...) as events:', or pass "
                "SqsHints(..., client=)"
            )
            raise UsageError(msg)
        if self._logs is not None and self._follower is None and not self._finished:
            msg = (
                f"logs({self.job_name!r}) opens a CloudWatch Logs client, so use "
                "it as 'async with sw.logs(...) as lines:', or pass "
                "CloudWatchLogs(client=...)"
            )
            raise UsageError(msg)
        self._start()
        if self._deadline is None or self._finished:
            return await self._next()
        with anyio.move_on_after(self._deadline - self._clock.monotonic()) as scope:
            if not math.isfinite(_deadline_remaining(self._clock)):
                # This clock does not run on anyio's time (a simulated one): the
                # tracker's deadline bounds the watch, not a real-time scope.
                scope.deadline = math.inf
            return await self._next()
        self._finished = self._timed_out = True
        return await self._next()

    def _follow(self, client: Any) -> LogFollower:  # noqa: ANN401 - a logs client
        """A follower of this job's logs through *client*, on a budget of its own."""
        settings = self._logs
        assert settings is not None  # noqa: S101 - only called with logs
        budget = settings.budget(self._clock)
        return LogFollower(
            self.job_name,
            source=LogsSource(client, budget=budget),
            clock=self._clock,
            settings=settings,
            resume=self._logs_resume,
        )

    @property
    def pending(self) -> tuple[Event | LogLine, ...]:
        """What this watch has queued and not handed out yet."""
        return tuple(self._pending)

    @property
    def log_follower(self) -> LogFollower | None:
        """The follower of this job's logs, if the watch reads them (entered)."""
        return self._follower

    def _start(self) -> None:
        """Start the *timeout* at the first use (entering, or the first event)."""
        if self._timeout is not None and self._deadline is None:
            self._deadline = self._clock.monotonic() + self._timeout

    async def _next(self) -> Event | LogLine:
        follower = self._follower
        while not self._pending:
            if self._timed_out:
                self._timed_out = False
                if self._held:
                    # The job ended; its last lines did not all come in time.
                    self._release_held(flush=True)
                    continue
                raise WaitTimeout(
                    self.job_name,
                    timeout=self._timeout or 0.0,
                    snapshot=self.last_snapshot,
                )
            if self._finished:
                if (
                    follower is not None
                    and not self._closed
                    and (self._held or not follower.finished)
                ):
                    # Drain the streams, then the terminal event, last.
                    await follower.work(math.inf)
                    self._release_held(flush=follower.finished)
                    continue
                raise StopAsyncIteration
            if self._next_delay is not None:
                if not await self._wait(self._next_delay):
                    self._release_held(flush=False)  # the lines ready now
                    continue
                self._next_delay = self._wait_started = None
            await self._poll()
        return self._pending.popleft()

    def _release_held(self, *, flush: bool) -> None:
        """Queue the follower's ready lines; with *flush*, all, then the held events."""
        follower = self._follower
        if follower is not None:
            self._pending.extend(follower.take(flush=flush))
        if flush:
            self._pending.extend(self._held)
            self._held = []

    def _watched(self, name: str) -> bool:
        return name == self.job_name

    async def _wait(self, delay: float) -> bool:
        """Wait *delay* seconds from the wait's start; ``False`` if cut short.

        Sleeps, or long-polls the hints that long (see ``HintFeed``): while
        hints flow, a routine delay relaxes to their ceiling (a retry's does
        not), and a hint about this job ends the wait (once its coalescing
        window allows). With logs, their calls run meanwhile, and the wait is
        cut short when lines are ready (``False``: call again to go on).
        """
        started = self._wait_started
        if started is None:
            started = self._wait_started = self._clock.monotonic()
        if self._feed is not None:
            return await self._wait_hinted(self._feed, started, delay)
        if (follower := self._follower) is None:
            await self._clock.sleep(delay)
            return True
        await follower.work(started + delay)
        return not follower.ready(self._clock.monotonic())

    async def _wait_hinted(  # noqa: C901 - one loop: hints, deadline, logs
        self, feed: HintFeed, started: float, delay: float
    ) -> bool:
        """``_wait`` with hints: long-poll the queue (and make log calls) meanwhile."""
        follower = self._follower
        # A relaxed wait still ends at the watch's deadline (the tracker's delay did).
        cap = self._remaining(started)
        backoff = False
        while True:
            now = self._clock.monotonic()
            wait = delay if self._retrying else feed.mode.delay(delay)
            if cap is not None:
                wait = min(wait, max(cap, delay))
            remaining = started + wait - now
            due = feed.coalescer.next_due()
            if due is not None and due <= now and feed.coalescer.take_due(now):
                self._for_hint = True
                return True
            if remaining <= 0:
                return True
            if due is not None:
                remaining = min(remaining, due - now)
            if follower is not None:
                if follower.ready(now):
                    return False
                if (log_due := follower.next_due()) <= now:
                    await follower.work(now)
                    continue
                remaining = min(remaining, log_due - now)
            if backoff:
                await self._clock.sleep(min(feed.retry_delay, remaining))
                backoff = False
            elif remaining < 1.0:
                await self._clock.sleep(remaining)
            else:
                await feed.receive(wait_seconds=int(min(remaining, MAX_WAIT_SECONDS)))
                backoff = feed.retry_delay > 0

    async def _poll(self) -> None:
        """Describe once, feed the tracker, log what it decided, keep its events."""
        feed = self._feed
        for_hint, self._for_hint = self._for_hint, False
        if feed is not None:
            if for_hint:
                feed.sent_for_hint()
            feed.coalescer.described(self.job_name, at=self._clock.monotonic())
        observed = self._tracker.last_snapshot is not None
        outcome = await self._source.describe_once(self.job_name)
        now = self._clock.monotonic()
        if isinstance(outcome, CallFailed):
            step = self._tracker.failed(outcome.kind, outcome.error, now=now)
        else:
            step = self._tracker.snapshot(
                outcome, now=now, remaining=self._remaining(now)
            )
            if feed is not None:
                feed.observed(
                    self.job_name,
                    outcome,
                    step.events,
                    for_hint=for_hint,
                    first=not observed,
                    now=now,
                )
        self._retrying = step.retry is not None
        for anomaly in step.anomalies:
            logger.warning(HISTORY_ANOMALY, job_name=self.job_name, anomaly=anomaly)
        self._pending.extend(
            self._tell_logs(step.events, finished=step.finished, now=now)
        )
        if (retry := step.retry) is not None:
            logger.info(
                JOB_NOT_FOUND_YET
                if retry.kind is ErrorKind.NOT_FOUND
                else POLL_RETRY_SCHEDULED,
                job_name=self.job_name,
                attempt=retry.attempt,
                delay=round(retry.delay, 3),
                error=error_code(retry.error),
            )
        self._next_delay = step.delay
        if step.lost is not None:
            self._finished = True
            raise step.lost
        self._finished = self._finished or step.finished
        if self._finished and self._deadline is not None:
            last = self._tracker.last_snapshot
            ended = last is not None and last.is_terminal
            self._timed_out = not ended and self._clock.monotonic() >= self._deadline

    def _tell_logs(
        self, events: Sequence[Event], *, finished: bool, now: float
    ) -> Sequence[Event | LogLine]:
        """Tell the log follower what the describe showed; what to emit now.

        A status change may mean a restart with new streams: they are looked
        for at once. At the end the streams are drained, and the terminal event
        is held back until they are (``_next``), so it stays the last item.
        """
        follower = self._follower
        if follower is None or not events:
            return events
        if not self._follow_logs and not finished:
            # What is there now: read each stream to its end once, and stop.
            tell_follower(follower, events, finished=False, now=now)
            cut = math.floor(self._clock.now().timestamp() * 1000)
            follower.reader.job_ended(now=now, ended_ago=math.inf, cut=cut)
            self._finished = True
            return [*follower.take(), *events]
        now_events, self._held = tell_follower(
            follower,
            events,
            finished=finished,
            now=now,
            snapshot=events[-1].snapshot,
        )
        return [*follower.take(), *now_events]

    def _remaining(self, now: float) -> float | None:
        remaining = math.inf
        if self._deadline is not None:
            remaining = self._deadline - now
        remaining = min(remaining, _deadline_remaining(self._clock))
        return max(0.0, remaining) if math.isfinite(remaining) else None


def _deadline_remaining(clock: Clock) -> float:
    """Ask *clock* for the caller's cancel-scope deadline, in its own seconds.

    A clock written before ``Clock.deadline_remaining`` existed counts as one
    that does not run on anyio's time (``math.inf``), as such clocks did before.
    """
    probe = getattr(clock, "deadline_remaining", None)
    return math.inf if probe is None else float(probe())


def watch(
    job_name: str,
    *,
    client: SageMakerClient | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Watch:
    """Watch one training job: an async iterator of typed events.

    ::

        async with watch("my-job") as events:
            async for event in events:
                print(event.to_json())

    Without *client*, the watch opens its own client and must be used with
    ``async with`` (one client for the block, closed on exit, even on ``break``);
    iterating it plainly raises ``UsageError`` before any request. With a
    caller's *client*, plain ``async for`` works too.

    ``watch()``, ``Watch`` and the three waiters take the same keywords.

    Args:
        job_name: the training job's name, or its ARN
            (``arn:aws:sagemaker:REGION:ACCOUNT:training-job/NAME``, any
            partition), which is reduced to the name: requests and events use
            the name. DescribeTrainingJob looks in the client's account and
            region only: an ARN from another region is refused before any
            request; one from another account is "not found".
        client: a caller-owned aiobotocore SageMaker client, never closed here.
            Without one, a client is made from the standard credential chain,
            with *region*, *profile* and *endpoint_url* if given.
        region: the AWS region, when no *client* is given.
        profile: the AWS profile, when no *client* is given.
        endpoint_url: the SageMaker endpoint, when no *client* is given.
        schedule: when to poll; the default is ``PollSchedule()``.
        retry: how each poll retries transient errors; ``RetryPolicy()`` by default.
        clock: the source of time (the fake SageMaker's clock in tests).
        seed: seeds the jitter, for reproducible schedules.
        timeout: seconds to watch at most, from the first use; then the
            iteration raises ``WaitTimeout`` carrying the last snapshot.
            ``None`` watches as long as the job runs. A surrounding cancel scope
            works too, without the snapshot.
        resume: an event's ``resume_token``: emit only what came after that event.
        hints: push hints (``SqsHints``): between two describes the watch
            long-polls their SQS queue, and an EventBridge event about the job
            makes it describe at once; while hints flow, the schedule relaxes
            to a safety re-check every ``SqsHints.ceiling`` seconds. The events
            stay what the describes show. The queue is this watch's alone
            (messages about other jobs are deleted). Without
            ``SqsHints(client=...)``, use ``async with`` (it opens an SQS client).

    Returns:
        A ``Watch``: enter it with ``async with`` and iterate it.

    Raises:
        InvalidJobName: at once, if SageMaker would reject the name or the ARN,
            or if the ARN's region is not the client's (checked when the
            client opens, before any request, if the watch opens its own).
        InvalidResumeToken: at once, if *resume* cannot be read or was written
            for another job.
        ValueError: at once, if *timeout* is negative or NaN.
    """
    return Watch(
        job_name,
        client=client,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        schedule=schedule,
        retry=retry,
        clock=clock,
        seed=seed,
        timeout=timeout,
        resume=resume,
        hints=hints,
    )
