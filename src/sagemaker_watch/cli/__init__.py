"""The ``sagemaker-watch`` command: watch, wait, logs, demo, simulate (click and rich).

Built on the library's public API; it never imports botocore. ``run()`` is the console
script's entry point and ``main(argv)`` returns the exit status instead of exiting.

Modules: ``_commands`` (the command group and its commands), ``_logs_command``
(``logs``), ``_options`` (the options of watch, wait and logs, checked before any
request), ``_run`` (what those commands run once parsed), ``_follow`` (jobs on one
fleet, to their ends), ``_problems`` (errors as one line and an exit code),
``_process`` (event loop, stderr, endings), ``_render`` (the views),
``_text`` (their words, made safe for a terminal), ``_main``.
"""

from ._main import main, run

__all__ = ["main", "run"]
