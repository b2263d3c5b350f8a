"""The entry points: ``main(argv)`` returns the exit status, ``run()`` exits with it.

The commands (click, rich, the fleet and so botocore) load only when a command
runs: ``sagemaker-watch --version`` answers without them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Sequence

#: The arguments answered without loading the commands (click's version option
#: on the command group prints the same line for them).
_VERSION_ONLY = (["--version"], ["-V"])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with *argv* (default: ``sys.argv[1:]``).

    Returns:
        The exit status (see ``ExitCode``).
    """
    args = list(argv) if argv is not None else None
    if (args if args is not None else sys.argv[1:]) in _VERSION_ONLY:
        import sagemaker_watch  # noqa: PLC0415 - its __version__ loads on use

        sys.stdout.write(f"sagemaker-watch {sagemaker_watch.__version__}\n")
        return 0
    return _run_command(args)


def _run_command(args: list[str] | None) -> int:  # noqa: PLR0911 - one per ending
    """Run a command through click; the exit status for each way it can end."""
    import click  # noqa: PLC0415 - the commands load only when one runs

    from ._commands import State, cli  # noqa: PLC0415
    from ._problems import CliError, ExitCode  # noqa: PLC0415
    from ._process import complain, unexpected, usage_line  # noqa: PLC0415
    from ._text import one_line  # noqa: PLC0415

    state = State()
    try:
        code = cli.main(
            args=args,
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
