"""The ``sagemaker-watch`` command group and its commands: watch, wait, demo, simulate.

``logs`` is ``_logs_command``'s; the options of ``watch``, ``wait`` and
``logs`` are ``_options``' and what they run once parsed is ``_run``'s
(``watch_jobs``). Exit codes are a contract, listed in ``ExitCode`` and in
``docs/cli.md``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import click

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker

from . import _demo, _scenario
from ._follow import Settings, follow
from ._logs_command import logs
from ._options import (
    CONTEXT,
    LogOptions,
    Number,
    WatchOptions,
    check_output,
    job_names,
    with_log_options,
    with_watch_options,
)
from ._problems import CliError, ExitCode, exit_code
from ._process import configure_logging, run_async
from ._render import NullRenderer
from ._run import (
    _settings,  # noqa: F401 - bench/cli_fleet.py and tests read it here
    renderer_for,
    watch_jobs,
)
from ._text import JobResult, Outcome, describe, one_line

if TYPE_CHECKING:
    from collections.abc import Sequence


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
@with_watch_options
@click.option("--json", "json_", is_flag=True, help="One JSON object per event.")
@click.option("--plain", is_flag=True, help="Plain lines even on a terminal.")
@click.option(
    "--logs",
    "logs",
    is_flag=True,
    help="Also show each job's training log lines, its last ones before its outcome.",
)
@with_log_options
def watch(
    *,
    jobs: tuple[str, ...],
    options: WatchOptions,
    json_: bool,
    plain: bool,
    logs: bool,
    log_options: LogOptions,
) -> int:
    """Follow training jobs until they end; exit as `wait` does for the worst one.

    Each JOB is a training job's name or ARN. On a terminal: a live table, one
    row per job. Otherwise one line per event, or with --json one JSON object per
    event (logs go to stderr). With --logs, each job's training log lines too,
    interleaved with the events (a line names its job if there are several).
    """
    check_output(json=json_, plain=plain)
    names = job_names(jobs)
    return watch_jobs(
        jobs,
        options,
        make_renderer=lambda settings: renderer_for(
            names, json=json_, plain=plain, now=settings.now
        ),
        logs=log_options if logs else None,
    )


@cli.command(context_settings=CONTEXT)
@click.argument("job", metavar="JOB")
@with_watch_options
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

    return watch_jobs(
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
    check_output(json=json_, plain=plain)
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
            renderer = renderer_for(names, json=json_, plain=plain, now=settings.now)
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


cli.add_command(logs)
