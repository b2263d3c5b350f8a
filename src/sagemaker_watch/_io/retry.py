"""The one retry policy: bounded, jittered retries of transient errors, via tenacity.

This is the only module that imports tenacity; no tenacity type or error leaves it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, TypeVar

import anyio
import tenacity

if TYPE_CHECKING:
    import random
    from collections.abc import Awaitable, Callable

    from .clock import Clock

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How one poll retries transient errors before giving up.

    Transient errors are throttling, 5xx answers, dropped connections, timeouts and
    malformed bodies. Waits grow exponentially from *initial_delay* to *max_delay*
    with full jitter; a poll gives up after *max_attempts* attempts or once
    *max_elapsed* seconds have passed since its first attempt, whichever comes first.
    Each attempt is cut after *attempt_timeout* seconds of real time (a body
    trickled byte by byte would otherwise hold it forever) and counts as transient.
    No wait reaches past *max_elapsed*, so on a real clock a poll that keeps failing
    ends within *max_elapsed* + *attempt_timeout* seconds.

    The defaults ride out about fifteen minutes of continuous failure (a throttling
    storm or a regional hiccup) without giving up on a job that may train for days,
    while an unreachable endpoint still fails within that bound.

    Args:
        max_attempts: attempts per poll, including the first (an ``int`` >= 1);
            ``None`` for no limit.
        max_elapsed: seconds from the first attempt after which no retry starts;
            ``None`` (or ``math.inf``) for no limit. One of *max_attempts* and
            *max_elapsed* must be bounded.
        initial_delay: the first wait's ceiling, in seconds.
        max_delay: the ceiling of any single wait, in seconds.
        not_found_grace: how long "not found" is retried for a job never seen yet,
            in seconds (a job is not always visible right after it was created).
        attempt_timeout: the real-time bound of one attempt, in seconds (finite,
            > 0); an attempt still running then is abandoned and retried.

    Raises:
        ValueError: a setting that never stops, never waits, or is not a number.
    """

    max_attempts: int | None = 60
    max_elapsed: float | None = 900.0
    initial_delay: float = 1.0
    max_delay: float = 30.0
    not_found_grace: float = 30.0
    attempt_timeout: float = 60.0

    def __post_init__(self) -> None:
        """Reject settings that would never stop, never wait, or are not numbers."""
        attempts = self.max_attempts
        if attempts is not None and (
            isinstance(attempts, bool) or not isinstance(attempts, int)
        ):
            msg = f"max_attempts must be an int >= 1 or None, not {attempts!r}"
            raise ValueError(msg)
        if attempts is not None and attempts < 1:
            msg = f"max_attempts must be at least 1, not {attempts}"
            raise ValueError(msg)
        for name in ("initial_delay", "max_delay", "not_found_grace"):
            _check_number(name, getattr(self, name), finite=True)
        if self.max_elapsed is not None:
            _check_number("max_elapsed", self.max_elapsed, finite=False)
        _check_number("attempt_timeout", self.attempt_timeout, finite=True)
        if self.attempt_timeout == 0:
            msg = "attempt_timeout must be > 0, not 0"
            raise ValueError(msg)
        if attempts is None and (
            self.max_elapsed is None or math.isinf(self.max_elapsed)
        ):
            msg = (
                "a RetryPolicy needs a finite max_attempts or max_elapsed, "
                "or it never stops"
            )
            raise ValueError(msg)
        if self.initial_delay > self.max_delay:
            msg = "initial_delay must not exceed max_delay"
            raise ValueError(msg)

    @classmethod
    def none(cls) -> RetryPolicy:
        """Return a policy that never retries: every transient error is final."""
        return cls(max_attempts=1, max_elapsed=None, not_found_grace=0.0)

    def wait_for(self, attempt: int, rng: random.Random) -> float:
        """Return the wait after failed *attempt* (1-based): full jitter, capped."""
        cap = min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))
        return rng.uniform(0.0, cap)


def _check_number(name: str, value: object, *, finite: bool) -> None:
    """Raise ``ValueError`` unless *value* is a real number >= 0 (and finite)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or value < 0
        or (finite and math.isinf(value))
    ):
        kind = "a finite number" if finite else "a number"
        msg = f"{name} must be {kind} >= 0, not {value!r}"
        raise ValueError(msg)


async def call_within(fn: Callable[[], Awaitable[T]], *, seconds: float) -> T:
    """Await ``fn()``, abandoning it after *seconds* of real time.

    Raises:
        TimeoutError: *fn* was still running after *seconds*; it was cancelled.
    """
    with anyio.move_on_after(seconds) as scope:
        return await fn()
    if scope.cancelled_caught:
        msg = f"the attempt took longer than {seconds:g}s"
        raise TimeoutError(msg)
    msg = "unreachable: the attempt neither returned nor timed out"  # pragma: no cover
    raise AssertionError(msg)  # pragma: no cover


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryDetails:
    """What is about to happen: the failed *attempt*, the *error*, the *delay* next."""

    attempt: int
    delay: float
    elapsed: float
    error: BaseException


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    clock: Clock,
    rng: random.Random,
    should_retry: Callable[[BaseException, float], bool],
    on_retry: Callable[[RetryDetails], None],
) -> T:
    """Await ``fn()`` until it succeeds, retrying while *should_retry* says so.

    *should_retry* receives the error and the seconds elapsed since the first attempt.
    The last error is re-raised unchanged when the policy or *should_retry* says stop.
    Each attempt is bounded by ``policy.attempt_timeout`` seconds of real time (a
    ``TimeoutError`` then); sleeps go through *clock*, so compressed and manual time
    work.
    """
    start = clock.monotonic()
    max_elapsed = math.inf if policy.max_elapsed is None else policy.max_elapsed
    max_attempts = math.inf if policy.max_attempts is None else policy.max_attempts

    def elapsed() -> float:
        return clock.monotonic() - start

    def stop(state: tenacity.RetryCallState) -> bool:
        return state.attempt_number >= max_attempts or elapsed() >= max_elapsed

    def wait(state: tenacity.RetryCallState) -> float:
        delay = policy.wait_for(state.attempt_number, rng)
        return max(0.0, min(delay, max_elapsed - elapsed()))

    def retry(state: tenacity.RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        # tenacity sees BaseException too: cancellation and interrupts always
        # propagate, whatever the predicate says.
        return isinstance(error, Exception) and should_retry(error, elapsed())

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if error is not None and state.next_action is not None:
            on_retry(
                RetryDetails(
                    attempt=state.attempt_number,
                    delay=state.next_action.sleep,
                    elapsed=elapsed(),
                    error=error,
                )
            )

    async def attempt() -> T:
        return await call_within(fn, seconds=policy.attempt_timeout)

    retrying = tenacity.AsyncRetrying(
        sleep=clock.sleep,
        stop=stop,
        wait=wait,
        retry=retry,
        before_sleep=before_sleep,
        reraise=True,
    )
    return await retrying(attempt)
