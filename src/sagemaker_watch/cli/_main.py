"""The entry points: ``main(argv)`` returns the exit status, ``run()`` exits with it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import click

from ._commands import State, cli
from ._problems import CliError, ExitCode
from ._process import complain, unexpected, usage_line
from ._text import one_line

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one per ending
    """Run the command line with *argv* (default: ``sys.argv[1:]``).

    Returns:
        The exit status (see ``ExitCode``).
    """
    state = State()
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
        click.echo(one_line(usage_line(error)), err=True)
        return ExitCode.USAGE
    except click.ClickException as error:
        complain(f"error: {error.format_message()}")
        return error.exit_code
    except CliError as error:
        complain(f"error: {error}")
        return error.code
    except (click.Abort, KeyboardInterrupt):
        complain("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last resort: one line, exit 70
        return unexpected(error, verbose=state.verbose)
    return int(code) if isinstance(code, int) else ExitCode.COMPLETED


def run() -> NoReturn:
    """Run the command line and exit with its status (the console script)."""
    sys.exit(main())
