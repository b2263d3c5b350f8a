"""The ``sagemaker-watch`` command: watch, wait, demo and simulate (click and rich).

Built on the library's public API; it never imports botocore. ``run()`` is the console
script's entry point and ``main(argv)`` returns the exit status instead of exiting.

Modules: ``_commands`` (the commands and their options), ``_follow`` (jobs on one
fleet, to their ends), ``_problems`` (errors as one line and an exit code),
``_process`` (event loop, stderr, endings), ``_render`` (the views),
``_text`` (their words, made safe for a terminal), ``_main``.
"""

from ._main import main, run

__all__ = ["main", "run"]
