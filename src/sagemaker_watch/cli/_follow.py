"""Follow jobs on one fleet to their ends: what ``watch``, ``wait`` and ``demo`` run.

``follow`` drives one ``FleetWatcher`` (one client, one rate budget, list sweeps
from ten jobs on, push hints with ``--sqs-queue-url``), hands each event to a
renderer and turns each job's end (an outcome, a lost job, the timeout) into a
``JobResult``. ``follow_logs`` does the same for one job and its training logs
(``logs``, ``watch --logs``) on one ``sw.Logs``: its lines and events, the
terminal event after the job's last lines.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import anyio
import structlog

import sagemaker_watch as sw

from . import _problems, _process
from ._problems import ExitCode
from ._text import JobResult, Outcome, outcome_of, status

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    from types_aiobotocore_sagemaker import SageMakerClient

    from ._render import Renderer
else:
    SageMakerClient = Any

#: How often the live view redraws, in seconds.
_TICK = 0.25
#: The log event saying, once the watch ended, what the push hints did.
HINTS_SUMMARY = "sagemaker_watch.hints_summary"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How each job is watched.

    Attributes:
        schedule: when to poll.
        retry: the fleet's one retry policy. Its ``unseen_max_elapsed`` and
            ``not_found_grace`` are short (``--grace``), so that an unreachable
            endpoint or a missing job is reported in seconds; its
            ``max_elapsed`` (``--retry-for``) is how long a job seen once rides
            out transient errors.
        timeout: real seconds to watch at most, or ``None``.
        clock: the library's clock (the fake's in the demo), or ``None``.
        region: the client's region, for messages.
        endpoint_url: the client's endpoint, for messages.
        hints: push hints (``--sqs-queue-url``), or ``None``.
    """

    schedule: sw.PollSchedule
    retry: sw.RetryPolicy
    timeout: float | None = None
    clock: sw.Clock | None = None
    region: str | None = None
    endpoint_url: str | None = None
    hints: sw.SqsHints | None = None

    def now(self) -> dt.datetime:
        """Return the current time on the watch's clock."""
        return self.clock.now() if self.clock is not None else dt.datetime.now(dt.UTC)


@contextlib.asynccontextmanager
async def aws_client(
    *, region: str | None, profile: str | None, endpoint_url: str | None
) -> AsyncIterator[SageMakerClient]:
    """Open ``sw.sagemaker_client``, turning set-up errors into ``CliError``."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            client = await stack.enter_async_context(
                sw.sagemaker_client(
                    region=region, profile=profile, endpoint_url=endpoint_url
                )
            )
        except sw.ServiceError as error:
            raise _problems.setup(error) from None
        yield client


def _ended(snapshot: sw.Snapshot) -> JobResult:
    return JobResult(
        job_name=snapshot.job_name, outcome=outcome_of(snapshot), snapshot=snapshot
    )


def _timed_out(
    job_name: str, snapshot: sw.Snapshot | None, settings: Settings
) -> JobResult:
    seen = f"last seen {status(snapshot)}" if snapshot is not None else "never seen"
    return JobResult(
        job_name=job_name,
        outcome=Outcome.TIMEOUT,
        snapshot=snapshot,
        problem=f"{job_name}: timed out after {settings.timeout or 0:g}s; {seen}",
    )


class _Jobs:
    """What ``follow`` knows of each job: its last event and its result."""

    def __init__(
        self, job_names: Sequence[str], settings: Settings, renderer: Renderer
    ) -> None:
        self.names = job_names
        self.settings = settings
        self.renderer = renderer
        self.results: dict[str, JobResult] = {}
        self.last: dict[str, sw.Event] = {}

    @property
    def done(self) -> bool:
        return len(self.results) == len(self.names)

    def finish(self, result: JobResult) -> None:
        self.results[result.job_name] = result
        self.renderer.result(result)

    def event(self, event: sw.Event) -> None:
        self.last[event.job_name] = event
        self.renderer.event(event)
        if isinstance(event, sw.JobEnded):
            self.finish(_ended(event.snapshot))

    def lost(self, lost: sw.JobLost) -> None:
        self.failed(lost.job_name, lost.error)

    def failed(self, job_name: str, error: sw.SageMakerWatchError) -> None:
        retry = self.settings.retry
        unseen = job_name not in self.last
        retried_for = (
            retry.unseen_max_elapsed
            if unseen and retry.unseen_max_elapsed is not None
            else retry.max_elapsed
        )
        self.finish(
            _problems.problem(
                job_name,
                error,
                region=self.settings.region,
                endpoint_url=self.settings.endpoint_url,
                retried_for=retried_for,
            )
        )

    def timed_out(self) -> None:
        for name in self.names:
            if name not in self.results:
                seen = self.last.get(name)
                snapshot = seen.snapshot if seen is not None else None
                self.finish(_timed_out(name, snapshot, self.settings))


async def follow(
    job_names: Sequence[str],
    client: SageMakerClient,
    settings: Settings,
    renderer: Renderer,
    *,
    logs: sw.CloudWatchLogs | None = None,
) -> tuple[list[JobResult], ExitCode | None]:
    """Watch every job on one fleet until all end, the timeout, or a signal.

    One ``FleetWatcher`` on *client*: one rate budget for every job, and
    ``ListTrainingJobs`` sweeps instead of per-job polls once ten or more jobs
    are watched. With *logs*, the fleet reads every job's training logs on
    the settings' one budget: their lines go to the renderer between the
    events, each job's last ones before its terminal event.

    A job whose logs the fleet stopped reading (``AccessDenied`` on
    ``logs:GetLogEvents``, ...) is watched on without them; one line on
    stderr says so once the watch ended (its result is its outcome's).

    Returns:
        One result per job, in order, and the exit code of the signal that
        interrupted the watch, if one did.
    """
    interrupted: ExitCode | None = None
    refused: dict[str, sw.SageMakerWatchError] = {}

    async def until_signal(scope: anyio.CancelScope) -> None:
        nonlocal interrupted
        interrupted = await _next_signal()
        scope.cancel()

    async def consume(
        fleet: sw.FleetWatcher[sw.Event | sw.LogLine], jobs: _Jobs
    ) -> None:
        for name in job_names:
            fleet.add(name)
        async for item in fleet.events(until_idle=False):
            if isinstance(item, sw.LogLine):
                renderer.line(item)
            elif isinstance(item, sw.JobLost):
                jobs.lost(item)
            else:
                jobs.event(item)
            if jobs.done:
                return

    with renderer:
        async with (
            _fleet(client, settings, logs) as fleet,
            anyio.create_task_group() as outer,
        ):
            jobs = _Jobs(job_names, settings, renderer)
            outer.start_soon(
                _tick, lambda: _show_hints(fleet, renderer), renderer, settings
            )
            outer.start_soon(until_signal, outer.cancel_scope)
            with anyio.move_on_after(settings.timeout):
                await consume(fleet, jobs)
            outer.cancel_scope.cancel()
            _log_hints(_show_hints(fleet, renderer))
            refused = _refused_logs(fleet, job_names)
        if interrupted is None:
            jobs.timed_out()
    for line in _problems.logs_refused(refused):
        _process.complain(line)
    results = jobs.results
    return [results[name] for name in job_names if name in results], interrupted


def _refused_logs(
    fleet: sw.FleetWatcher[sw.Event | sw.LogLine], job_names: Sequence[str]
) -> dict[str, sw.SageMakerWatchError]:
    """The jobs whose logs the fleet stopped reading, and why."""
    errors = {name: fleet.logs_error(name) for name in job_names}
    return {name: error for name, error in errors.items() if error is not None}


@contextlib.asynccontextmanager
async def _fleet(
    client: SageMakerClient, settings: Settings, logs: sw.CloudWatchLogs | None
) -> AsyncIterator[sw.FleetWatcher[sw.Event | sw.LogLine]]:
    """Enter the fleet; a client that cannot be set up is a ``CliError``.

    The fleet opens no SageMaker client (it is given one): a set-up error on
    entry can only be the hints' SQS client's, or the logs' CloudWatch Logs
    client's (said as the hints' when both are asked for, as ``follow_logs``
    does).
    """
    async with contextlib.AsyncExitStack() as stack:
        options: dict[str, Any] = {
            "client": client,
            "schedule": settings.schedule,
            "retry": settings.retry,
            "clock": settings.clock,
            "hints": settings.hints,
        }
        # Without logs the stream holds events only: a narrower stream.
        made = (
            sw.FleetWatcher(**options, logs=logs)
            if logs is not None
            else cast(
                "sw.FleetWatcher[sw.Event | sw.LogLine]", sw.FleetWatcher(**options)
            )
        )
        try:
            fleet = await stack.enter_async_context(made)
        except sw.ServiceError as error:
            if logs is not None and settings.hints is None:
                raise _problems.logs_setup(error) from None
            raise _problems.hints_setup(error) from None
        yield fleet


async def _tick(
    show_hints: Callable[[], object], renderer: Renderer, settings: Settings
) -> None:
    """Redraw what shows elapsed time (and the hints' state) until cancelled."""
    while True:
        if settings.hints is not None:
            show_hints()
        renderer.tick()
        await anyio.sleep(_TICK)


def _show_hints(
    fleet: sw.FleetWatcher[sw.Event | sw.LogLine], renderer: Renderer
) -> sw.HintStatistics | None:
    """Tell *renderer* what the fleet's hints are doing; return their statistics."""
    statistics = fleet.statistics().hints
    if statistics is not None:
        renderer.hints(statistics)
    return statistics


def _log_hints(statistics: sw.HintStatistics | None) -> None:
    """Log what the hints did (shown with -v); nothing of any message body."""
    if statistics is None:
        return
    structlog.get_logger("sagemaker_watch").info(
        HINTS_SUMMARY,
        state=statistics.state,
        fallbacks=statistics.fallbacks,
        hints=statistics.hints,
        hinted_describes=statistics.hinted_describes,
        missed=statistics.missed,
        receives=statistics.receives,
        throttles=statistics.throttles,
        errors=statistics.errors,
    )


async def _next_signal() -> ExitCode:
    """Wait for SIGINT or SIGTERM; return the exit code it calls for."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if signum == signal.SIGINT:
                return ExitCode.INTERRUPTED
            return ExitCode.TERMINATED
    return ExitCode.INTERRUPTED  # pragma: no cover - the receiver never ends


async def follow_logs(
    job_name: str,
    client: SageMakerClient,
    settings: Settings,
    renderer: Renderer,
    *,
    logs: sw.CloudWatchLogs,
    follow: bool,
) -> tuple[list[JobResult], ExitCode | None]:
    """Show one job's training log lines (and its events) until it ends, or a signal.

    One ``sw.Logs`` (``events=True``) on *client*, with the watch's schedule,
    retry policy and hints: lines and events in the order they happened, the
    terminal event after the job's last lines. Without *follow*, the lines
    there are when the job is first described: all of them for a job that
    has ended; for one still running, the lines so far, and a note on stderr
    saying so (and no result: it has none yet).

    Returns:
        The job's result (none for a running job without *follow*), and the
        exit code of the signal that interrupted the watch, if one did.

    Raises:
        CliError: a client could not be set up.
    """
    interrupted: ExitCode | None = None
    jobs = _Jobs([job_name], settings, renderer)

    async def until_signal(scope: anyio.CancelScope) -> None:
        nonlocal interrupted
        interrupted = await _next_signal()
        scope.cancel()

    async def consume(items: sw.Logs[sw.Event | sw.LogLine]) -> None:
        try:
            async for item in items:
                if isinstance(item, sw.LogLine):
                    renderer.line(item)
                else:
                    jobs.event(item)
        except sw.SageMakerWatchError as error:
            jobs.failed(job_name, error)

    with renderer:
        async with (
            _logs(job_name, client, settings, logs, follow=follow) as (watch, items),
            anyio.create_task_group() as outer,
        ):
            outer.start_soon(
                _tick, lambda: _show_watch_hints(watch, renderer), renderer, settings
            )
            outer.start_soon(until_signal, outer.cancel_scope)
            with anyio.move_on_after(settings.timeout) as deadline:
                await consume(items)
            outer.cancel_scope.cancel()
            _log_hints(_show_watch_hints(watch, renderer))
        seen = jobs.last.get(job_name)
        so_far = not follow and not jobs.done and not deadline.cancelled_caught
        if interrupted is None and not so_far:
            jobs.timed_out()
    if interrupted is None and so_far and seen is not None:
        _process.complain(_so_far(job_name, seen.snapshot))
    results = jobs.results
    return [results[name] for name in [job_name] if name in results], interrupted


def _so_far(job_name: str, snapshot: sw.Snapshot) -> str:
    """The note that a running job's lines (without ``--follow``) are not all."""
    return (
        f"{job_name} is still running ({status(snapshot)}): these are its lines "
        "so far; pass --follow to follow them until it ends"
    )


@contextlib.asynccontextmanager
async def _logs(
    job_name: str,
    client: SageMakerClient,
    settings: Settings,
    logs: sw.CloudWatchLogs,
    *,
    follow: bool,
) -> AsyncIterator[tuple[sw.Watch, sw.Logs[sw.Event | sw.LogLine]]]:
    """Enter one job's ``sw.Logs`` with events (and its watch).

    A ``Watch`` made with the CLI's schedule, retry policy and hints reads the
    logs (``sw.logs()`` has no *schedule* nor *hints*). The SageMaker client
    is the caller's: an error on entry is the CloudWatch Logs client's, or the
    hints' SQS client's, and becomes a ``CliError``.
    """
    watch = sw.Watch(
        job_name,
        client=client,
        schedule=settings.schedule,
        retry=settings.retry,
        clock=settings.clock,
        hints=settings.hints,
    )
    watch.read_logs(logs, resume=None, follow=follow)
    async with contextlib.AsyncExitStack() as stack:
        try:
            items = await stack.enter_async_context(
                sw.Logs[sw.Event | sw.LogLine](watch, events=True)
            )
        except sw.ServiceError as error:
            if settings.hints is not None:
                raise _problems.hints_setup(error) from None
            raise _problems.logs_setup(error) from None
        yield watch, items


def _show_watch_hints(watch: sw.Watch, renderer: Renderer) -> sw.HintStatistics | None:
    """Tell *renderer* what the watch's hints are doing; return their statistics."""
    statistics = watch.hint_statistics()
    if statistics is not None:
        renderer.hints(statistics)
    return statistics
