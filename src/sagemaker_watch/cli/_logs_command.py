"""``sagemaker-watch logs JOB``: a training job's log lines, every host's, in order.

The command only parses; ``_run.watch_jobs`` runs it on one AWS client and
``_follow.follow_logs`` reads the lines (with the job's events, which decide
the exit code and are not shown).
"""

from __future__ import annotations

import dataclasses
import sys

import click

from ._options import (
    CONTEXT,
    LogOptions,
    WatchOptions,
    with_log_options,
    with_watch_options,
)
from ._render import JsonRenderer, LineRenderer
from ._run import watch_jobs


@click.command(context_settings=CONTEXT)
@click.argument("job", metavar="JOB")
@with_watch_options
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
@with_log_options
def logs(
    *,
    job: str,
    options: WatchOptions,
    follow: bool,
    json_: bool,
    log_options: LogOptions,
) -> int:
    """Print a training job's log lines: every host's, each once, in time order.

    JOB is the training job's name or ARN. Each line reads `TIME HOST | MESSAGE`
    (control characters escaped), or with --json is one JSON object. Without
    --follow, the lines written so far: all of a job that has ended; of a job
    still running, those there are (stderr says so), exit 0. With --follow, a
    running job's lines as they come, until it ends and its last lines are read.

    Exits as `wait` does: 0 completed, 1 failed, 3 stopped, and so on.
    """
    return watch_jobs(
        [job],
        options,
        make_renderer=lambda _: (
            JsonRenderer(sys.stdout, sys.stderr, events=False)
            if json_
            else LineRenderer(sys.stdout, sys.stderr, events=False)
        ),
        logs=dataclasses.replace(log_options, follow=follow),
    )
