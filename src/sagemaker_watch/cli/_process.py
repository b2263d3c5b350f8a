"""The process around a command: its event loop, its stderr, and how it ends.

A closed stdout ends quietly with 141, a surprise with one line and 70; the
library's structlog output goes to stderr, warnings only unless ``-v``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

import anyio
import click
import structlog

from ._problems import ExitCode
from ._text import one_line, safe

if TYPE_CHECKING:
    from collections.abc import Callable


def leaves(error: BaseException) -> list[BaseException]:
    """Return the exceptions inside *error*, exception groups flattened."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


def quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit cannot fail on a dead pipe."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def run_async(main: Callable[[], Any]) -> ExitCode:
    """Run *main* on anyio and return its exit code (141 if stdout was closed)."""
    try:
        code: ExitCode = anyio.run(main)
    except (BrokenPipeError, ExceptionGroup) as error:
        if not all(isinstance(leaf, BrokenPipeError) for leaf in leaves(error)):
            raise
        quiet_stdout()
        return ExitCode.PIPE_CLOSED
    return code


def complain(message: str) -> None:
    """Write *message* on stderr as one safe line."""
    with contextlib.suppress(OSError):
        click.echo(f"sagemaker-watch: {one_line(message)}", err=True)


def unexpected(error: Exception, *, verbose: int) -> ExitCode:
    """Exit 141 for a closed stdout, else report a surprise in one line: exit 70."""
    found = leaves(error)
    if all(isinstance(leaf, BrokenPipeError) for leaf in found):
        quiet_stdout()  # outside a command's run, such as --help | head
        return ExitCode.PIPE_CLOSED
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        quiet_stdout()
    first = next(
        (leaf for leaf in found if not isinstance(leaf, BrokenPipeError)), error
    )
    summary = f"unexpected error ({type(first).__name__}: {first})"
    if verbose:
        text = "".join(traceback.format_exception(error))
        with contextlib.suppress(OSError):
            click.echo(safe(text, newlines=True), err=True, nl=False)
        complain(summary)
    else:
        complain(f"{summary}; run `sagemaker-watch -v ...` to see the traceback")
    return ExitCode.SOFTWARE


def usage_line(error: click.UsageError) -> str:
    """Return click's usage error as one line naming the command and its help."""
    command = error.ctx.command_path if error.ctx is not None else "sagemaker-watch"
    message = " ".join(error.format_message().split())
    return f"{command}: error: {message} (see '{command} --help')"


class _StderrLogger:
    """A structlog logger that writes to whatever ``sys.stderr`` is at the time."""

    def msg(self, message: str) -> None:
        click.echo(safe(message, newlines=True), err=True)

    log = debug = info = warning = warn = error = critical = exception = msg


#: The fleet's warning for a job it gave up: the CLI reports that job itself.
_JOB_LOST_LOG = "sagemaker_watch.fleet_job_lost"
#: The fleet's warning for a job whose logs it stopped reading: the CLI says so.
_LOGS_FAILED_LOG = "sagemaker_watch.logs_call_failed"


def _drop_repeats(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Drop the fleet's warnings that would repeat one of the CLI's own lines.

    A job given up (``fleet_job_lost``), and a job whose logs the fleet
    stopped reading (``logs_call_failed``, ``follower="stopped"``).
    """
    event = event_dict.get("event")
    stopped = event == _LOGS_FAILED_LOG and event_dict.get("follower") == "stopped"
    if event == _JOB_LOST_LOG or stopped:
        raise structlog.DropEvent
    return event_dict


def configure_logging(verbose: int) -> None:
    """Send the library's structlog output to stderr, warnings only unless -v."""
    level = (
        logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    )
    processors: list[structlog.typing.Processor] = []
    if not verbose:
        processors.append(_drop_repeats)
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
