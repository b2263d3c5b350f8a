"""Tests for the retry policy, its pure rule, and the time bound of one attempt."""

from __future__ import annotations

import math
import random
import re
import time

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_watch import EndpointUnreachable, wait_until_complete
from sagemaker_watch._core.tracker import ErrorKind, retry_delay, retryable
from sagemaker_watch._io.retry import RetryPolicy, call_within


def test_gives_up_after_max_attempts():
    """The rule stops at max_attempts: attempts 1 and 2 wait, attempt 3 is the last."""
    policy = RetryPolicy(max_attempts=3, max_elapsed=None)
    rng = random.Random(0)
    delays = [retry_delay(policy, attempt=n, elapsed=0.0, rng=rng) for n in (1, 2, 3)]
    assert [False, False, True] == [delay is None for delay in delays]


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    elapsed=st.floats(min_value=0, max_value=200, allow_nan=False),
    seed=st.integers(),
)
def test_gives_up_after_max_elapsed_and_no_wait_passes_the_bound(
    attempt, elapsed, seed
):
    """Past max_elapsed the rule stops; before it, no wait reaches past the bound."""
    policy = RetryPolicy(max_attempts=None, max_elapsed=120.0, max_delay=30.0)
    delay = retry_delay(
        policy, attempt=attempt, elapsed=elapsed, rng=random.Random(seed)
    )
    if elapsed >= 120.0:
        assert delay is None
    else:
        assert delay is not None
        assert 0.0 <= delay <= 120.0 - elapsed


@pytest.mark.parametrize("seen", [False, True])
def test_does_not_retry_what_is_fatal(seen):
    """A fatal failure is never retryable, whatever the policy."""
    assert not retryable(RetryPolicy(), ErrorKind.FATAL, seen=seen, elapsed=0.0)


def test_none_policy_never_retries():
    """RetryPolicy.none() makes the first transient error final."""
    policy = RetryPolicy.none()
    assert retry_delay(policy, attempt=1, elapsed=0.0, rng=random.Random(0)) is None
    assert not retryable(policy, ErrorKind.NOT_FOUND, seen=False, elapsed=0.0)


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
async def test_an_attempt_that_hangs_is_cut():
    """A hanging attempt raises TimeoutError after its bound; a quick one returns."""
    calls = 0

    async def hangs_once():
        nonlocal calls
        calls += 1
        if calls == 1:
            await anyio.sleep_forever()
        return "ok"

    with pytest.raises(TimeoutError) as info:
        await call_within(hangs_once, seconds=0.05)
    assert "the attempt took longer than 0.05s" == str(info.value)
    assert "ok" == await call_within(hangs_once, seconds=0.05)
    assert 2 == calls


@pytest.mark.asyncio
async def test_a_hanging_attempt_ends_near_its_bound_on_the_real_clock():
    """On the real clock, an attempt that hangs ends soon after attempt_timeout."""

    async def hangs():
        await anyio.sleep_forever()

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await call_within(hangs, seconds=0.05)
    assert time.monotonic() - started < 0.05 + 0.2


@pytest.mark.asyncio
async def test_cancellation_of_a_hanging_attempt_is_not_a_timeout():
    """An outer cancel scope ends the attempt at once; no TimeoutError is raised."""

    async def hangs():
        await anyio.sleep_forever()

    with anyio.move_on_after(0.05) as scope:
        await call_within(hangs, seconds=5)
    assert scope.cancelled_caught


@pytest.mark.asyncio
async def test_hanging_attempts_end_within_max_elapsed_plus_one_attempt(
    fake_sagemaker, hostile
):
    """On the real clock, a wait whose attempts all hang gives up near max_elapsed."""
    fake_sagemaker.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", trickle=1.0)
    # Long enough for each attempt's request to reach the server on a loaded
    # machine (at 0.05 s, a busy CI runner cut some before they were sent).
    policy = RetryPolicy(
        max_attempts=None,
        max_elapsed=0.8,
        attempt_timeout=0.2,
        initial_delay=0.04,
        max_delay=0.04,
    )
    async with hostile.client() as client:
        started = time.monotonic()
        with pytest.raises(EndpointUnreachable):
            await wait_until_complete("job", client=client, retry=policy)
        took = time.monotonic() - started
    assert took < 0.8 + 2 * 0.2 + 0.5
    assert 3 <= hostile.count("DescribeTrainingJob")
