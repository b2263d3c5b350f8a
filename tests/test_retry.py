"""Tests for the retry policy and its tenacity wrapper."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_watch._retry import RetryDetails, RetryPolicy, call_with_retries


class StepClock:
    """A clock whose sleeps only move its own time: retries run instantly."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


class Flaky:
    """Fails *failures* times with *error*, then returns "ok"."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


async def _run(fn, policy, clock, *, retry_if=lambda _e, _t: True, seen=None):
    seen = seen if seen is not None else []
    return await call_with_retries(
        fn,
        policy=policy,
        clock=clock,
        rng=random.Random(0),
        should_retry=retry_if,
        on_retry=seen.append,
    )


@pytest.mark.asyncio
async def test_retries_until_success_and_reports_each_retry():
    """A call failing three times succeeds on the fourth, with three retry reports."""
    clock = StepClock()
    fn = Flaky(3, OSError("boom"))
    seen: list[RetryDetails] = []
    assert "ok" == await _run(fn, RetryPolicy(), clock, seen=seen)
    assert 4 == fn.calls
    assert [1, 2, 3] == [d.attempt for d in seen]
    assert [d.delay for d in seen] == clock.sleeps


@pytest.mark.asyncio
async def test_gives_up_after_max_attempts_and_reraises_the_error():
    """After max_attempts the last error itself is raised, not a tenacity error."""
    error = OSError("down")
    fn = Flaky(100, error)
    with pytest.raises(OSError, match="down") as info:
        await _run(fn, RetryPolicy(max_attempts=3, max_elapsed=None), StepClock())
    assert error is info.value
    assert 3 == fn.calls


@pytest.mark.asyncio
async def test_gives_up_after_max_elapsed_on_the_injected_clock():
    """Elapsed time is measured on the injected clock, and no wait passes the bound."""
    clock = StepClock()
    fn = Flaky(10_000, OSError("down"))
    policy = RetryPolicy(max_attempts=None, max_elapsed=120.0, max_delay=30.0)
    with pytest.raises(OSError, match="down"):
        await _run(fn, policy, clock)
    assert 120.0 >= clock.t
    assert fn.calls > 4


@pytest.mark.asyncio
async def test_does_not_retry_what_should_retry_rejects():
    """An error the predicate rejects is raised after one attempt."""
    fn = Flaky(1, KeyError("fatal"))
    with pytest.raises(KeyError):
        await _run(fn, RetryPolicy(), StepClock(), retry_if=lambda _e, _t: False)
    assert 1 == fn.calls


@pytest.mark.asyncio
async def test_none_policy_never_retries():
    """RetryPolicy.none() makes the first transient error final."""
    fn = Flaky(1, OSError("x"))
    with pytest.raises(OSError, match="x"):
        await _run(fn, RetryPolicy.none(), StepClock())
    assert 1 == fn.calls


@given(
    attempt=st.integers(min_value=1, max_value=200),
    initial=st.floats(min_value=0, max_value=10),
    extra=st.floats(min_value=0, max_value=100),
    seed=st.integers(),
)
def test_wait_is_jittered_below_the_capped_exponential(attempt, initial, extra, seed):
    """Every wait lies in [0, min(max_delay, initial * 2**(attempt-1))]."""
    policy = RetryPolicy(initial_delay=initial, max_delay=initial + extra)
    wait = policy.wait_for(attempt, random.Random(seed))
    assert 0 <= wait <= min(policy.max_delay, initial * 2.0 ** (attempt - 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": None, "max_elapsed": None},
        {"max_attempts": 0},
        {"initial_delay": -1.0},
        {"max_delay": float("nan")},
        {"initial_delay": 5.0, "max_delay": 1.0},
        {"max_elapsed": -1.0},
    ],
)
def test_rejects_policies_that_make_no_sense(kwargs):
    """Settings that never stop or never wait raise ValueError at once."""
    with pytest.raises(ValueError, match=r"."):
        RetryPolicy(**kwargs)
