"""The fleet's waiters: a job's end or a status, within a time on the fleet's clock.

A waiter never polls: it waits on the job's ``done`` event (or its own
``StatusWaiter``) that the scheduler sets from the job's answers. A time limit
is a deadline in the fleet's ``Timeouts``, which the scheduler fires from its one
loop, so a hand-driven clock sees a single sleeper however many wait.
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel

from .._core.planner import EPSILON
from .._errors import (
    SageMakerWatchError,
    StatusNotReached,
    UsageError,
    WaitTimeout,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._core.snapshot import Snapshot
    from .._core.status import SecondaryStatus
    from .._io.clock import Clock
    from ._fleet_jobs import Job


class StatusWaiter:
    """One ``wait_for_status`` call: the statuses wanted and the snapshot found."""

    __slots__ = ("found", "wake", "wanted")

    def __init__(self, wanted: frozenset[SecondaryStatus]) -> None:
        """Wait for any of *wanted*."""
        self.wanted = wanted
        self.found: Snapshot | None = None
        self.wake = anyio.Event()


class Nap:
    """A loop's sleep on the clock that a poke cuts short (the fleet's loops').

    A poke while the loop is awake makes its next sleep a mere checkpoint,
    so nothing that changed is slept through.
    """

    __slots__ = ("_clock", "_poked", "_scope")

    def __init__(self, clock: Clock) -> None:
        """Sleep on *clock*."""
        self._clock = clock
        self._poked = False
        self._scope: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Nap(poked={self._poked}, asleep={self._scope is not None})"

    def poke(self) -> None:
        """Wake the loop: something changed."""
        self._poked = True
        if self._scope is not None:
            self._scope.cancel()

    async def sleep(self, delay: float | None) -> None:
        """Sleep *delay* seconds (``None``: until poked), unless poked meanwhile."""
        if self._poked:
            self._poked = False
            await anyio.lowlevel.checkpoint()
            return
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                if delay is None:
                    await anyio.sleep_forever()
                else:
                    await self._clock.sleep(delay)
            finally:
                self._scope = None
        self._poked = False


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


class Waiters:
    """What a fleet's waiters share: its clock, its deadlines, its scheduler."""

    __slots__ = ("_clock", "_poke", "_running", "_timeouts")

    def __init__(
        self,
        *,
        clock: Clock,
        timeouts: Timeouts,
        poke: Callable[[], None],
        running: Callable[[], bool],
    ) -> None:
        """Wait on *clock*, with deadlines in *timeouts* (*poke* wakes the scheduler).

        *running* tells whether the fleet still runs: a waiter woken without an
        outcome raises ``UsageError`` once it is closed, else ``WaitTimeout``.
        """
        self._clock = clock
        self._timeouts = timeouts
        self._poke = poke
        self._running = running

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Waiters({self._timeouts!r})"

    async def terminal(self, job: Job, limit: float | None) -> Snapshot:
        """Wait until *job* ended, *limit* seconds at most; return its final snapshot.

        Raises:
            SageMakerWatchError: why there is none (``WaitTimeout``, the job's
                loss, ``UsageError`` once the fleet closed).
        """
        if job.outcome is None:
            await self._wait_for(job.done, limit)
        return self._final(job, limit)

    async def status(
        self, job: Job, wanted: frozenset[SecondaryStatus], limit: float | None
    ) -> Snapshot:
        """Wait until *job* entered one of *wanted*; return the snapshot showing it.

        A status already in the job's history counts; a job that ended without
        entering one raises its outcome, or ``StatusNotReached``.
        """
        seen = job.last
        if seen is not None and any(t.status in wanted for t in seen.transitions):
            return seen
        waiter = StatusWaiter(wanted)
        if job.outcome is None:
            job.status_waiters.append(waiter)
            try:
                await self._wait_for(waiter.wake, limit)
            finally:
                job.status_waiters.remove(waiter)
        if waiter.found is not None:
            return waiter.found
        # Failed or Stopped raise here; Completed without the status comes back.
        snapshot = self._final(job, limit).raise_for_outcome()
        raise StatusNotReached(snapshot, wanted=sorted(wanted))

    def _final(self, job: Job, limit: float | None) -> Snapshot:
        """Return the job's final snapshot, or raise why there is none."""
        outcome = job.outcome
        if outcome is None:
            if not self._running():
                msg = "the FleetWatcher was closed"
                raise UsageError(msg)
            raise WaitTimeout(job.name, timeout=limit or 0.0, snapshot=job.last)
        if isinstance(outcome, SageMakerWatchError):
            raise outcome
        return outcome

    async def _wait_for(self, done: anyio.Event, limit: float | None) -> None:
        if limit is None:
            await done.wait()
            return
        timeout = self._timeouts.add(self._clock.monotonic() + limit)
        self._poke()
        async with anyio.create_task_group() as tg:

            async def on_done() -> None:
                await done.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(on_done)
            await timeout.wait()
            tg.cancel_scope.cancel()
