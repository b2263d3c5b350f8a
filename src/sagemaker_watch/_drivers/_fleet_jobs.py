"""The fleet's per-job record, its waiters' wake-ups, and the merged event stream.

A ``_Job`` joins what the planner times (``JobTiming``) to the job's
``JobTracker`` (events, retries, grace, the schedule: the same per-job core
``watch()`` drives) and to what the driver keeps for callers: the outcome, the
resume token of the last event, and the waiters to wake.
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING, Final, Self

import anyio

from .._core.events import StatusEntered
from .._core.planner import EPSILON, JobTiming
from .._errors import RetriesExhausted
from .._io.source import CallFailed, ErrorKind

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from anyio.streams.memory import MemoryObjectReceiveStream

    from .._core.events import Event
    from .._core.snapshot import Snapshot
    from .._core.status import SecondaryStatus
    from .._core.tracker import JobTracker
    from .._errors import SageMakerWatchError


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


class StatusWaiter:
    """One ``wait_for_status`` call: the statuses wanted and the snapshot found."""

    __slots__ = ("found", "wake", "wanted")

    def __init__(self, wanted: frozenset[SecondaryStatus]) -> None:
        """Wait for any of *wanted*."""
        self.wanted = wanted
        self.found: Snapshot | None = None
        self.wake = anyio.Event()


class Timeouts:
    """The waiters' deadlines on the fleet's clock, earliest first.

    The fleet's scheduler fires them, so a hand-driven clock sees one sleeper.
    """

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        """Start with none."""
        self._heap: list[tuple[float, int, anyio.Event]] = []
        self._seq = itertools.count()

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Timeouts(pending={len(self._heap)})"

    def add(self, deadline: float) -> anyio.Event:
        """Return an event set once the clock reaches *deadline* (or on close)."""
        wake = anyio.Event()
        heapq.heappush(self._heap, (deadline, next(self._seq), wake))
        return wake

    def next_deadline(self) -> float | None:
        """Return the earliest deadline, ``None`` if there is none."""
        return self._heap[0][0] if self._heap else None

    def fire(self, now: float) -> None:
        """Set every event whose deadline is *now* or earlier."""
        while self._heap and self._heap[0][0] <= now + EPSILON:
            heapq.heappop(self._heap)[2].set()

    def fire_all(self) -> None:
        """Set every event: the fleet closes."""
        for _, _, wake in self._heap:
            wake.set()


class Idle:
    """The marker put in the stream when no job is left to watch."""


IDLE: Final = Idle()


class Events:
    """The merged stream, read from the fleet's memory object stream."""

    def __init__(
        self,
        receive: MemoryObjectReceiveStream[Event | Idle],
        *,
        until_idle: bool,
        watching: Callable[[], int],
    ) -> None:
        """Read *receive*; with *until_idle*, end once ``watching()`` is 0."""
        self._receive = receive
        self._until_idle = until_idle
        self._watching = watching

    def __aiter__(self) -> Self:
        """Return the stream itself."""
        return self

    async def __anext__(self) -> Event:
        """Return the next event; stop when idle (if asked) or closed."""
        while True:
            try:
                item = self._receive.receive_nowait()
            except anyio.WouldBlock:
                if self._until_idle and self._watching() == 0:
                    raise StopAsyncIteration from None
                try:
                    item = await self._receive.receive()
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    raise StopAsyncIteration from None
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                raise StopAsyncIteration from None
            if isinstance(item, Idle):
                continue
            return item


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
