"""Tests for the pure poll schedule: bounds, resets, throttling, seeds and cost."""

from __future__ import annotations

import bisect
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.schedule import PollSchedule, PollState, next_delay
from sagemaker_watch._core.status import SHORT_PHASES, SecondaryStatus

PHASES = st.one_of(
    st.none(),
    st.sampled_from(list(SecondaryStatus)),
    st.text(min_size=1, max_size=8).map(SecondaryStatus),
)
STEPS = st.lists(
    st.tuples(
        st.booleans(),
        PHASES,
        st.booleans(),
        st.one_of(st.none(), st.floats(-5, 500, allow_nan=False)),
    ),
    min_size=1,
    max_size=40,
)
SCHEDULES = st.builds(
    lambda low, short, long, extra, multiplier, jitter, stretch: PollSchedule(
        min_delay=low,
        short_phase_max_delay=low + short,
        max_delay=low + short + long,
        throttle_max_delay=low + short + long + extra,
        multiplier=multiplier,
        jitter=jitter,
        throttle_multiplier=stretch,
    ),
    st.floats(0.01, 30),
    st.floats(0, 60),
    st.floats(0, 600),
    st.floats(0, 600),
    st.floats(1, 4),
    st.floats(0, 1),
    st.floats(1, 4),
)


def _rng(seed):
    return random.Random(seed)


def _step(
    schedule, state, rng, *, changed=False, phase=None, throttled=False, remaining=None
):
    return next_delay(
        schedule,
        state,
        changed=changed,
        phase=phase,
        throttled=throttled,
        remaining=remaining,
        rng=rng,
    )


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, steps=STEPS, seed=st.integers(0, 2**32))
def test_delay_bounds(schedule, steps, seed):
    """The delay stays within [0, ceiling], never passes the deadline, and resets."""
    rng = _rng(seed)
    state = PollState()
    for changed, phase, throttled, remaining in steps:
        delay, new = _step(
            schedule,
            state,
            rng,
            changed=changed,
            phase=phase,
            throttled=throttled,
            remaining=remaining,
        )
        ceiling = (
            schedule.throttle_max_delay
            if new.throttle_level
            else schedule.ceiling(phase)
        )
        assert 0 <= delay <= ceiling * (1 + 1e-9)
        if remaining is not None:
            assert delay <= max(0.0, remaining)
        if new.throttle_level == 0 and remaining is None:
            assert delay >= schedule.min_delay * (1 - 1e-9)
            if changed:
                assert math.isclose(schedule.min_delay, delay)
        if phase is None or phase in SHORT_PHASES:
            assert schedule.short_phase_max_delay == schedule.ceiling(phase)
        assert (1 if changed else state.attempt + 1) == new.attempt
        state = new


@settings(max_examples=100, deadline=None)
@given(schedule=SCHEDULES, steps=STEPS, seed=st.integers(0, 2**32))
def test_deterministic_for_a_seed(schedule, steps, seed):
    """The same seed and inputs give the same delays."""

    def run():
        rng = _rng(seed)
        state = PollState()
        out = []
        for changed, phase, throttled, remaining in steps:
            delay, state = _step(
                schedule,
                state,
                rng,
                changed=changed,
                phase=phase,
                throttled=throttled,
                remaining=remaining,
            )
            out.append(delay)
        return out

    assert run() == run()


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32), attempt=st.integers(0, 5000), level=st.integers(0, 3)
)
def test_throttling_stretches(seed, attempt, level):
    """A throttled poll waits at least as long as an unthrottled one would."""
    schedule = PollSchedule()
    state = PollState(attempt=attempt, throttle_level=level)
    calm, _ = _step(schedule, state, _rng(seed), phase=SecondaryStatus.TRAINING)
    stretched, new = _step(
        schedule,
        state,
        _rng(seed),
        phase=SecondaryStatus.TRAINING,
        throttled=True,
    )
    assert stretched >= calm
    assert level + 1 == new.throttle_level


def test_throttling_grows_and_relaxes():
    """Repeated throttles grow the delay to the throttle ceiling, then it relaxes."""
    schedule = PollSchedule(jitter=0.0)
    rng = _rng(0)
    state = PollState()
    delays = []
    for _ in range(8):
        delay, state = _step(schedule, state, rng, changed=True, throttled=True)
        delays.append(delay)
    assert [4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0] == delays
    relaxed = []
    for _ in range(9):
        delay, state = _step(schedule, state, rng, changed=True)
        relaxed.append(delay)
    assert 2.0 == relaxed[-1]
    assert relaxed == sorted(relaxed, reverse=True)
    assert 0 == state.throttle_level


def test_smithy_caps_and_phase_ceilings():
    """Without jitter the delays follow Smithy's doubling up to the phase's ceiling."""
    schedule = PollSchedule(jitter=0.0)
    rng = _rng(0)
    state = PollState()
    training, uploading = [], []
    for _ in range(8):
        delay, state = _step(schedule, state, rng, phase=SecondaryStatus.TRAINING)
        training.append(delay)
    state = PollState()
    for _ in range(5):
        delay, state = _step(schedule, state, rng, phase=SecondaryStatus.UPLOADING)
        uploading.append(delay)
    assert [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0] == training
    assert [2.0, 4.0, 8.0, 10.0, 10.0] == uploading


def test_full_jitter_is_smithy():
    """With jitter=1 each delay is drawn from [min_delay, cap], as Smithy waiters do."""
    schedule = PollSchedule(jitter=1.0)
    rng = _rng(7)
    state = PollState()
    for cap in (2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0):
        delay, state = _step(schedule, state, rng, phase=SecondaryStatus.TRAINING)
        assert 2.0 <= delay <= cap


def test_fixed_schedule():
    """PollSchedule.fixed always waits the same time, throttled or not."""
    schedule = PollSchedule.fixed(5.0)
    rng = _rng(1)
    state = PollState()
    for throttled in (False, True, True, False):
        delay, state = _step(
            schedule, state, rng, phase=SecondaryStatus.TRAINING, throttled=throttled
        )
        assert 5.0 == delay


@pytest.mark.parametrize(
    "settings_",
    [
        {"min_delay": 0.0},
        {"min_delay": -1.0},
        {"min_delay": 1e-300},
        {"min_delay": 0.009},
        {"min_delay": math.inf},
        {"max_delay": math.inf},
        {"min_delay": math.nan},
        {"min_delay": 90.0},
        {"max_delay": 1.0},
        {"multiplier": 0.5},
        {"throttle_multiplier": math.inf},
        {"jitter": 1.5},
        {"jitter": -0.1},
    ],
)
def test_invalid_settings(settings_):
    """Settings that make no sense raise ValueError."""
    with pytest.raises(ValueError, match="PollSchedule"):
        PollSchedule(**settings_)


def _simulate(schedule, *, hours=200, seed=1):
    """Calls per hour in Training, and the mean delay in noticing a random change."""
    rng = _rng(seed)
    state = PollState()
    now, polls = 0.0, []
    delay, state = _step(
        schedule, state, rng, changed=True, phase=SecondaryStatus.TRAINING
    )
    while now < hours * 3600:
        now += delay
        polls.append(now)
        delay, state = _step(schedule, state, rng, phase=SecondaryStatus.TRAINING)
    moments = _rng(seed + 1)
    waits = []
    for _ in range(20000):
        change = moments.uniform(3600, (hours - 1) * 3600)
        waits.append(polls[bisect.bisect_left(polls, change)] - change)
    return len(polls) / hours, sum(waits) / len(waits)


@pytest.mark.parametrize(
    ("schedule", "calls", "noticed"),
    [
        (PollSchedule(), 79.1, 23.5),
        (PollSchedule(jitter=1.0), 116.0, 20.0),
        (PollSchedule.fixed(60.0), 60.0, 30.0),
        (PollSchedule.fixed(5.0), 720.0, 2.5),
    ],
    ids=["default", "smithy-full-jitter", "fixed-60s", "sdk-5s"],
)
def test_documented_cost(schedule, calls, noticed):
    """The costs in PollSchedule's docstring hold: calls per hour and notice delay."""
    actual_calls, actual_noticed = _simulate(schedule)
    assert calls == pytest.approx(actual_calls, rel=0.02)
    assert noticed == pytest.approx(actual_noticed, rel=0.04)


@pytest.mark.parametrize(
    ("settings_", "short", "throttle"),
    [
        ({"min_delay": 30.0}, 30.0, 300.0),
        ({"min_delay": 1.0, "max_delay": 5.0}, 5.0, 300.0),
        ({"max_delay": 600.0}, 10.0, 600.0),
        ({"short_phase_max_delay": 90.0}, 60.0, 300.0),
    ],
)
def test_secondary_ceilings_follow_min_and_max(settings_, short, throttle):
    """The short-phase and throttle ceilings are clamped to fit min and max delay."""
    schedule = PollSchedule(**settings_)
    assert (short, throttle) == (
        schedule.short_phase_max_delay,
        schedule.throttle_max_delay,
    )


def test_delay_floor_allows_compressed_time_tests():
    """The floor is 10 ms: fast enough for compressed-time tests, never a spin."""
    assert 0.01 == PollSchedule(min_delay=0.01, max_delay=0.01).min_delay
    assert 0.05 == PollSchedule.fixed(0.05).max_delay
    with pytest.raises(ValueError, match=r"0\.01"):
        PollSchedule.fixed(1e-6)
