"""Tests for the retry policy and its tenacity wrapper."""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import time

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_watch._io.clock import SystemClock
from sagemaker_watch._io.retry import RetryDetails, RetryPolicy, call_with_retries


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


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 2.5}, "max_attempts must be an int >= 1 or None, not 2.5"),
        ({"max_attempts": True}, "max_attempts must be an int >= 1 or None, not True"),
        ({"max_attempts": "3"}, "max_attempts must be an int >= 1 or None, not '3'"),
        (
            {"max_attempts": None, "max_elapsed": math.inf},
            "needs a finite max_attempts or max_elapsed, or it never stops",
        ),
        ({"max_elapsed": math.nan}, "max_elapsed must be a number >= 0, not nan"),
        (
            {"initial_delay": math.nan},
            "initial_delay must be a finite number >= 0, not nan",
        ),
        (
            {"not_found_grace": math.nan},
            "not_found_grace must be a finite number >= 0, not nan",
        ),
        (
            {"not_found_grace": math.inf},
            "not_found_grace must be a finite number >= 0, not inf",
        ),
        ({"attempt_timeout": 0}, "attempt_timeout must be > 0, not 0"),
        (
            {"attempt_timeout": -1.0},
            "attempt_timeout must be a finite number >= 0, not -1.0",
        ),
        (
            {"attempt_timeout": math.inf},
            "attempt_timeout must be a finite number >= 0, not inf",
        ),
        (
            {"attempt_timeout": math.nan},
            "attempt_timeout must be a finite number >= 0, not nan",
        ),
        (
            {"attempt_timeout": None},
            "attempt_timeout must be a finite number >= 0, not None",
        ),
    ],
)
def test_rejects_settings_with_a_message_naming_them(kwargs, message):
    """Non-integers, never-stopping pairs and NaN are rejected, each named."""
    with pytest.raises(ValueError, match=re.escape(message)):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 5, "max_elapsed": math.inf},
        {"max_attempts": None, "max_elapsed": 60.0},
        {"attempt_timeout": 0.01},
    ],
)
def test_accepts_bounded_settings(kwargs):
    """An infinite max_elapsed is fine when max_attempts bounds the retries."""
    policy = RetryPolicy(**kwargs)
    assert kwargs == {name: getattr(policy, name) for name in kwargs}


def test_attempt_timeout_defaults_to_a_minute():
    """Each attempt is bounded by default: sixty seconds of real time."""
    assert 60.0 == RetryPolicy().attempt_timeout


@pytest.mark.asyncio
async def test_an_attempt_that_hangs_is_cut_and_retried():
    """A hanging attempt times out after attempt_timeout and the next one runs."""
    calls = 0

    async def hangs_once():
        nonlocal calls
        calls += 1
        if calls == 1:
            await anyio.sleep_forever()
        return "ok"

    seen: list[RetryDetails] = []
    policy = RetryPolicy(attempt_timeout=0.05)
    assert "ok" == await _run(hangs_once, policy, StepClock(), seen=seen)
    assert 2 == calls
    assert ["the attempt took longer than 0.05s"] == [str(d.error) for d in seen]
    assert isinstance(seen[0].error, TimeoutError)


@pytest.mark.asyncio
async def test_hanging_attempts_end_within_max_elapsed_plus_one_attempt():
    """On the real clock, a poll whose attempts all hang ends near max_elapsed."""

    async def hangs():
        await anyio.sleep_forever()

    policy = RetryPolicy(
        max_attempts=None,
        max_elapsed=0.2,
        attempt_timeout=0.05,
        initial_delay=0.01,
        max_delay=0.01,
    )
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await _run(hangs, policy, SystemClock())
    assert time.monotonic() - started < 0.2 + 0.05 + 0.2


@pytest.mark.asyncio
async def test_cancellation_of_a_hanging_attempt_is_not_retried():
    """An outer cancel scope ends the poll at once, even if the predicate says retry."""

    async def hangs():
        await anyio.sleep_forever()

    fn_calls: list[RetryDetails] = []
    with anyio.move_on_after(0.05) as scope:
        await _run(hangs, RetryPolicy(attempt_timeout=5), StepClock(), seen=fn_calls)
    assert scope.cancelled_caught
    assert [] == fn_calls
