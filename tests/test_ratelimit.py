"""Tests for the rate budget: token buckets, AIMD and the clock-bound budget."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_watch._io.ratelimit import AdaptiveRate, Rate, RateBudget, TokenBucket
from sagemaker_watch.testing import ManualClock


@given(
    rate=st.floats(0.1, 50),
    burst=st.integers(1, 10),
    gaps=st.lists(st.floats(0, 3), min_size=1, max_size=200),
)
def test_bucket_never_grants_more_than_burst_plus_rate_times_time(rate, burst, gaps):
    """Over any run of attempts, tokens granted never exceed burst + rate x elapsed."""
    bucket = TokenBucket(rate=rate, burst=burst, now=0.0)
    now, granted = 0.0, 0
    for gap in gaps:
        now += gap
        granted += bucket.try_take(now)
        assert granted <= burst + rate * now + 1e-6


@given(rate=st.floats(0.1, 50), burst=st.integers(1, 10), start=st.floats(0, 1e6))
def test_sleeping_the_delay_always_yields_a_token(rate, burst, start):
    """After waiting exactly delay(), a token is available, even with float rounding."""
    bucket = TokenBucket(rate=rate, burst=burst, now=start)
    now = start
    for _ in range(burst + 5):
        now += bucket.delay(now)
        assert bucket.try_take(now)


def test_bucket_starts_full_and_refills_at_its_rate():
    """A full bucket grants its burst at once, then one token per 1/rate seconds."""
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [True, True, True, False] == [bucket.try_take(0.0) for _ in range(4)]
    assert 0.5 == bucket.delay(0.0)
    assert bucket.try_take(0.5)


def test_aimd_halves_once_per_cooldown_and_recovers_linearly():
    """A throttle halves the rate, once per cool-down; clean time climbs back."""
    rate = AdaptiveRate(ceiling=10.0, now=0.0, recovery=60.0)
    assert rate.throttled(0.0)
    assert 5.0 == rate.current
    assert not rate.throttled(0.5)
    assert 5.0 == rate.current
    rate.succeeded(30.0)
    assert 5.0 + 29.5 * (10 - 10 / 16) / 60 == pytest.approx(rate.current)
    rate.succeeded(1000.0)
    assert 10.0 == rate.current


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 10)), max_size=300))
def test_aimd_rate_stays_between_floor_and_ceiling(steps):
    """Whatever the sequence of throttles and successes, the rate stays in bounds."""
    rate = AdaptiveRate(ceiling=8.0, now=0.0)
    now = 0.0
    for throttled, gap in steps:
        now += gap
        if throttled:
            rate.throttled(now)
        else:
            rate.succeeded(now)
        assert 0.5 <= rate.current <= 8.0


def test_rate_rejects_nonsense():
    """A rate must be positive and finite, and a burst at least 1."""
    with pytest.raises(ValueError, match="per_second"):
        Rate(per_second=0)
    with pytest.raises(ValueError, match="burst"):
        Rate(per_second=1, burst=0.5)


@pytest.mark.asyncio
async def test_budget_acquire_paces_requests_on_the_clock():
    """acquire() sleeps on the injected clock so that requests follow the rate."""
    clock = ManualClock()
    budget = RateBudget({"Op": Rate(per_second=4, burst=1)}, clock=clock)
    times = []
    for _ in range(9):
        await budget.acquire("Op")
        times.append(clock.monotonic())
    assert [i / 4 for i in range(9)] == pytest.approx(times)
    assert 9 == budget.statistics().operations["Op"].taken


@pytest.mark.asyncio
async def test_budget_throttles_lower_the_rate_and_successes_restore_it():
    """Throttles reported to the budget slow the bucket; clean answers restore it."""
    clock = ManualClock()
    budget = RateBudget({"Op": Rate(per_second=8, burst=1)}, clock=clock)
    budget.throttled("Op")
    assert 4.0 == budget.rate("Op")
    clock.advance(120)
    budget.succeeded("Op")
    assert 8.0 == budget.rate("Op")
    assert 1 == budget.statistics().operations["Op"].throttles


def test_budget_leaves_unconfigured_operations_unlimited():
    """An operation without a rate is never delayed."""
    budget = RateBudget({}, clock=ManualClock())
    assert budget.try_take("Other")
    assert 0.0 == budget.delay("Other")
    assert math.inf == budget.rate("Other")
    budget.throttled("Other")
    budget.succeeded("Other")
