"""Retry loops and time bounds for calls; the only module that imports tenacity.

The retry rule itself (``RetryPolicy``, ``retry_delay``) is pure and lives in the
core tracker, which decides the poll's retries; ``call_with_retries`` runs that
same rule as a tenacity loop for callers that want one awaitable (the source's
``describe``). No tenacity type or error leaves this module.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, TypeVar

import anyio
import tenacity

from .._core.tracker import RetryPolicy, retry_delay

if TYPE_CHECKING:
    import random
    from collections.abc import Awaitable, Callable

    from .clock import Clock

__all__ = ["RetryDetails", "RetryPolicy", "call_with_retries", "call_within"]

T = TypeVar("T")


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
    rule = _Rule(policy, clock, rng)
    elapsed, stop, wait = rule.elapsed, rule.stop, rule.wait

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


class _Rule:
    """The core's ``retry_delay`` as tenacity's stop and wait, once per attempt."""

    def __init__(self, policy: RetryPolicy, clock: Clock, rng: random.Random) -> None:
        self._policy, self._clock, self._rng = policy, clock, rng
        self._start = clock.monotonic()
        self._decided: dict[int, float | None] = {}

    def elapsed(self) -> float:
        return self._clock.monotonic() - self._start

    def _decide(self, state: tenacity.RetryCallState) -> float | None:
        attempt = state.attempt_number
        if attempt not in self._decided:
            self._decided[attempt] = retry_delay(
                self._policy, attempt=attempt, elapsed=self.elapsed(), rng=self._rng
            )
        return self._decided[attempt]

    def stop(self, state: tenacity.RetryCallState) -> bool:
        return self._decide(state) is None

    def wait(self, state: tenacity.RetryCallState) -> float:
        return self._decide(state) or 0.0
