"""What ``watch``, ``wait`` and ``logs`` run once their options are parsed.

``watch_jobs`` checks what is left to check before any request (the endpoint,
the queue URL, the delays), opens one AWS client, checks the ARNs' region
against it, runs ``follow`` (or, for training logs, ``follow_logs``) and
returns the exit code: the worst outcome's, or the signal's.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import urllib.parse
from typing import TYPE_CHECKING

import click
from rich.console import Console

import sagemaker_watch as sw

from ._follow import Settings, aws_client, follow, follow_logs
from ._options import job_names, parse_jobs
from ._problems import CliError, ExitCode, exit_code
from ._process import run_async
from ._render import JsonRenderer, LineRenderer, LiveRenderer, Renderer

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence

    from .._core.names import JobRef
    from ._options import LogOptions, WatchOptions
    from ._text import JobResult


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


def renderer_for(
    names: Sequence[str], *, json: bool, plain: bool, now: Callable[[], dt.datetime]
) -> Renderer:
    """The view ``watch`` and ``demo`` show: JSON, plain lines, or a live table."""
    if json:
        return JsonRenderer(sys.stdout, sys.stderr)
    console = Console()
    if plain or not console.is_terminal:
        return LineRenderer(sys.stdout, sys.stderr, jobs=len(names) > 1)
    return LiveRenderer(console, names, now=now, err=sys.stderr)


def _check_regions(jobs: Sequence[JobRef], region: str) -> None:
    """Refuse an ARN from another region than the client's, before any request."""
    try:
        for job in jobs:
            job.check_region(region)
    except sw.InvalidJobName as error:
        raise CliError(str(error), ExitCode.USAGE) from None


def watch_jobs(
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
    ended the watch. With *logs*, the jobs' training logs are shown too: one
    job's through ``follow_logs`` (its logs' errors are its own), several on
    the fleet.
    """
    jobs, names = parse_jobs(values), job_names(values)
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
            view = make_renderer(on_client)
            if logs is None or len(names) > 1:
                results, interrupted = await follow(
                    names,
                    client,
                    on_client,
                    view,
                    logs=None if logs is None else logs.settings(),
                )
            else:
                (name,) = names
                results, interrupted = await follow_logs(
                    name,
                    client,
                    on_client,
                    view,
                    logs=logs.settings(),
                    follow=logs.follow,
                )
        if interrupted is not None:
            return interrupted
        report(results)
        return exit_code(results, allow_stopped=options.allow_stopped)

    return run_async(main)
