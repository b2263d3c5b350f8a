"""Simulated clocks for the fake SageMaker: moved by hand, or compressed real time."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import math
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


class _Sleeper:
    """One task asleep on a :class:`ManualClock` until its absolute deadline."""

    __slots__ = ("deadline", "event", "gone", "woken")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.event = anyio.Event()
        self.woken = False
        self.gone = False


class ManualClock:
    """A clock that moves only when told to: by :meth:`advance`, or by autojump.

    Modelled on trio's ``MockClock``: ``sleep(d)`` registers the absolute deadline
    ``now + d`` and returns when the clock reaches it, so concurrent sleepers of 5
    and 7 seconds end at ``t+5`` and ``t+7``. :meth:`advance` wakes every sleeper
    whose deadline it passes, earliest first. With autojump (the default), once
    the event loop has had nothing to run for *autojump_threshold* real seconds
    while someone sleeps, the clock jumps to the earliest deadline: a watcher, the
    fleet or the waiters run through simulated hours in a blink, deterministically.

    Requests in flight over loopback keep the loop busy (the fake SageMaker
    answers on the same loop), so the clock never jumps in the middle of one;
    nor while asyncio's executor threads (``to_thread``) work for a task. Other
    threads and remote hosts are invisible to the loop: raise the threshold above
    their latency, or set it to ``math.inf`` and call :meth:`advance` by hand.
    Real-time sleeps elsewhere (``anyio.sleep``) are waits, not work.

    Satisfies ``sagemaker_watch``'s ``Clock`` protocol.
    """

    __slots__ = (
        "_autojump_threshold",
        "_elapsed",
        "_jumper",
        "_sleepers",
        "_start",
        "_start_ts",
        "_tick",
    )

    def __init__(
        self, start: dt.datetime | None = None, *, autojump_threshold: float = 0.0
    ) -> None:
        """Start the clock at *start* (timezone-aware), or at a fixed instant.

        Without *start* the clock reads :data:`DEFAULT_START` (2024-05-06 09:30 UTC),
        not the real time: tests on a manual clock then see the same timestamps on
        every run. Pass ``start=datetime.now(UTC)`` for realistic dates.

        Args:
            start: The simulated wall time at which the clock starts.
            autojump_threshold: Real seconds the event loop must stay idle, with
                someone asleep, before the clock jumps to the earliest deadline;
                ``math.inf`` turns autojump off (only :meth:`advance` moves it).

        Raises:
            ValueError: If *start* is naive or the threshold is negative.
        """
        self._start = _aware(start, DEFAULT_START)
        self._start_ts = self._start.timestamp()
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, _Sleeper]] = []
        self._tick = itertools.count()
        self._jumper: _Sleeper | None = None
        self._autojump_threshold = 0.0
        self.autojump_threshold = autojump_threshold

    @property
    def autojump_threshold(self) -> float:
        """Real seconds of an idle event loop before the clock jumps (inf: never)."""
        return self._autojump_threshold

    @autojump_threshold.setter
    def autojump_threshold(self, seconds: float) -> None:
        if not seconds >= 0:
            msg = f"autojump_threshold must be >= 0, not {seconds!r}"
            raise ValueError(msg)
        self._autojump_threshold = float(seconds)
        self._call_jumper()

    def timestamp(self) -> float:
        """Return the simulated time as POSIX seconds."""
        return self._start_ts + self._elapsed

    def now(self) -> dt.datetime:
        """Return the simulated wall time, timezone-aware UTC."""
        return self._start + dt.timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        """Return simulated seconds since the clock started."""
        return self._elapsed

    def deadline_remaining(self) -> float:
        """Return ``math.inf``: real-time cancel scopes say nothing of this clock."""
        return math.inf

    def advance(self, seconds: float) -> None:
        """Move the clock forward by *seconds*, waking the sleepers it passes.

        Sleepers wake in the order of their deadlines (then of their calls).

        Raises:
            ValueError: If *seconds* is negative.
        """
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._elapsed += seconds
        self._wake_due()

    async def sleep(self, seconds: float) -> None:
        """Return when the clock reaches ``now + seconds`` (a checkpoint for <= 0).

        The sleep can be cancelled; a cancelled sleep leaves no deadline behind.
        """
        if not seconds > 0:
            await anyio.lowlevel.checkpoint()
            return
        sleeper = _Sleeper(self._elapsed + seconds)
        heapq.heappush(self._sleepers, (sleeper.deadline, next(self._tick), sleeper))
        try:
            while not sleeper.woken:
                if self._jumper is None and math.isfinite(self._autojump_threshold):
                    await self._jump_while_asleep(sleeper)
                else:
                    await sleeper.event.wait()
                    if not sleeper.woken:
                        sleeper.event = anyio.Event()
        finally:
            sleeper.gone = True

    def _wake_due(self) -> None:
        while self._sleepers and (
            self._sleepers[0][2].gone or self._sleepers[0][0] <= self._elapsed
        ):
            _, _, sleeper = heapq.heappop(self._sleepers)
            if not sleeper.gone:
                sleeper.woken = True
                sleeper.event.set()

    def _call_jumper(self) -> None:
        """Ask the earliest sleeper to take over the jumping, if nobody does."""
        if self._jumper is not None or not math.isfinite(self._autojump_threshold):
            return
        for _, _, sleeper in sorted(self._sleepers):
            if not sleeper.gone and not sleeper.woken:
                sleeper.event.set()
                return

    async def _jump_while_asleep(self, sleeper: _Sleeper) -> None:
        """Be the one sleeper that jumps the clock whenever the loop goes idle."""
        self._jumper = sleeper
        try:
            while not sleeper.woken:
                if not math.isfinite(self._autojump_threshold):
                    await sleeper.event.wait()
                elif await _idle_for(self._autojump_threshold, sleeper.event):
                    self._jump()
        finally:
            self._jumper = None
            self._call_jumper()

    def _jump(self) -> None:
        while self._sleepers and self._sleepers[0][2].gone:
            heapq.heappop(self._sleepers)
        if self._sleepers:
            self._elapsed = max(self._elapsed, self._sleepers[0][0])
            self._wake_due()

    def __repr__(self) -> str:
        """Return ``ManualClock(now=...)``."""
        return f"ManualClock(now={self.now().isoformat()})"


#: How long the jumper waits, in real seconds, before looking again at a busy loop.
_BUSY_NAP = 1e-4


async def _idle_for(threshold: float, woken: anyio.Event) -> bool:
    """Return whether the event loop had nothing to run for *threshold* seconds.

    Returns ``False`` early when *woken* is set. On trio this is trio's own
    ``wait_all_tasks_blocked``; on asyncio, every other task must wait on the
    same unfinished future across passes of the loop (and *threshold*).
    """
    try:
        asyncio.current_task()
    except RuntimeError:  # no asyncio loop: trio
        import trio.testing  # noqa: PLC0415 - only ever needed under trio

        await trio.testing.wait_all_tasks_blocked(cushion=threshold)
        return not woken.is_set()
    before = await _settled_waits()
    if before is not None and threshold > 0:
        with anyio.move_on_after(threshold):
            await woken.wait()
        after = None if woken.is_set() else await _settled_waits()
        if after is None or _ids(after) != _ids(before):
            before = None
    if before is None and not woken.is_set():
        with anyio.move_on_after(_BUSY_NAP):
            await woken.wait()
        return False
    return not woken.is_set()


async def _settled_waits() -> list[tuple[object, object]] | None:
    """The other tasks' waits, unchanged over two passes of the loop, or ``None``.

    Each pass polls for I/O, and a task woken by it shows as runnable by the
    second look; so an answer already on a loopback socket is never missed.
    """
    await anyio.lowlevel.checkpoint()
    first = _asyncio_waits()
    await anyio.lowlevel.checkpoint()
    await anyio.lowlevel.checkpoint()
    second = _asyncio_waits()
    if first is None or second is None or _ids(first) != _ids(second):
        return None
    return second


def _in_a_thread(waiter: asyncio.Future[object]) -> bool:
    """Whether *waiter* stands for work in an executor thread (``to_thread``).

    asyncio chains such a future to the thread's with ``_chain_future``: the loop
    is not idle while the thread works (aiobotocore builds its SSL contexts so).
    """
    callbacks = getattr(waiter, "_callbacks", None) or ()
    return any(
        "_chain_future" in getattr(callback, "__qualname__", "")
        for callback, *_ in callbacks
    )


def _ids(waits: list[tuple[object, object]]) -> set[tuple[int, int]]:
    return {(id(task), id(waiter)) for task, waiter in waits}


def _asyncio_waits() -> list[tuple[object, object]] | None:
    """Each other task with the future it waits on; ``None`` if one can run."""
    me = asyncio.current_task()
    waits: list[tuple[object, object]] = []
    for task in asyncio.all_tasks():
        if task is me:
            continue
        # The future a task is blocked on: private, but what anyio reads as well.
        waiter: asyncio.Future[object] | None = getattr(task, "_fut_waiter", None)
        if waiter is None or waiter.done() or _in_a_thread(waiter):
            return None
        waits.append((task, waiter))
    return waits


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

    def deadline_remaining(self) -> float:
        """Return ``math.inf``: real-time cancel scopes are not read on this clock."""
        return math.inf

    async def sleep(self, seconds: float) -> None:
        """Sleep *seconds* of simulated time: ``seconds / speed`` real seconds."""
        await anyio.sleep(max(seconds, 0.0) / self._speed)

    def __repr__(self) -> str:
        """Return ``ScaledClock(speed=..., now=...)``."""
        return f"ScaledClock(speed={self._speed:g}, now={self.now().isoformat()})"


SimulatedClock = ManualClock | ScaledClock
