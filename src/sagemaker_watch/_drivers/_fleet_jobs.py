"""The fleet's per-job record: its timing, its tracker, what its callers wait for.

A ``Job`` joins what the planner times (``JobTiming``) to the job's
``JobTracker`` (events, retries, grace, the schedule: the same per-job core
``watch()`` drives) and to what the driver keeps for callers: the outcome, the
resume token of the last event, and the waiters to wake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from .._core.events import StatusEntered
from .._core.planner import JobTiming
from .._core.tracker import ErrorKind
from .._errors import RetriesExhausted
from .._io.source import CallFailed

if TYPE_CHECKING:
    from collections.abc import Collection

    from .._core.events import Event
    from .._core.snapshot import Snapshot
    from .._core.tracker import JobTracker
    from .._errors import SageMakerWatchError
    from ._fleet_waiters import StatusWaiter


class Job(JobTiming):
    """One watched job: its timing (the planner's), its tracker, its waiters.

    Attributes:
        tracker: the job's per-job core, fed every answer about it.
        token: the resume token of the last event emitted for it.
        outcome: the final snapshot, or the error its waiters raise.
        done: set once the job ended, was lost or removed, or the fleet closed.
        status_waiters: the ``wait_for_status`` calls waiting on it.
    """

    __slots__ = ("done", "outcome", "status_waiters", "token", "tracker")

    def __init__(
        self, tracker: JobTracker, *, added_at: float, token: str | None
    ) -> None:
        """Start a job that is due at once."""
        super().__init__(tracker.job_name, added_at)
        self.tracker = tracker
        self.token = token
        self.outcome: Snapshot | SageMakerWatchError | None = None
        self.done = anyio.Event()
        self.status_waiters: list[StatusWaiter] = []

    @property
    def last(self) -> Snapshot | None:
        """The job's last snapshot, ``None`` before the first."""
        return self.tracker.last_snapshot

    def release(self) -> None:
        """Wake every waiter: the job ended, was lost or removed, or the fleet shut."""
        self.done.set()
        for waiter in self.status_waiters:
            waiter.wake.set()

    def entered(self, events: Collection[Event]) -> None:
        """Resolve the status waiters whose status one of *events* entered."""
        for event in events:
            if not isinstance(event, StatusEntered):
                continue
            for waiter in self.status_waiters:
                if waiter.found is None and event.status in waiter.wanted:
                    waiter.found = event.snapshot
                    waiter.wake.set()


def unreadable(error: Exception, job_name: str | None) -> CallFailed:
    """Classify an answer that could not be handled as a transient failure.

    Only the exception's type is kept in the message: its text may quote the body.
    """
    code = type(error).__name__
    failure = RetriesExhausted(
        f"gave up after retries: an answer that could not be read ({code})",
        job_name=job_name,
        code=code,
    )
    failure.__cause__ = error
    return CallFailed(kind=ErrorKind.TRANSIENT, error=failure)
