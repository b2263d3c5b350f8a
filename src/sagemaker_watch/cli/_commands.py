"""The ``sagemaker-watch`` command line: watch, wait, demo and simulate.

Built on the public API only (``sagemaker_watch`` and ``sagemaker_watch.testing``).
Exit codes are a contract, listed in ``ExitCode`` and in ``docs/cli.md``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import io
import logging
import math
import os
import signal
import sys
import traceback
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import click
import structlog
from rich.console import Console

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker

from . import _demo, _scenario
from ._render import (
    JobResult,
    JsonRenderer,
    LineRenderer,
    LiveRenderer,
    NullRenderer,
    Outcome,
    Renderer,
    describe,
    one_line,
    outcome_of,
    safe,
    status,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    from types_aiobotocore_sagemaker import SageMakerClient
else:
    SageMakerClient = Any


class ExitCode(enum.IntEnum):
    """The process's exit status; stable and documented in ``docs/cli.md``."""

    COMPLETED = 0
    FAILED = 1
    USAGE = 2
    STOPPED = 3
    NOT_FOUND = 4
    TIMEOUT = 5
    AWS_ERROR = 6
    #: An unexpected error (a bug, or a failure nothing foresaw): EX_SOFTWARE.
    SOFTWARE = 70
    INTERRUPTED = 130
    #: Stdout was closed early (``| head``): 128 + SIGPIPE, as a shell reports.
    PIPE_CLOSED = 141
    TERMINATED = 143


_EXIT_CODES = {
    Outcome.COMPLETED: ExitCode.COMPLETED,
    Outcome.STOPPED: ExitCode.STOPPED,
    Outcome.FAILED: ExitCode.FAILED,
    Outcome.TIMEOUT: ExitCode.TIMEOUT,
    Outcome.NOT_FOUND: ExitCode.NOT_FOUND,
    Outcome.ERROR: ExitCode.AWS_ERROR,
}
#: Outcomes from best to worst: with several jobs, the worst one sets the exit code.
_SEVERITY = tuple(Outcome)

_CONNECTION_CODES = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ProxyConnectionError",
        "SSLError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "TimeoutError",
    }
)
_CREDENTIAL_CODES = frozenset(
    {
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "NoAuthTokenError",
        "SSOTokenLoadError",
        "TokenRetrievalError",
        "UnauthorizedSSOTokenError",
    }
)
_REJECTED_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})

#: How often the live view redraws, in seconds.
_TICK = 0.25


class CliError(Exception):
    """A problem that ends the command: one line for stderr and an exit code."""

    def __init__(self, message: str, code: ExitCode) -> None:
        """Build the error; *message* says what went wrong and what to do."""
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How each job is watched.

    Attributes:
        schedule: when to poll.
        retry: how long a job that has been seen rides out transient errors
            (its ``max_elapsed``): the job is taken up again from its last
            event until its errors have lasted that long.
        first_retry: the fleet's retry policy: short, so that an unreachable
            endpoint or a missing job is reported in seconds.
        timeout: real seconds to watch at most, or ``None``.
        clock: the library's clock (the fake's in the demo), or ``None``.
        region: the client's region, for messages.
        endpoint_url: the client's endpoint, for messages.
    """

    schedule: sw.PollSchedule
    retry: sw.RetryPolicy
    first_retry: sw.RetryPolicy
    timeout: float | None = None
    clock: sw.Clock | None = None
    region: str | None = None
    endpoint_url: str | None = None

    def now(self) -> dt.datetime:
        """Return the current time on the watch's clock."""
        return self.clock.now() if self.clock is not None else dt.datetime.now(dt.UTC)


def exit_code(results: Sequence[JobResult], *, allow_stopped: bool = False) -> ExitCode:
    """Return the exit code of the worst outcome among *results*."""
    outcomes = [
        Outcome.COMPLETED
        if allow_stopped and result.outcome is Outcome.STOPPED
        else result.outcome
        for result in results
    ]
    worst = max(outcomes, key=_SEVERITY.index, default=Outcome.COMPLETED)
    return _EXIT_CODES[worst]


def _problem(
    job_name: str,
    error: sw.SageMakerWatchError,
    settings: Settings,
    *,
    budget: float | None = None,
) -> JobResult:
    """Turn a library error into a result with one line of diagnosis and advice."""
    if isinstance(error, sw.TrainingJobNotFound):
        where = f" in {settings.region}" if settings.region else ""
        return JobResult(
            job_name=job_name,
            outcome=Outcome.NOT_FOUND,
            snapshot=None,
            problem=f"{job_name}: no such training job{where}; "
            "check the name, --region and --profile",
        )
    if isinstance(error, sw.JobReplaced):
        return JobResult(
            job_name=job_name,
            outcome=Outcome.NOT_FOUND,
            snapshot=None,
            problem=f"{job_name}: the job was deleted and created again under the "
            "same name while it was watched; run the command again to watch the "
            "new one",
        )
    snapshot = getattr(error, "snapshot", None)
    message = f"{job_name}: {error}"
    if isinstance(error, sw.ServiceError):
        message = _service_problem(job_name, error, settings, budget=budget)
    return JobResult(
        job_name=job_name, outcome=Outcome.ERROR, snapshot=snapshot, problem=message
    )


def _not_sagemaker(error: sw.ServiceError, settings: Settings) -> str | None:
    """Say so if *error* shows an endpoint that does not speak SageMaker's JSON."""
    where = (
        f"the endpoint at {settings.endpoint_url or '?'} did not answer like SageMaker"
    )
    advice = "check --endpoint-url or AWS_ENDPOINT_URL_SAGEMAKER"
    response = getattr(error.__cause__, "response", None)
    metadata = (
        response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
    )
    headers = metadata.get("HTTPHeaders") or {}
    content_type = str(headers.get("content-type", "")).partition(";")[0].strip()
    if content_type and "json" not in content_type:
        status = metadata.get("HTTPStatusCode", "?")
        return f"{where} (HTTP {status}, {content_type}); {advice}"
    if error.code == "MalformedResponse":
        return f"{where} (an unreadable answer: {error.__cause__ or error}); {advice}"
    return None


def _service_problem(  # noqa: PLR0911 - one diagnosis per kind of failure
    job_name: str,
    error: sw.ServiceError,
    settings: Settings,
    *,
    budget: float | None = None,
) -> str:
    code = error.code
    cause = str(error.__cause__) if error.__cause__ is not None else str(error)
    not_sagemaker = _not_sagemaker(error, settings)
    if not_sagemaker is not None:
        return not_sagemaker
    if code in _CREDENTIAL_CODES:
        return (
            f"no usable AWS credentials ({cause}); set AWS_PROFILE (after "
            "`aws sso login` for SSO) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if code in _REJECTED_CODES:
        return f"AWS rejected the credentials ({code}); refresh or replace them"
    if code in _DENIED_CODES:
        return (
            f"access denied ({code}) to {job_name}; the credentials need "
            "sagemaker:DescribeTrainingJob"
        )
    if isinstance(error, sw.RetriesExhausted):
        if budget is None:
            budget = settings.first_retry.max_elapsed
        retried = f" (retried for {budget:g}s)" if budget is not None else ""
        if code in _CONNECTION_CODES:
            return (
                f"cannot reach SageMaker: {cause}{retried}; check "
                "--endpoint-url or AWS_ENDPOINT_URL_SAGEMAKER, --region and the "
                "network"
            )
        return f"{job_name}: SageMaker kept failing ({code}) after retries: {cause}"
    return f"{job_name}: SageMaker refused the request: {error}"


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


async def follow_one(
    job_name: str,
    client: SageMakerClient,
    settings: Settings,
    emit: Callable[[sw.Event], None],
) -> JobResult:
    """Watch one job to its end on a fleet of one, handing every event to *emit*.

    Nothing is printed: a problem is in the result's ``problem``.
    """
    results, _ = await follow([job_name], client, settings, _Emitter(emit))
    return results[0]


class _Emitter(NullRenderer):
    """A renderer that hands events to a function and shows nothing."""

    def __init__(self, emit: Callable[[sw.Event], None]) -> None:
        super().__init__(io.StringIO(), io.StringIO())
        self._emit = emit

    def event(self, event: sw.Event) -> None:
        self._emit(event)


class _Jobs:
    """What ``follow`` knows of each job: its last event, its result, its outage.

    The fleet runs under ``settings.first_retry``, so an unreachable endpoint or
    a job that never appears is reported within ``--grace``. A job that was seen
    and then lost to transient errors is added again from its last event's
    resume token (nothing missed or repeated) until its outage outlasts
    ``settings.retry``: one fleet, two retry budgets.
    """

    def __init__(
        self,
        job_names: Sequence[str],
        fleet: sw.FleetWatcher,
        settings: Settings,
        renderer: Renderer,
    ) -> None:
        self.names = job_names
        self.fleet = fleet
        self.settings = settings
        self.renderer = renderer
        self.results: dict[str, JobResult] = {}
        self.last: dict[str, sw.Event] = {}
        self.outage: dict[str, float] = {}

    @property
    def done(self) -> bool:
        return len(self.results) == len(self.names)

    def finish(self, result: JobResult) -> None:
        self.results[result.job_name] = result
        self.renderer.result(result)

    def event(self, event: sw.Event) -> None:
        self.last[event.job_name] = event
        self.outage.pop(event.job_name, None)
        self.renderer.event(event)
        if isinstance(event, sw.JobEnded):
            self.finish(_ended(event.snapshot))

    def lost(self, lost: sw.JobLost) -> None:
        name, error = lost.job_name, lost.error
        seen = self.last.get(name)
        if seen is not None and isinstance(error, sw.RetriesExhausted):
            now = self._monotonic()
            first = self.settings.first_retry.max_elapsed or 0.0
            since = self.outage.setdefault(name, now - first)
            if now - since < (self.settings.retry.max_elapsed or math.inf):
                self.fleet.add(name, resume=seen.resume_token)
                return
        budget = (
            self.settings.retry.max_elapsed
            if seen is not None
            else self.settings.first_retry.max_elapsed
        )
        self.finish(_problem(name, error, self.settings, budget=budget))

    def _monotonic(self) -> float:
        clock = self.settings.clock
        return clock.monotonic() if clock is not None else anyio.current_time()

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
) -> tuple[list[JobResult], ExitCode | None]:
    """Watch every job on one fleet until all end, the timeout, or a signal.

    One ``FleetWatcher`` on *client*: one rate budget for every job, and
    ``ListTrainingJobs`` sweeps instead of per-job polls once ten or more jobs
    are watched.

    Returns:
        One result per job, in order, and the exit code of the signal that
        interrupted the watch, if one did.
    """
    interrupted: ExitCode | None = None

    async def tick() -> None:
        while True:
            renderer.tick()
            await anyio.sleep(_TICK)

    async def until_signal(scope: anyio.CancelScope) -> None:
        nonlocal interrupted
        interrupted = await _next_signal()
        scope.cancel()

    async def consume(jobs: _Jobs) -> None:
        for name in job_names:
            jobs.fleet.add(name)
        async for item in jobs.fleet.events(until_idle=False):
            if isinstance(item, sw.JobLost):
                jobs.lost(item)
            else:
                jobs.event(item)
            if jobs.done:
                return

    with renderer:
        async with (
            sw.FleetWatcher(
                client=client,
                schedule=settings.schedule,
                retry=settings.first_retry,
                clock=settings.clock,
            ) as fleet,
            anyio.create_task_group() as outer,
        ):
            jobs = _Jobs(job_names, fleet, settings, renderer)
            outer.start_soon(tick)
            outer.start_soon(until_signal, outer.cancel_scope)
            with anyio.move_on_after(settings.timeout):
                await consume(jobs)
            outer.cancel_scope.cancel()
        if interrupted is None:
            jobs.timed_out()
    results = jobs.results
    return [results[name] for name in job_names if name in results], interrupted


async def _next_signal() -> ExitCode:
    """Wait for SIGINT or SIGTERM; return the exit code it calls for."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if signum == signal.SIGINT:
                return ExitCode.INTERRUPTED
            return ExitCode.TERMINATED
    return ExitCode.INTERRUPTED  # pragma: no cover - the receiver never ends


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
            raise _setup_problem(error) from None
        yield client


def _setup_problem(error: sw.ServiceError) -> CliError:
    """Say what to do about a client that could not be set up.

    The source names botocore's error in ``error.code``, so the CLI needs no
    botocore import to tell them apart.
    """
    cause = error.__cause__ if error.__cause__ is not None else error
    code = error.code
    if code == "NoRegionError":
        return CliError(
            "no AWS region configured; pass --region or set AWS_REGION",
            ExitCode.AWS_ERROR,
        )
    if code == "ProfileNotFound":
        return CliError(
            f"{cause}; pass an existing --profile or fix AWS_PROFILE",
            ExitCode.AWS_ERROR,
        )
    if code == "InvalidRegionError":
        return CliError(f"{cause}; pass --region like us-east-1", ExitCode.USAGE)
    if code == "InvalidEndpoint":
        # Option and environment were checked up front: the config file is left.
        return CliError(
            f"{cause}; check endpoint_url in the AWS config file, or pass "
            "--endpoint-url like https://host[:port]",
            ExitCode.USAGE,
        )
    if isinstance(cause, ValueError):
        return CliError(
            f"{cause}; pass --endpoint-url like https://host[:port]", ExitCode.USAGE
        )
    return CliError(f"cannot set up AWS: {cause}", ExitCode.AWS_ERROR)


class _StderrLogger:
    """A structlog logger that writes to whatever ``sys.stderr`` is at the time."""

    def msg(self, message: str) -> None:
        click.echo(safe(message, newlines=True), err=True)

    log = debug = info = warning = warn = error = critical = exception = msg


#: The fleet's warning for a job it gave up: the CLI reports that job itself.
_JOB_LOST_LOG = "sagemaker_watch.fleet_job_lost"


def _drop_job_lost(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Drop the fleet's job-lost warning, which would repeat the CLI's own line."""
    if event_dict.get("event") == _JOB_LOST_LOG:
        raise structlog.DropEvent
    return event_dict


def _configure_logging(verbose: int) -> None:
    """Send the library's structlog output to stderr, warnings only unless -v."""
    level = (
        logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    )
    processors: list[structlog.typing.Processor] = []
    if not verbose:
        processors.append(_drop_job_lost)
    structlog.configure(
        processors=[
            *processors,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_: _StderrLogger(),
        cache_logger_on_first_use=False,
    )


def _schedule(min_delay: float | None, max_delay: float | None) -> sw.PollSchedule:
    options: dict[str, float] = {}
    if min_delay is not None:
        options["min_delay"] = min_delay
        if max_delay is None:
            options["max_delay"] = max(min_delay, sw.PollSchedule().max_delay)
    if max_delay is not None:
        options["max_delay"] = max_delay
        if min_delay is None:
            options["min_delay"] = min(max_delay, sw.PollSchedule().min_delay)
    try:
        return sw.PollSchedule(**options)
    except ValueError:
        raise click.UsageError("--min-delay must not exceed --max-delay") from None


def _renderer(
    job_names: Sequence[str], *, json: bool, plain: bool, now: Callable[[], dt.datetime]
) -> Renderer:
    if json:
        return JsonRenderer(sys.stdout, sys.stderr)
    console = Console()
    if plain or not console.is_terminal:
        return LineRenderer(sys.stdout, sys.stderr)
    return LiveRenderer(console, job_names, now=now, err=sys.stderr)


def _job_names(values: Sequence[str]) -> list[str]:
    """Validate the names (before any request) and drop repeats, keeping order."""
    names: list[str] = []
    for value in values:
        try:
            sw.validate_job_name(value)
        except sw.InvalidJobName as error:
            raise click.BadParameter(str(error), param_hint="JOB") from None
        if value not in names:
            names.append(value)
    return names


def _check_output(*, json: bool, plain: bool) -> None:
    if json and plain:
        raise click.UsageError("--json and --plain exclude each other")


def _run(main: Callable[[], Any]) -> ExitCode:
    """Run *main* on anyio and return its exit code (141 if stdout was closed)."""
    try:
        code: ExitCode = anyio.run(main)
    except (BrokenPipeError, ExceptionGroup) as error:
        if not all(isinstance(leaf, BrokenPipeError) for leaf in _leaves(error)):
            raise
        _quiet_stdout()
        return ExitCode.PIPE_CLOSED
    return code


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Number(click.ParamType[float, str | float]):
    """A finite number, at least (or, with *min_open*, above) *minimum*.

    ``float()`` reads ``nan`` and ``inf``; neither makes sense as a delay, a
    budget or a speed, so both are usage errors here, as are negative values.
    """

    name = "number"

    def __init__(self, minimum: float = 0.0, *, min_open: bool = False) -> None:
        """Accept finite numbers ``>= minimum`` (``> minimum`` if *min_open*)."""
        self.minimum = minimum
        self.min_open = min_open

    def convert(
        self,
        value: str | float,
        param: click.Parameter | None,
        ctx: click.Context | None,
    ) -> float:
        """Return *value* as a float, or fail as a usage error saying why."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        below = number <= self.minimum if self.min_open else number < self.minimum
        if not math.isfinite(number) or below:
            bound = ">" if self.min_open else ">="
            self.fail(
                f"{str(value)!r} is not a finite number {bound} {self.minimum:g}",
                param,
                ctx,
            )
        return number


def _check_endpoint(url: str, where: str) -> None:
    """Fail as a usage error unless *url* is http(s) with a host."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - reading it checks the port
    except ValueError:
        host = None
    if parts.scheme not in {"http", "https"} or not host:
        raise click.UsageError(
            f"{where} {url!r} is not an http:// or https:// URL with a host, "
            "such as https://api.sagemaker.us-east-1.amazonaws.com"
        )


def _endpoint_url(option: str | None) -> str | None:
    """Check the endpoint given by option or environment, before any request."""
    if option is not None:
        _check_endpoint(option, "--endpoint-url")
        return option
    for variable in ("AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL"):
        value = os.environ.get(variable)
        if value:
            _check_endpoint(value, variable)
            break
    return None


_aws_options = [
    click.option("--region", help="AWS region (default: AWS_REGION or the profile's)."),
    click.option("--profile", help="AWS profile (default: AWS_PROFILE)."),
    click.option(
        "--endpoint-url",
        metavar="URL",
        help="SageMaker endpoint (default: AWS_ENDPOINT_URL_SAGEMAKER, else AWS's).",
    ),
    click.option(
        "--min-delay",
        type=Number(min_open=True),
        metavar="S",
        help="Shortest delay between polls of a job, after a change [2].",
    ),
    click.option(
        "--max-delay",
        type=Number(min_open=True),
        metavar="S",
        help="Longest delay between polls of a job, in long phases [60].",
    ),
    click.option(
        "--timeout",
        type=Number(),
        metavar="S",
        help="Give up after S seconds (exit 5).",
    ),
    click.option(
        "--retry-for",
        type=Number(),
        default=900.0,
        show_default=True,
        metavar="S",
        help="Once a job has been seen, how long one poll retries throttling, "
        "5xx and network errors.",
    ),
    click.option(
        "--grace",
        type=Number(),
        default=15.0,
        show_default=True,
        metavar="S",
        help="How long the first poll retries an unreachable endpoint, or a job "
        "not visible yet.",
    ),
    click.option(
        "--allow-stopped",
        is_flag=True,
        help="Count Stopped as success (exit 0), like botocore's waiter.",
    ),
]


def _with_aws_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_aws_options):
        command = option(command)
    return command


def _settings(
    *,
    min_delay: float | None,
    max_delay: float | None,
    timeout: float | None,
    retry_for: float,
    grace: float,
) -> Settings:
    return Settings(
        schedule=_schedule(min_delay, max_delay),
        retry=sw.RetryPolicy(max_attempts=None, max_elapsed=retry_for),
        first_retry=sw.RetryPolicy(
            max_attempts=None,
            max_elapsed=grace,
            max_delay=min(5.0, max(grace, 0.1)),
            initial_delay=min(0.5, max(grace, 0.1)),
            not_found_grace=grace,
        ),
        timeout=timeout,
    )


async def _watch_aws(
    job_names: Sequence[str],
    settings: Settings,
    *,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    make_renderer: Callable[[Settings], Renderer],
) -> tuple[list[JobResult], ExitCode | None]:
    async with aws_client(
        region=region, profile=profile, endpoint_url=endpoint_url
    ) as client:
        settings = Settings(
            schedule=settings.schedule,
            retry=settings.retry,
            first_retry=settings.first_retry,
            timeout=settings.timeout,
            region=client.meta.region_name,
            endpoint_url=client.meta.endpoint_url,
        )
        return await follow(job_names, client, settings, make_renderer(settings))


@click.group(context_settings=CONTEXT)
@click.version_option(
    sw.__version__,
    "-V",
    "--version",
    prog_name="sagemaker-watch",
    message="%(prog)s %(version)s",
)
@click.option("-v", "--verbose", count=True, help="Log retries on stderr (-vv: more).")
@click.pass_obj
def cli(state: _State, verbose: int) -> None:
    """Watch Amazon SageMaker training jobs: live, as log lines, or as JSON."""
    state.verbose = verbose
    _configure_logging(verbose)


@cli.command(context_settings=CONTEXT)
@click.argument("jobs", nargs=-1, required=True, metavar="JOB [JOB ...]")
@_with_aws_options
@click.option("--json", "json_", is_flag=True, help="One JSON object per event.")
@click.option("--plain", is_flag=True, help="Plain lines even on a terminal.")
def watch(
    *,
    jobs: tuple[str, ...],
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    min_delay: float | None,
    max_delay: float | None,
    timeout: float | None,
    retry_for: float,
    grace: float,
    allow_stopped: bool,
    json_: bool,
    plain: bool,
) -> int:
    """Follow training jobs until they end; exit as `wait` does for the worst one.

    On a terminal: a live table, one row per job. Otherwise one line per event,
    or with --json one JSON object per event (logs go to stderr).
    """
    _check_output(json=json_, plain=plain)
    names = _job_names(jobs)
    endpoint_url = _endpoint_url(endpoint_url)
    settings = _settings(
        min_delay=min_delay,
        max_delay=max_delay,
        timeout=timeout,
        retry_for=retry_for,
        grace=grace,
    )

    async def main() -> ExitCode:
        results, interrupted = await _watch_aws(
            names,
            settings,
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            make_renderer=lambda s: _renderer(
                names, json=json_, plain=plain, now=s.now
            ),
        )
        return interrupted or exit_code(results, allow_stopped=allow_stopped)

    return _run(main)


@cli.command(context_settings=CONTEXT)
@click.argument("job", metavar="JOB")
@_with_aws_options
def wait(
    *,
    job: str,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    min_delay: float | None,
    max_delay: float | None,
    timeout: float | None,
    retry_for: float,
    grace: float,
    allow_stopped: bool,
) -> int:
    """Wait for a training job to end; print its outcome; exit 0 if it Completed.

    Exit codes: 0 completed, 1 failed, 3 stopped, 4 not found (or replaced),
    5 timeout, 6 AWS credentials/access/service error, 2 usage error,
    70 unexpected error, 130 Ctrl-C, 141 stdout closed, 143 SIGTERM.
    """
    names = _job_names([job])
    endpoint_url = _endpoint_url(endpoint_url)
    settings = _settings(
        min_delay=min_delay,
        max_delay=max_delay,
        timeout=timeout,
        retry_for=retry_for,
        grace=grace,
    )

    async def main() -> ExitCode:
        results, interrupted = await _watch_aws(
            names,
            settings,
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            make_renderer=lambda _: NullRenderer(sys.stdout, sys.stderr),
        )
        if interrupted is not None:
            return interrupted
        result = results[0]
        if result.outcome is not Outcome.ERROR:
            click.echo(one_line(f"{result.job_name} {describe(result)}", limit=4096))
        return exit_code(results, allow_stopped=allow_stopped)

    return _run(main)


@cli.command(context_settings=CONTEXT)
@click.option(
    "--speed",
    type=Number(1),
    default=100.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--copies",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Run the fleet N times over (5 x N jobs).",
)
@click.option("--json", "json_", is_flag=True, help="One JSON object per event.")
@click.option("--plain", is_flag=True, help="Plain lines even on a terminal.")
def demo(*, speed: float, copies: int, json_: bool, plain: bool) -> int:
    """Watch a small fleet on an embedded fake SageMaker: no AWS account needed.

    Five jobs cover the interesting lifecycles: a plain run, a spot interruption,
    a failure with its reason, a MaxRuntimeExceeded stop and a retry-strategy
    restart. Takes about 12 seconds at the default speed; exits 0 when every job
    reached an outcome, whatever it was.
    """
    _check_output(json=json_, plain=plain)
    fleet = _scenario.demo_fleet(copies)
    names = [entry.name for entry in fleet]

    async def main() -> ExitCode:
        async with (
            FakeSageMaker(speed=speed) as fake,
            anyio.create_task_group() as task_group,
            fake.client() as client,
        ):
            await _demo.populate(fake, fleet, task_group)
            settings = Settings(
                schedule=sw.PollSchedule(),
                retry=sw.RetryPolicy(),
                first_retry=sw.RetryPolicy(),
                clock=fake.clock,
                region=fake.region,
            )
            renderer = _renderer(names, json=json_, plain=plain, now=settings.now)
            results, interrupted = await follow(names, client, settings, renderer)
            task_group.cancel_scope.cancel()
        if interrupted is not None:
            return interrupted
        if not json_:
            click.echo(
                "That was sagemaker-watch on a fake SageMaker at "
                f"{speed:g}x speed. Next: `sagemaker-watch simulate`, "
                "or `sagemaker-watch watch YOUR-JOB`.",
                err=True,
            )
        ended = {Outcome.COMPLETED, Outcome.FAILED, Outcome.STOPPED}
        if all(result.outcome in ended for result in results):
            return ExitCode.COMPLETED
        return exit_code(results)

    return _run(main)


@cli.command(context_settings=CONTEXT)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep it loopback unless you mean it.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--speed",
    type=Number(min_open=True),
    default=10.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file of jobs to create (default: the demo fleet).",
)
def simulate(*, host: str, port: int, speed: float, scenario: Path | None) -> int:
    """Serve a fake SageMaker until Ctrl-C, and print how to point clients at it.

    Stdout gets `export` lines (AWS_ENDPOINT_URL_SAGEMAKER, dummy credentials,
    region). Ctrl-C or SIGTERM stops it cleanly with exit 0.
    """
    try:
        jobs = _scenario.load(scenario) if scenario else _scenario.demo_fleet()
    except _scenario.ScenarioError as error:
        raise CliError(f"{error}; see docs/cli.md", ExitCode.USAGE) from None

    async def main() -> ExitCode:
        try:
            await _demo.serve(
                host=host,
                port=port,
                speed=speed,
                jobs=jobs,
                out=sys.stdout,
                err=sys.stderr,
            )
        except OSError as error:
            raise CliError(
                f"cannot listen on {host}:{port}: {error.strerror or error}; "
                "choose another --host or --port",
                ExitCode.USAGE,
            ) from None
        return ExitCode.COMPLETED

    return _run(main)


@dataclass(slots=True)
class _State:
    """What ``main`` needs to know after the command ended: how verbose to be."""

    verbose: int = 0


def _leaves(error: BaseException) -> list[BaseException]:
    """Return the exceptions inside *error*, exception groups flattened."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit cannot fail on a dead pipe."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _complain(message: str) -> None:
    """Write *message* on stderr as one safe line."""
    with contextlib.suppress(OSError):
        click.echo(f"sagemaker-watch: {one_line(message)}", err=True)


def _unexpected(error: Exception, *, verbose: int) -> ExitCode:
    """Exit 141 for a closed stdout, else report a surprise in one line: exit 70."""
    leaves = _leaves(error)
    if all(isinstance(leaf, BrokenPipeError) for leaf in leaves):
        _quiet_stdout()  # outside a command's run, such as --help | head
        return ExitCode.PIPE_CLOSED
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _quiet_stdout()
    first = next(
        (leaf for leaf in leaves if not isinstance(leaf, BrokenPipeError)), error
    )
    summary = f"unexpected error ({type(first).__name__}: {first})"
    if verbose:
        text = "".join(traceback.format_exception(error))
        with contextlib.suppress(OSError):
            click.echo(safe(text, newlines=True), err=True, nl=False)
        _complain(summary)
    else:
        _complain(f"{summary}; run `sagemaker-watch -v ...` to see the traceback")
    return ExitCode.SOFTWARE


def _usage_line(error: click.UsageError) -> str:
    command = error.ctx.command_path if error.ctx is not None else "sagemaker-watch"
    message = " ".join(error.format_message().split())
    return f"{command}: error: {message} (see '{command} --help')"


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one per ending
    """Run the command line with *argv* (default: ``sys.argv[1:]``).

    Returns:
        The exit status (see ``ExitCode``).
    """
    state = _State()
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="sagemaker-watch",
            standalone_mode=False,
            obj=state,
        )
    except click.exceptions.NoArgsIsHelpError as error:
        click.echo(error.ctx.get_help() if error.ctx else "", err=True)
        return ExitCode.USAGE
    except click.UsageError as error:
        click.echo(one_line(_usage_line(error)), err=True)
        return ExitCode.USAGE
    except click.ClickException as error:
        _complain(f"error: {error.format_message()}")
        return error.exit_code
    except CliError as error:
        _complain(f"error: {error}")
        return error.code
    except (click.Abort, KeyboardInterrupt):
        _complain("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last resort: one line, exit 70
        return _unexpected(error, verbose=state.verbose)
    return int(code) if isinstance(code, int) else ExitCode.COMPLETED


def run() -> NoReturn:
    """Run the command line and exit with its status (the console script)."""
    sys.exit(main())
