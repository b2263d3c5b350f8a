"""The ``sagemaker-watch`` commands and options: watch, wait, logs, demo, simulate.

Options are parsed and checked here, before any request; ``watch``, ``wait`` and
``logs`` share one set (``WatchOptions``) and one body (``_watch_jobs``), which
runs ``follow`` (or, for training logs, ``follow_logs``) on an AWS client. Exit
codes are a contract, listed in ``ExitCode`` and in ``docs/cli.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import click
from rich.console import Console

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker

from .._core.names import JobRef, parse_job
from . import _demo, _scenario
from ._follow import Settings, aws_client, follow, follow_logs
from ._problems import CliError, ExitCode, exit_code
from ._process import configure_logging, run_async
from ._render import JsonRenderer, LineRenderer, LiveRenderer, NullRenderer, Renderer
from ._text import JobResult, Outcome, describe, one_line

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence

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


def _http_url(url: str, *, path: bool = False) -> bool:
    """Whether *url* is http(s) with a host and a valid port (and, if *path*, one)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - reading it checks the port
    except ValueError:
        return False
    has_path = bool(parts.path.strip("/")) or not path
    return parts.scheme in {"http", "https"} and bool(host) and has_path


def _check_endpoint(url: str, where: str) -> None:
    """Fail as a usage error unless *url* is http(s) with a host."""
    if not _http_url(url):
        raise click.UsageError(
            f"{where} {url!r} is not an http:// or https:// URL with a host, "
            "such as https://api.sagemaker.us-east-1.amazonaws.com"
        )


def _check_hints(options: WatchOptions) -> None:
    """Check the hints' options, before any request."""
    url = options.sqs_queue_url
    if url is None:
        if options.hints_ceiling is not None:
            raise click.UsageError("--hints-ceiling needs --sqs-queue-url")
        return
    if not _http_url(url, path=True):
        raise click.UsageError(
            f"--sqs-queue-url {url!r} is not an http:// or https:// URL of a queue, "
            "such as https://sqs.us-east-1.amazonaws.com/123456789012/sm-events "
            "(see docs/hints.md)"
        )


def _hints(options: WatchOptions, *, region: str) -> sw.SqsHints | None:
    """The push hints the options ask for, their client in *region* unless AWS's."""
    if options.sqs_queue_url is None:
        return None
    hints = sw.SqsHints(options.sqs_queue_url, region=region, profile=options.profile)
    if options.hints_ceiling is not None:
        hints = dataclasses.replace(hints, ceiling=options.hints_ceiling)
    return hints


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


def _schedule(min_delay: float | None, max_delay: float | None) -> sw.PollSchedule:
    base = sw.PollSchedule()
    low = base.min_delay if min_delay is None else min_delay
    high = base.max_delay if max_delay is None else max_delay
    if min_delay is None:
        low = min(high, low)
    if max_delay is None:
        high = max(low, high)
    try:
        return sw.PollSchedule(min_delay=low, max_delay=high)
    except ValueError:
        raise click.UsageError("--min-delay must not exceed --max-delay") from None


def _settings(
    *,
    min_delay: float | None,
    max_delay: float | None,
    timeout: float | None,
    retry_for: float,
    grace: float,
) -> Settings:
    """Return the settings for the options of ``watch`` and ``wait``."""
    return Settings(
        schedule=_schedule(min_delay, max_delay),
        retry=sw.RetryPolicy(
            max_attempts=None,
            max_elapsed=retry_for,
            unseen_max_elapsed=grace,
            not_found_grace=grace,
            initial_delay=min(0.5, max(grace, 0.1)),
            max_delay=min(5.0, max(grace, 0.1)),
        ),
        timeout=timeout,
    )


def _renderer(
    job_names: Sequence[str], *, json: bool, plain: bool, now: Callable[[], dt.datetime]
) -> Renderer:
    if json:
        return JsonRenderer(sys.stdout, sys.stderr)
    console = Console()
    if plain or not console.is_terminal:
        return LineRenderer(sys.stdout, sys.stderr)
    return LiveRenderer(console, job_names, now=now, err=sys.stderr)


def _jobs(values: Sequence[str]) -> list[JobRef]:
    """Read the names or ARNs, before any request."""
    try:
        return [parse_job(value) for value in values]
    except sw.InvalidJobName as error:
        raise click.BadParameter(str(error), param_hint="JOB") from None


def _job_names(values: Sequence[str]) -> list[str]:
    """The jobs' names (an ARN gives its name), without repeats, in order."""
    return list(dict.fromkeys(job.name for job in _jobs(values)))


def _check_regions(jobs: Sequence[JobRef], region: str) -> None:
    """Refuse an ARN from another region than the client's, before any request."""
    try:
        for job in jobs:
            job.check_region(region)
    except sw.InvalidJobName as error:
        raise CliError(str(error), ExitCode.USAGE) from None


def _check_output(*, json: bool, plain: bool) -> None:
    if json and plain:
        raise click.UsageError("--json and --plain exclude each other")


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchOptions:
    """The options ``watch`` and ``wait`` share: where, how often, how long."""

    region: str | None
    profile: str | None
    endpoint_url: str | None
    min_delay: float | None
    max_delay: float | None
    timeout: float | None
    retry_for: float
    grace: float
    allow_stopped: bool
    sqs_queue_url: str | None
    hints_ceiling: float | None


_watch_options = [
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
        help="Once a job has been seen, how long its polls retry 5xx and network "
        "errors (throttling is always ridden out).",
    ),
    click.option(
        "--grace",
        type=Number(),
        default=15.0,
        show_default=True,
        metavar="S",
        help="Until a job has been seen, how long its polls retry an unreachable "
        "endpoint, 5xx, or a job not visible yet.",
    ),
    click.option(
        "--allow-stopped",
        is_flag=True,
        help="Count Stopped as success (exit 0), like botocore's waiter.",
    ),
    click.option(
        "--sqs-queue-url",
        metavar="URL",
        help="Describe a job when its EventBridge event arrives in this SQS queue, "
        "polling far less (see docs/hints.md).",
    ),
    click.option(
        "--hints-ceiling",
        type=Number(min_open=True),
        metavar="S",
        help="While events arrive, still describe each job every S seconds [3600].",
    ),
]
_WATCH_OPTION_NAMES = tuple(field.name for field in dataclasses.fields(WatchOptions))


def _with_watch_options(command: Callable[..., int]) -> Callable[..., int]:
    """Add the shared options to *command*, which gets them as ``options=``."""

    @functools.wraps(command)
    def collected(**values: Any) -> int:  # noqa: ANN401 - click's parsed values
        shared = {name: values.pop(name) for name in _WATCH_OPTION_NAMES}
        return command(options=WatchOptions(**shared), **values)

    wrapped: Callable[..., int] = collected
    for option in reversed(_watch_options):
        wrapped = option(wrapped)
    return wrapped


@dataclass(frozen=True, slots=True, kw_only=True)
class LogOptions:
    """How ``logs`` and ``watch --logs`` read a job's training logs."""

    poll: float
    window: float
    rate: float
    drain: float
    follow: bool = True

    def settings(self) -> sw.CloudWatchLogs:
        """The library's settings for these options."""
        defaults = _LOG_DEFAULTS
        return sw.CloudWatchLogs(
            active=self.poll,
            idle=max(defaults.idle, self.poll),
            window=self.window,
            drain=self.drain,
            read_rate=self.rate,
            list_rate=max(defaults.list_rate, self.rate / _READS_PER_LISTING),
        )


#: ``--log-rate`` GetLogEvents per DescribeLogStreams allowed (4 and 1 by default).
_READS_PER_LISTING = 4.0
#: The library's settings, whose values are the options' defaults.
_LOG_DEFAULTS = sw.CloudWatchLogs()


_log_options = [
    click.option(
        "--log-poll",
        "log_poll",
        type=Number(min_open=True),
        default=_LOG_DEFAULTS.active,
        show_default=True,
        metavar="S",
        help="Seconds between reads of a log stream that has new lines (a quiet "
        "one is read less and less often, down to once a minute).",
    ),
    click.option(
        "--log-window",
        "log_window",
        type=Number(),
        default=_LOG_DEFAULTS.window,
        show_default=True,
        metavar="S",
        help="Seconds each log line is held, so that the lines of several hosts "
        "come out in time order.",
    ),
    click.option(
        "--log-rate",
        "log_rate",
        type=Number(min_open=True),
        default=_LOG_DEFAULTS.read_rate,
        show_default=True,
        metavar="N",
        help="GetLogEvents requests per second at most (the account's quota, 25, "
        "is shared by every tool); DescribeLogStreams gets a quarter (at least 1).",
    ),
    click.option(
        "--log-drain",
        "log_drain",
        type=Number(),
        default=_LOG_DEFAULTS.drain,
        show_default=True,
        metavar="S",
        help="After the job ends, read its streams once more from their start at "
        "least S seconds after the end, for lines that reach CloudWatch Logs late.",
    ),
]


def _with_log_options(command: Callable[..., int]) -> Callable[..., int]:
    """Add the log options to *command* (``log_poll``, ``log_window`` and so on)."""
    wrapped = command
    for option in reversed(_log_options):
        wrapped = option(wrapped)
    return wrapped


def _watch_jobs(
    values: Sequence[str],
    options: WatchOptions,
    *,
    make_renderer: Callable[[Settings], Renderer],
    report: Callable[[Sequence[JobResult]], None] = lambda _: None,
    logs: LogOptions | None = None,
) -> ExitCode:
    """Follow the jobs named in *values* (names or ARNs) on an AWS client.

    Exit by the worst outcome, or the signal. The jobs, the endpoint and the
    numbers are checked before any request (an ARN's region once the client is
    open); *report* sees the results once the client is closed, unless a signal
    ended the watch. With *logs*, the one job's training logs are shown too.
    """
    jobs, names = _jobs(values), _job_names(values)
    endpoint_url = _endpoint_url(options.endpoint_url)
    _check_hints(options)
    settings = _settings(
        min_delay=options.min_delay,
        max_delay=options.max_delay,
        timeout=options.timeout,
        retry_for=options.retry_for,
        grace=options.grace,
    )

    async def main() -> ExitCode:
        async with aws_client(
            region=options.region, profile=options.profile, endpoint_url=endpoint_url
        ) as client:
            _check_regions(jobs, client.meta.region_name)
            on_client = dataclasses.replace(
                settings,
                region=client.meta.region_name,
                endpoint_url=client.meta.endpoint_url,
                hints=_hints(options, region=client.meta.region_name),
            )
            renderer = make_renderer(on_client)
            if logs is None:
                results, interrupted = await follow(names, client, on_client, renderer)
            else:
                (name,) = names
                results, interrupted = await follow_logs(
                    name,
                    client,
                    on_client,
                    renderer,
                    logs=logs.settings(),
                    follow=logs.follow,
                )
        if interrupted is not None:
            return interrupted
        report(results)
        return exit_code(results, allow_stopped=options.allow_stopped)

    return run_async(main)


@dataclass(slots=True)
class State:
    """What ``main`` needs to know after the command ended: how verbose to be."""

    verbose: int = 0


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
def cli(state: State, verbose: int) -> None:
    """Watch Amazon SageMaker training jobs: live, as log lines, or as JSON."""
    state.verbose = verbose
    configure_logging(verbose)


@cli.command(context_settings=CONTEXT)
@click.argument("jobs", nargs=-1, required=True, metavar="JOB [JOB ...]")
@_with_watch_options
@click.option("--json", "json_", is_flag=True, help="One JSON object per event.")
@click.option("--plain", is_flag=True, help="Plain lines even on a terminal.")
@click.option(
    "--logs",
    "logs",
    is_flag=True,
    help="Also show the job's training log lines (one JOB only), its last ones "
    "before its outcome.",
)
@_with_log_options
def watch(
    *,
    jobs: tuple[str, ...],
    options: WatchOptions,
    json_: bool,
    plain: bool,
    logs: bool,
    log_poll: float,
    log_window: float,
    log_rate: float,
    log_drain: float,
) -> int:
    """Follow training jobs until they end; exit as `wait` does for the worst one.

    Each JOB is a training job's name or ARN. On a terminal: a live table, one
    row per job. Otherwise one line per event, or with --json one JSON object per
    event (logs go to stderr). With --logs, the job's training log lines too,
    interleaved with its events.
    """
    _check_output(json=json_, plain=plain)
    names = _job_names(jobs)
    if logs and len(names) > 1:
        raise click.UsageError(
            "--logs follows the training logs of one JOB; run one "
            "`sagemaker-watch logs JOB --follow` per job"
        )
    return _watch_jobs(
        jobs,
        options,
        make_renderer=lambda settings: _renderer(
            names, json=json_, plain=plain, now=settings.now
        ),
        logs=LogOptions(
            poll=log_poll, window=log_window, rate=log_rate, drain=log_drain
        )
        if logs
        else None,
    )


@cli.command(context_settings=CONTEXT)
@click.argument("job", metavar="JOB")
@_with_watch_options
@click.option(
    "--follow/--no-follow",
    "-f",
    default=False,
    show_default=True,
    help="Follow a running job's lines until it ends.",
)
@click.option(
    "--json", "json_", is_flag=True, help="One JSON object per log line, as written."
)
@_with_log_options
def logs(
    *,
    job: str,
    options: WatchOptions,
    follow: bool,
    json_: bool,
    log_poll: float,
    log_window: float,
    log_rate: float,
    log_drain: float,
) -> int:
    """Print a training job's log lines: every host's, each once, in time order.

    JOB is the training job's name or ARN. Each line reads `TIME HOST | MESSAGE`
    (control characters escaped), or with --json is one JSON object. Without
    --follow, the lines of a job that has ended; with --follow, a running job's
    lines as they come, until it ends and its last lines are read.

    Exits as `wait` does: 0 completed, 1 failed, 3 stopped, and so on.
    """
    return _watch_jobs(
        [job],
        options,
        make_renderer=lambda _: (
            JsonRenderer(sys.stdout, sys.stderr, events=False)
            if json_
            else LineRenderer(sys.stdout, sys.stderr, events=False)
        ),
        logs=LogOptions(
            poll=log_poll,
            window=log_window,
            rate=log_rate,
            drain=log_drain,
            follow=follow,
        ),
    )


@cli.command(context_settings=CONTEXT)
@click.argument("job", metavar="JOB")
@_with_watch_options
def wait(*, job: str, options: WatchOptions) -> int:
    """Wait for a training job to end; print its outcome; exit 0 if it Completed.

    JOB is the training job's name or ARN.

    Exit codes: 0 completed, 1 failed, 3 stopped, 4 not found (or replaced),
    5 timeout, 6 AWS credentials/access/service error, 2 usage error,
    70 unexpected error, 130 Ctrl-C, 141 stdout closed, 143 SIGTERM.
    """

    def report(results: Sequence[JobResult]) -> None:
        (result,) = results
        if result.outcome is not Outcome.ERROR:
            click.echo(one_line(f"{result.job_name} {describe(result)}", limit=4096))

    return _watch_jobs(
        [job],
        options,
        make_renderer=lambda _: NullRenderer(sys.stdout, sys.stderr),
        report=report,
    )


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

    return run_async(main)


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

    return run_async(main)
