"""The one seam for time: a Clock gives wall time, monotonic time and sleep."""

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

    def __repr__(self) -> str:
        """Return ``SystemClock()``."""
        return "SystemClock()"
