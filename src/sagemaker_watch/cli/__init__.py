"""The ``sagemaker-watch`` command: watch, wait, demo and simulate (click and rich).

Built on the public API only; it never imports botocore. ``run()`` is the console
script's entry point and ``main(argv)`` returns the exit status instead of exiting.
"""

from ._commands import main, run

__all__ = ["main", "run"]
