"""Watch SageMaker training jobs from plain Python: scripts, notebooks, threads.

The waiters and the events of ``sagemaker_watch``, without ``async``::

    from sagemaker_watch import blocking

    snapshot = blocking.wait_until_complete("my-job")  # raises TrainingJobFailed

    with blocking.watch("my-job") as events:
        for event in events:
            print(event.to_json())

Each function takes the async one's arguments, returns the same values and
raises the same errors: it runs the async engine, on an event loop of its own in
a private thread, so it works where no loop runs (a script), where one already
runs in the calling thread (a notebook cell, where ``asyncio.run`` cannot; the
cell waits, and so does its loop), and from many threads at once (each call
independent: its own loop, its own client). Ctrl-C cancels the wait, closes the
client and raises ``KeyboardInterrupt`` in the calling thread, at once; inside
``asyncio.run()``, whose first Ctrl-C cancels the main task, that cancellation
ends the call too (``CancelledError``, which ``asyncio.run`` turns into
``KeyboardInterrupt``).

There is no *client* argument: an aiobotocore client belongs to the event loop
that opened it, which is not the one the call runs on. Each call opens its own
client from *region*, *profile*, *endpoint_url* and the standard chain (about
0.2 s, as the async API without a client) and closes it before returning. For
many jobs at once, one client and one rate budget, use the async API and
``FleetWatcher``.
"""

from __future__ import annotations

from ._drivers.blocking import (
    Watch,
    wait_for_status,
    wait_until_complete,
    wait_until_terminal,
    watch,
)

__all__ = [
    "Watch",
    "wait_for_status",
    "wait_until_complete",
    "wait_until_terminal",
    "watch",
]
