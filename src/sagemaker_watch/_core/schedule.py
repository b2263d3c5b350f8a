"""The poll schedule: how long to wait before the next DescribeTrainingJob (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .status import SHORT_PHASES

if TYPE_CHECKING:
    import random

    from .status import SecondaryStatus

#: The shortest delay a schedule accepts, in seconds. A DescribeTrainingJob round
#: trip takes tens of milliseconds, so anything shorter only spins; 10 ms still
#: lets compressed-time tests (the CLI's use 50 ms) run quickly.
MIN_DELAY_FLOOR: Final = 0.01


@dataclass(frozen=True, slots=True, kw_only=True)
class PollSchedule:
    """When to poll: exponential backoff with jitter, reset by every change.

    The delay before poll *n* after the last change follows Smithy's waiter rule,
    ``cap = min(ceiling, min_delay * multiplier ** (n - 1))``, then jitter draws it
    uniformly from ``[cap - jitter * (cap - min_delay), cap]``: ``jitter=1`` is
    Smithy's full range ``[min_delay, cap]``, ``jitter=0`` no randomness. The
    ceiling is ``short_phase_max_delay`` in phases that last minutes (Starting,
    Downloading, Uploading, Stopping, ...; see ``SHORT_PHASES``) and before any
    secondary status is known, ``max_delay`` otherwise (Training, unknown new
    statuses). After a throttling error the delay is stretched by
    ``throttle_multiplier`` per consecutive throttled poll, up to
    ``throttle_max_delay``, and relaxes one step per unthrottled poll.

    What the defaults cost, for one job (``tests/test_schedule.py`` checks these
    figures by simulation): in a long Training phase the ceiling is 60 s and the
    delay is uniform in [31, 60] s (mean 45.5 s), about **79 calls per hour**
    (a fixed 60 s poller makes 60, the SageMaker Python SDK's 5 s poller 720).
    A change in such a phase is noticed **23.5 s** later on average (a fixed 60 s
    poller: 30 s). Completion normally follows an Uploading phase, where the
    ceiling is 10 s: once Uploading has been seen, completion is noticed within
    10 s (about 4 s on average). After a change the caps are 2, 4, 8 s, then the
    phase's ceiling. Smithy-style full jitter (``jitter=1.0``) would cost
    about 116 calls per hour to notice changes 3.5 s sooner.

    Attributes:
        min_delay: the floor, and the first delay after a change (2 s).
        max_delay: the ceiling in long phases such as Training (60 s).
        short_phase_max_delay: the ceiling in short phases (10 s).
        multiplier: the growth factor per unchanged poll (2).
        jitter: the fraction of ``[min_delay, cap]`` drawn from (0.5): enough to
            keep many watchers from polling in lockstep, while keeping most of
            the backoff's saving.
        throttle_multiplier: the stretch per consecutive throttled poll (2).
        throttle_max_delay: the most a throttled poll waits (300 s).

    Raises:
        ValueError: if a delay is not finite or is below ``MIN_DELAY_FLOOR``
            (10 ms: shorter delays poll in a tight loop), if *min_delay* exceeds
            *max_delay*, if a multiplier is below 1 or *jitter* is outside
            ``[0, 1]``. *short_phase_max_delay* is clamped into
            ``[min_delay, max_delay]`` and *throttle_max_delay* raised to at least
            *max_delay*, so ``PollSchedule(min_delay=30)`` or
            ``PollSchedule(max_delay=5)`` mean what they say.
    """

    min_delay: float = 2.0
    max_delay: float = 60.0
    short_phase_max_delay: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.5
    throttle_multiplier: float = 2.0
    throttle_max_delay: float = 300.0

    def __post_init__(self) -> None:
        """Check the settings."""
        delays = (
            self.min_delay,
            self.short_phase_max_delay,
            self.max_delay,
            self.throttle_max_delay,
        )
        if not all(math.isfinite(d) and d >= MIN_DELAY_FLOOR for d in delays):
            msg = (
                f"delays must be finite and at least {MIN_DELAY_FLOOR} s "
                f"(shorter ones poll in a tight loop): {self!r}"
            )
            raise ValueError(msg)
        if self.min_delay > self.max_delay:
            msg = f"need min_delay <= max_delay: {self!r}"
            raise ValueError(msg)
        # The secondary ceilings follow the two a caller sets most: a schedule
        # with min_delay=30 or max_delay=5 is meant, not a contradiction.
        short = min(max(self.short_phase_max_delay, self.min_delay), self.max_delay)
        object.__setattr__(self, "short_phase_max_delay", short)
        throttle = max(self.throttle_max_delay, self.max_delay)
        object.__setattr__(self, "throttle_max_delay", throttle)
        multipliers = (self.multiplier, self.throttle_multiplier)
        if not all(math.isfinite(m) and m >= 1 for m in multipliers):
            msg = f"multipliers must be finite and at least 1: {self!r}"
            raise ValueError(msg)
        if not 0 <= self.jitter <= 1:
            msg = f"jitter must be between 0 and 1: {self!r}"
            raise ValueError(msg)

    @classmethod
    def fixed(cls, seconds: float) -> PollSchedule:
        """Return a schedule that always waits *seconds*: no growth, jitter or stretch.

        For comparison with other pollers: the SageMaker Python SDK polls every
        5 s, Airflow's operator every 30 s, botocore's ``training_job_completed``
        waiter every 120 s.
        """
        return cls(
            min_delay=seconds,
            max_delay=seconds,
            short_phase_max_delay=seconds,
            multiplier=1.0,
            jitter=0.0,
            throttle_multiplier=1.0,
            throttle_max_delay=seconds,
        )

    def ceiling(self, phase: SecondaryStatus | None) -> float:
        """Return the longest unthrottled delay in *phase*."""
        if phase is None or phase in SHORT_PHASES:
            return self.short_phase_max_delay
        return self.max_delay


@dataclass(frozen=True, slots=True, kw_only=True)
class PollState:
    """What the schedule remembers between polls.

    Attributes:
        attempt: polls since the last change (0 before the first poll).
        throttle_level: consecutive throttled polls, relaxed one per clean poll.
    """

    attempt: int = 0
    throttle_level: int = 0


def next_delay(
    schedule: PollSchedule,
    state: PollState,
    *,
    changed: bool,
    phase: SecondaryStatus | None,
    throttled: bool,
    remaining: float | None,
    rng: random.Random,
) -> tuple[float, PollState]:
    """Return how long to wait before the next poll, and the new state.

    Pure: the only randomness is one draw from *rng*, so a seeded generator gives
    a reproducible schedule.

    Args:
        schedule: the settings.
        state: the state returned by the previous call (``PollState()`` at first).
        changed: whether the last poll produced any event; resets the backoff.
        phase: the current secondary status; short phases get a shorter ceiling.
        throttled: whether the last poll was throttled; stretches the delay.
        remaining: seconds until the caller's deadline, or ``None``; the delay
            never exceeds it (nor goes below 0).
        rng: the random generator for jitter.

    Returns:
        The delay in seconds and the state to pass next time.
    """
    attempt = 1 if changed else state.attempt + 1
    ceiling = schedule.ceiling(phase)
    cap = ceiling
    if schedule.multiplier > 1:
        # Smithy's attemptCeiling: past it the cap is the ceiling (and no overflow).
        steps = math.log(ceiling / schedule.min_delay) / math.log(schedule.multiplier)
        if attempt - 1 <= steps:
            cap = min(
                ceiling, schedule.min_delay * schedule.multiplier ** (attempt - 1)
            )
    else:
        cap = schedule.min_delay
    spread = schedule.jitter * (cap - schedule.min_delay)
    delay = cap - rng.uniform(0.0, spread)

    level = state.throttle_level + 1 if throttled else max(0, state.throttle_level - 1)
    level = min(level, _max_throttle_level(schedule))
    if level:
        stretched = delay * schedule.throttle_multiplier**level
        delay = min(max(stretched, delay), schedule.throttle_max_delay)
    if remaining is not None:
        delay = min(delay, max(0.0, remaining))
    return delay, PollState(attempt=attempt, throttle_level=level)


def _max_throttle_level(schedule: PollSchedule) -> int:
    """The level past which stretching cannot grow the delay any more."""
    if schedule.throttle_multiplier <= 1:
        return 1
    ratio = schedule.throttle_max_delay / schedule.min_delay
    return max(1, math.ceil(math.log(ratio) / math.log(schedule.throttle_multiplier)))
