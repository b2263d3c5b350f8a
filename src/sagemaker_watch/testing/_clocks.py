"""Simulated clocks for the fake SageMaker: moved by hand, or compressed real time."""

from __future__ import annotations

import datetime as dt
import time

import anyio
import anyio.lowlevel

#: Where a :class:`ManualClock` begins unless told otherwise: a fixed UTC instant, so
#: that tests on it repeat exactly (and their expected timestamps can be written).
DEFAULT_START = dt.datetime(2024, 5, 6, 9, 30, tzinfo=dt.UTC)


def _aware(start: dt.datetime | None, default: dt.datetime) -> dt.datetime:
    if start is None:
        return default
    if start.tzinfo is None:
        raise ValueError("start must be a timezone-aware datetime")
    return start.astimezone(dt.UTC)


class ManualClock:
    """A clock that moves only when told to: by :meth:`advance`, or by :meth:`sleep`.

    ``sleep(d)`` advances the clock by *d* simulated seconds and then yields to the
    event loop once, so a single watcher drives time deterministically ("autojump").
    Several tasks sleeping at once each advance the clock by their own delay; for
    many concurrent sleepers prefer :class:`ScaledClock` or call :meth:`advance`.

    Satisfies ``sagemaker_watch``'s ``Clock`` protocol.
    """

    __slots__ = ("_elapsed", "_start", "_start_ts")

    def __init__(self, start: dt.datetime | None = None) -> None:
        """Start the clock at *start* (timezone-aware), or at a fixed instant.

        Without *start* the clock reads :data:`DEFAULT_START` (2024-05-06 09:30 UTC),
        not the real time: tests on a manual clock then see the same timestamps on
        every run. Pass ``start=datetime.now(UTC)`` for realistic dates.

        Args:
            start: The simulated wall time at which the clock starts.

        Raises:
            ValueError: If *start* is naive.
        """
        self._start = _aware(start, DEFAULT_START)
        self._start_ts = self._start.timestamp()
        self._elapsed = 0.0

    def timestamp(self) -> float:
        """Return the simulated time as POSIX seconds."""
        return self._start_ts + self._elapsed

    def now(self) -> dt.datetime:
        """Return the simulated wall time, timezone-aware UTC."""
        return self._start + dt.timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        """Return simulated seconds since the clock started."""
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move the clock forward by *seconds*.

        Raises:
            ValueError: If *seconds* is negative.
        """
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        """Advance the clock by *seconds* (negative counts as 0), then yield once."""
        self._elapsed += max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        """Return ``ManualClock(now=...)``."""
        return f"ManualClock(now={self.now().isoformat()})"


class ScaledClock:
    """Compressed real time: simulated time runs *speed* times faster than real time.

    ``sleep(d)`` waits ``d / speed`` real seconds. Satisfies ``sagemaker_watch``'s
    ``Clock`` protocol.
    """

    __slots__ = ("_origin", "_speed", "_start", "_start_ts")

    def __init__(self, *, speed: float = 1.0, start: dt.datetime | None = None) -> None:
        """Start the clock now, reading *start* (timezone-aware) at this instant.

        Args:
            speed: Simulated seconds per real second; must be positive.
            start: The simulated wall time at which the clock starts; by default
                the real current time, as a live service's timestamps are.

        Raises:
            ValueError: If *speed* is not positive or *start* is naive.
        """
        if not speed > 0:
            raise ValueError("speed must be positive")
        self._speed = float(speed)
        self._start = _aware(start, dt.datetime.now(dt.UTC))
        self._start_ts = self._start.timestamp()
        self._origin = time.monotonic()

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def monotonic(self) -> float:
        """Return simulated seconds since the clock started."""
        return (time.monotonic() - self._origin) * self._speed

    def timestamp(self) -> float:
        """Return the simulated time as POSIX seconds."""
        return self._start_ts + self.monotonic()

    def now(self) -> dt.datetime:
        """Return the simulated wall time, timezone-aware UTC."""
        return self._start + dt.timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        """Sleep *seconds* of simulated time: ``seconds / speed`` real seconds."""
        await anyio.sleep(max(seconds, 0.0) / self._speed)

    def __repr__(self) -> str:
        """Return ``ScaledClock(speed=..., now=...)``."""
        return f"ScaledClock(speed={self._speed:g}, now={self.now().isoformat()})"


SimulatedClock = ManualClock | ScaledClock
