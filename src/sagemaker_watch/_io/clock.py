"""The one seam for time: wall time, monotonic time, sleep and the caller's deadline."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol, runtime_checkable

import anyio


@runtime_checkable
class Clock(Protocol):
    """What the poll loop, the waiters and the fleet need of time.

    The fake SageMaker offers clocks that compress time or advance by hand, so that
    an hour-long job is watched in a second, deterministically.
    """

    def now(self) -> dt.datetime:
        """Return the current wall time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Return seconds on a monotonic clock."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep *seconds* of this clock's time (a checkpoint even for 0)."""
        ...

    def deadline_remaining(self) -> float:
        """Return this clock's seconds left before the caller's cancel-scope deadline.

        ``math.inf`` when no deadline applies, or when anyio's (real-time) cancel
        scopes say nothing about this clock's time, as for simulated clocks. Called
        from within a task.
        """
        ...


class SystemClock:
    """The real clock: ``datetime.now(UTC)``, ``time.monotonic`` and ``anyio.sleep``."""

    def now(self) -> dt.datetime:
        """Return the current wall time, timezone-aware UTC."""
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep with ``anyio.sleep``."""
        await anyio.sleep(seconds)

    def deadline_remaining(self) -> float:
        """Return the seconds left in the caller's anyio cancel scopes (or inf)."""
        return anyio.current_effective_deadline() - anyio.current_time()

    def __repr__(self) -> str:
        """Return ``SystemClock()``."""
        return "SystemClock()"
