"""The options of ``watch``, ``wait`` and ``logs``: declared, parsed and checked once.

``with_watch_options`` gives a command the options every watching command
takes (where, how often, how long) as one ``WatchOptions``;
``with_log_options`` gives ``logs`` and ``watch --logs`` the ``--log-*``
options as one ``LogOptions``. Everything here is checked before any request;
what needs a client (an ARN's region) is checked in ``_run``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

import sagemaker_watch as sw

from .._core.names import JobRef, parse_job

if TYPE_CHECKING:
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


def parse_jobs(values: Sequence[str]) -> list[JobRef]:
    """Read the names or ARNs, before any request."""
    try:
        return [parse_job(value) for value in values]
    except sw.InvalidJobName as error:
        raise click.BadParameter(str(error), param_hint="JOB") from None


def job_names(values: Sequence[str]) -> list[str]:
    """The jobs' names (an ARN gives its name), without repeats, in order."""
    return list(dict.fromkeys(job.name for job in parse_jobs(values)))


def check_output(*, json: bool, plain: bool) -> None:
    """Refuse ``--json`` with ``--plain``."""
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


def _collecting(
    command: Callable[..., int],
    options: Sequence[Callable[[Callable[..., int]], Callable[..., int]]],
    *,
    into: str,
    make: Callable[..., object],
    names: dict[str, str],
) -> Callable[..., int]:
    """Add *options* to *command*, which gets their values as one ``make(...)``.

    *names* maps each option's parameter to the field of ``make`` it fills;
    the value goes to *command* as its keyword argument *into*.
    """

    @functools.wraps(command)
    def collected(**values: Any) -> int:  # noqa: ANN401 - click's parsed values
        fields = {field: values.pop(name) for name, field in names.items()}
        return command(**{into: make(**fields)}, **values)

    wrapped: Callable[..., int] = collected
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def with_watch_options(command: Callable[..., int]) -> Callable[..., int]:
    """Add the shared options to *command*, which gets them as ``options=``."""
    names = {field.name: field.name for field in dataclasses.fields(WatchOptions)}
    return _collecting(
        command, _watch_options, into="options", make=WatchOptions, names=names
    )


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


def _log_option(
    field: str, default: float, help_text: str, *, metavar: str = "S"
) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """``--log-FIELD``: a number with its default shown; a rate must be above 0."""
    return click.option(
        f"--log-{field}",
        type=Number(min_open=field in {"poll", "rate"}),
        default=default,
        show_default=True,
        metavar=metavar,
        help=help_text,
    )


_log_options = [
    _log_option(
        "poll",
        _LOG_DEFAULTS.active,
        "Seconds between reads of a log stream that has new lines (a quiet "
        "one is read less and less often, down to once a minute).",
    ),
    _log_option(
        "window",
        _LOG_DEFAULTS.window,
        "Seconds each log line is held, so that the lines of several hosts "
        "come out in time order.",
    ),
    _log_option(
        "rate",
        _LOG_DEFAULTS.read_rate,
        "GetLogEvents requests per second at most (the account's quota, 25, "
        "is shared by every tool); DescribeLogStreams gets a quarter (at least 1).",
        metavar="N",
    ),
    _log_option(
        "drain",
        _LOG_DEFAULTS.drain,
        "After the job ends, read its streams once more from their start at "
        "least S seconds after the end, for lines that reach CloudWatch Logs late.",
    ),
]


def with_log_options(command: Callable[..., int]) -> Callable[..., int]:
    """Add the ``--log-*`` options to *command*, which gets them as ``log_options=``."""
    names = {f"log_{field}": field for field in ("poll", "window", "rate", "drain")}
    return _collecting(
        command, _log_options, into="log_options", make=LogOptions, names=names
    )
