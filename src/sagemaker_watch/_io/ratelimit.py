"""The shared rate budget: a token bucket per operation that shrinks on throttles.

Each operation (``DescribeTrainingJob``, ``ListTrainingJobs``) gets a token bucket
refilled on the injected clock. Its rate adapts AIMD-style, as TCP does: a
throttling answer halves it (at most once per cool-down, so a burst of throttled
answers to requests already in flight counts once), and every clean answer adds
back a share of the ceiling in proportion to the time elapsed, so the full rate
returns within ``recovery`` seconds of the last throttle. The rate never drops
below ``ceiling / 16``, so a job is never starved forever.

The arithmetic (``TokenBucket``, ``AdaptiveRate``) is pure and takes the time as an
argument; ``RateBudget`` binds it to a ``Clock``.
"""

from __future__ import annotations

import dataclasses
import math
from types import MappingProxyType
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .clock import Clock


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rate:
    """A budget for one operation: a sustained rate and a burst.

    Attributes:
        per_second: requests per second, sustained (the AIMD ceiling).
        burst: requests allowed at once from a full bucket (at least 1).

    Raises:
        ValueError: if *per_second* is not positive and finite or *burst* below 1.
    """

    per_second: float
    burst: float = 1.0

    def __post_init__(self) -> None:
        """Check the settings."""
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            msg = f"per_second must be positive and finite, not {self.per_second!r}"
            raise ValueError(msg)
        if not (math.isfinite(self.burst) and self.burst >= 1):
            msg = f"burst must be finite and at least 1, not {self.burst!r}"
            raise ValueError(msg)


#: Slack for float rounding: a token this close to whole counts as whole, so that
#: sleeping exactly the delay returned always makes a token available.
_EPSILON = 1e-6


class TokenBucket:
    """A token bucket on explicit time: *rate* tokens per second, *burst* at most.

    Pure: every method takes the current time (seconds on a monotonic clock).
    """

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, *, rate: float, burst: float, now: float) -> None:
        """Start full at time *now*."""
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last = now

    def __repr__(self) -> str:
        """Return a short description."""
        return f"TokenBucket(rate={self.rate:g}, tokens={self._tokens:.2f})"

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(
                self.burst, self._tokens + (now - self._last) * self.rate
            )
            self._last = now

    def delay(self, now: float) -> float:
        """Return the seconds until a token is available (0 if one is now)."""
        self._refill(now)
        if self._tokens >= 1 - _EPSILON:
            return 0.0
        return (1 - self._tokens) / self.rate

    def try_take(self, now: float) -> bool:
        """Take a token if one is available at *now*; return whether it was taken."""
        if self.delay(now) > 0:
            return False
        self._tokens -= 1
        return True

    def set_rate(self, rate: float, now: float) -> None:
        """Change the refill rate from *now* on; tokens so far accrue at the old one."""
        self._refill(now)
        self.rate = rate


class AdaptiveRate:
    """AIMD: halve the rate on a throttle, climb back linearly while answers are clean.

    Pure: every method takes the current time.

    Args:
        ceiling: the configured rate, never exceeded.
        now: the current time.
        decrease: the factor applied on a throttle (0.5).
        recovery: seconds of clean answers to climb from the floor to the ceiling.
        floor_fraction: the floor as a fraction of the ceiling (1/16).
    """

    __slots__ = (
        "_cooldown_until",
        "_last",
        "ceiling",
        "current",
        "decrease",
        "floor",
        "recovery",
    )

    def __init__(
        self,
        *,
        ceiling: float,
        now: float,
        decrease: float = 0.5,
        recovery: float = 60.0,
        floor_fraction: float = 1 / 16,
    ) -> None:
        """Start at the ceiling."""
        self.ceiling = ceiling
        self.current = ceiling
        self.decrease = decrease
        self.recovery = recovery
        self.floor = ceiling * floor_fraction
        self._last = now
        self._cooldown_until = -math.inf

    def __repr__(self) -> str:
        """Return a short description."""
        return f"AdaptiveRate(current={self.current:g}, ceiling={self.ceiling:g})"

    def throttled(self, now: float) -> bool:
        """Record a throttle at *now*; return whether the rate was lowered.

        Throttles within one cool-down (the longer of one second and two request
        intervals at the new rate) count once: they answer requests sent before
        the rate came down.
        """
        self._last = max(self._last, now)
        if now < self._cooldown_until:
            return False
        self.current = max(self.floor, self.current * self.decrease)
        self._cooldown_until = now + max(1.0, 2.0 / self.current)
        return True

    def succeeded(self, now: float) -> None:
        """Record a clean answer at *now*: climb back toward the ceiling."""
        if now > self._last:
            step = (now - self._last) * (self.ceiling - self.floor) / self.recovery
            self.current = min(self.ceiling, self.current + step)
            self._last = now


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OperationBudget:
    """The state of one operation's budget.

    Attributes:
        rate: the current rate, requests per second (lowered after throttles).
        ceiling: the configured rate.
        taken: tokens handed out so far.
        throttles: throttling answers reported.
    """

    rate: float
    ceiling: float
    taken: int
    throttles: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BudgetStatistics:
    """A ``RateBudget``'s state, per operation."""

    operations: Mapping[str, OperationBudget]


class _Operation:
    __slots__ = ("adaptive", "bucket", "taken", "throttles")

    def __init__(self, rate: Rate, now: float) -> None:
        self.bucket = TokenBucket(rate=rate.per_second, burst=rate.burst, now=now)
        self.adaptive = AdaptiveRate(ceiling=rate.per_second, now=now)
        self.taken = 0
        self.throttles = 0


class RateBudget:
    """Token buckets per operation on one clock, adapted by AIMD.

    An operation without a configured rate is not limited.

    Args:
        rates: the budget of each operation, by operation name.
        clock: the source of time.
    """

    def __init__(self, rates: Mapping[str, Rate], *, clock: Clock) -> None:
        """Start every bucket full."""
        self._clock = clock
        now = clock.monotonic()
        self._ops = {name: _Operation(rate, now) for name, rate in rates.items()}
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        """Return a short description: the current rates."""
        rates = ", ".join(
            f"{name}={op.bucket.rate:g}/s" for name, op in self._ops.items()
        )
        return f"RateBudget({rates})"

    def delay(self, operation: str) -> float:
        """Return the seconds until *operation* may be sent (0 if now)."""
        op = self._ops.get(operation)
        return 0.0 if op is None else op.bucket.delay(self._clock.monotonic())

    def try_take(self, operation: str) -> bool:
        """Take a token for *operation* if one is available now."""
        op = self._ops.get(operation)
        if op is None:
            return True
        if op.bucket.try_take(self._clock.monotonic()):
            op.taken += 1
            return True
        return False

    async def acquire(self, operation: str) -> None:
        """Wait until *operation* may be sent, and take the token (waits).

        Waiters queue one at a time, so only one sleeps on the clock at once.
        """
        async with self._lock:
            while not self.try_take(operation):
                await self._clock.sleep(self.delay(operation))

    def throttled(self, operation: str) -> None:
        """Report a throttling answer: the rate may come down."""
        op = self._ops.get(operation)
        if op is None:
            return
        now = self._clock.monotonic()
        op.throttles += 1
        if op.adaptive.throttled(now):
            op.bucket.set_rate(op.adaptive.current, now)

    def succeeded(self, operation: str) -> None:
        """Report a clean answer: the rate climbs back toward its ceiling."""
        op = self._ops.get(operation)
        if op is None:
            return
        now = self._clock.monotonic()
        op.adaptive.succeeded(now)
        if op.bucket.rate != op.adaptive.current:
            op.bucket.set_rate(op.adaptive.current, now)

    def rate(self, operation: str) -> float:
        """Return *operation*'s current rate (``inf`` if it is not limited)."""
        op = self._ops.get(operation)
        return math.inf if op is None else op.bucket.rate

    def statistics(self) -> BudgetStatistics:
        """Return the current rates and counters."""
        return BudgetStatistics(
            operations=MappingProxyType(
                {
                    name: OperationBudget(
                        rate=op.bucket.rate,
                        ceiling=op.adaptive.ceiling,
                        taken=op.taken,
                        throttles=op.throttles,
                    )
                    for name, op in self._ops.items()
                }
            )
        )
