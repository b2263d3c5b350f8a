"""The one retry policy: bounded, jittered retries of transient errors, via tenacity.

This is the only module that imports tenacity; no tenacity type or error leaves it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, TypeVar

import tenacity

if TYPE_CHECKING:
    import random
    from collections.abc import Awaitable, Callable

    from ._clock import Clock

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How one poll retries transient errors before giving up.

    Transient errors are throttling, 5xx answers, dropped connections, timeouts and
    malformed bodies. Waits grow exponentially from *initial_delay* to *max_delay*
    with full jitter; a poll gives up after *max_attempts* attempts or once
    *max_elapsed* seconds have passed since its first attempt, whichever comes first.

    The defaults ride out about fifteen minutes of continuous failure (a throttling
    storm or a regional hiccup) without giving up on a job that may train for days,
    while an unreachable endpoint still fails within that bound.

    Args:
        max_attempts: attempts per poll, including the first; ``None`` for no limit.
        max_elapsed: seconds from the first attempt after which no retry starts;
            ``None`` for no limit.
        initial_delay: the first wait's ceiling, in seconds.
        max_delay: the ceiling of any single wait, in seconds.
        not_found_grace: how long "not found" is retried for a job never seen yet,
            in seconds (a job is not always visible right after it was created).
    """

    max_attempts: int | None = 60
    max_elapsed: float | None = 900.0
    initial_delay: float = 1.0
    max_delay: float = 30.0
    not_found_grace: float = 30.0

    def __post_init__(self) -> None:
        """Reject settings that would never stop or never wait."""
        if self.max_attempts is None and self.max_elapsed is None:
            msg = "a RetryPolicy needs max_attempts or max_elapsed, or it never stops"
            raise ValueError(msg)
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(
                f"max_attempts must be at least 1, not {self.max_attempts}"
            )
        for name in ("initial_delay", "max_delay", "not_found_grace"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        if self.max_elapsed is not None and not self.max_elapsed >= 0:
            raise ValueError(f"max_elapsed must be >= 0, not {self.max_elapsed!r}")
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
    Sleeps go through *clock*, so compressed and manual time work.
    """
    start = clock.monotonic()

    def elapsed() -> float:
        return clock.monotonic() - start

    def stop(state: tenacity.RetryCallState) -> bool:
        if (
            policy.max_attempts is not None
            and state.attempt_number >= policy.max_attempts
        ):
            return True
        return policy.max_elapsed is not None and elapsed() >= policy.max_elapsed

    def wait(state: tenacity.RetryCallState) -> float:
        delay = policy.wait_for(state.attempt_number, rng)
        if policy.max_elapsed is not None:
            delay = max(0.0, min(delay, policy.max_elapsed - elapsed()))
        return delay

    def retry(state: tenacity.RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        return error is not None and should_retry(error, elapsed())

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

    retrying = tenacity.AsyncRetrying(
        sleep=clock.sleep,
        stop=stop,
        wait=wait,
        retry=retry,
        before_sleep=before_sleep,
        reraise=True,
    )
    return await retrying(fn)
