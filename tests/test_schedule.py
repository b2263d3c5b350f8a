"""Tests for the pure poll schedule: bounds, resets, throttling, seeds and cost."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.schedule import (
    EARLY_TRAINING,
    LIMIT_SETTLE,
    OVERDUE_WINDOW,
    PollSchedule,
    PollState,
    next_delay,
)
from sagemaker_watch._core.snapshot import Snapshot
from sagemaker_watch._core.status import CLOSING_PHASES, SETUP_PHASES, SecondaryStatus

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
        setup_max_delay=low + short,
        closing_max_delay=low + short / 2,
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
        if phase in CLOSING_PHASES:
            assert schedule.closing_max_delay == schedule.ceiling(phase)
        elif phase is None or phase in SETUP_PHASES:
            assert schedule.setup_max_delay == schedule.ceiling(phase)
        else:
            assert schedule.max_delay == schedule.ceiling(phase)
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
    assert [2.0, 4.0, 8.0, 8.0, 8.0] == uploading


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
        (PollSchedule(), 66.4, 27.4),
        (PollSchedule(jitter=0.5), 79.1, 23.5),
        (PollSchedule(jitter=1.0), 116.0, 20.0),
        (PollSchedule.fixed(60.0), 60.0, 30.0),
        (PollSchedule.fixed(5.0), 720.0, 2.5),
    ],
    ids=["default", "half-jitter", "smithy-full-jitter", "fixed-60s", "sdk-5s"],
)
def test_documented_cost(schedule, calls, noticed):
    """The costs in PollSchedule's docstring hold: calls per hour and notice delay."""
    actual_calls, actual_noticed = _simulate(schedule)
    assert calls == pytest.approx(actual_calls, rel=0.02)
    assert noticed == pytest.approx(actual_noticed, rel=0.04)


@pytest.mark.parametrize(
    ("settings_", "setup", "closing", "throttle"),
    [
        ({"min_delay": 30.0}, 30.0, 30.0, 300.0),
        ({"min_delay": 1.0, "max_delay": 5.0}, 5.0, 5.0, 300.0),
        ({"max_delay": 600.0}, 20.0, 8.0, 600.0),
        ({"setup_max_delay": 90.0}, 60.0, 8.0, 300.0),
        ({"closing_max_delay": 0.5}, 20.0, 2.0, 300.0),
    ],
)
def test_phase_ceilings_follow_min_and_max(settings_, setup, closing, throttle):
    """The phase and throttle ceilings are clamped to fit min and max delay."""
    schedule = PollSchedule(**settings_)
    assert (setup, closing, throttle) == (
        schedule.setup_max_delay,
        schedule.closing_max_delay,
        schedule.throttle_max_delay,
    )


def test_short_phase_max_delay_still_sets_both_phase_ceilings_with_a_warning():
    """The old single short-phase ceiling still works, and says what replaced it."""
    with pytest.warns(DeprecationWarning, match="setup_max_delay"):
        schedule = PollSchedule(short_phase_max_delay=15.0)
    assert (15.0, 15.0) == (schedule.setup_max_delay, schedule.closing_max_delay)


def test_delay_floor_allows_compressed_time_tests():
    """The floor is 10 ms: fast enough for compressed-time tests, never a spin."""
    assert 0.01 == PollSchedule(min_delay=0.01, max_delay=0.01).min_delay
    assert 0.05 == PollSchedule.fixed(0.05).max_delay
    with pytest.raises(ValueError, match=r"0\.01"):
        PollSchedule.fixed(1e-6)


# -- anticipation: the changes an answer lets the schedule expect ------------------

BASE = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _seen(
    at,
    *,
    training_since=0.0,
    status="Training",
    primary="InProgress",
    progress=None,
    runtime=None,
    reverse=False,
):
    """A snapshot *at* seconds after BASE, in *status* since *training_since*."""
    history = [
        {"Status": "Starting", "StartTime": BASE - dt.timedelta(seconds=300)},
        {"Status": status, "StartTime": BASE + dt.timedelta(seconds=training_since)},
    ]
    answer = {
        "TrainingJobName": "job",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/job",
        "TrainingJobStatus": primary,
        "SecondaryStatus": status,
        "CreationTime": BASE - dt.timedelta(seconds=300),
        "TrainingStartTime": BASE,
        "SecondaryStatusTransitions": history[::-1] if reverse else history,
    }
    if runtime is not None:
        answer["StoppingCondition"] = {"MaxRuntimeInSeconds": runtime}
    if progress is not None:
        per_epoch, epochs = 100, 10
        answer["ProgressInfo"] = {
            "TotalStepCountPerEpoch": per_epoch,
            "CurrentStep": progress % per_epoch,
            "CurrentEpoch": progress // per_epoch + 1,
            "MaxEpoch": epochs,
        }
    return Snapshot.from_response(answer, observed_at=BASE + dt.timedelta(seconds=at))


def _polls(schedule, seen, *, start, until, seed=0):
    """Poll from *start* to *until* with no change; *seen(at)* is each answer."""
    rng = _rng(seed)
    state = PollState(attempt=50)
    at, polls = start, []
    while at < until:
        polls.append(at)
        delay, state = next_delay(
            schedule,
            state,
            changed=False,
            phase=SecondaryStatus.TRAINING,
            throttled=False,
            remaining=None,
            rng=rng,
            snapshot=seen(at),
            now=at,
        )
        at += delay
    polls.append(at)
    return polls


@settings(max_examples=100, deadline=None)
@given(
    runtime=st.integers(700, 200_000),
    start=st.floats(650, 199_000),
    seed=st.integers(0, 2**32),
)
def test_a_runtime_limit_is_polled_just_after_it_stops_the_job(runtime, start, seed):
    """The first poll at or past MaxRuntimeInSeconds comes within a second of it."""
    start = min(start, runtime - 1.0)
    polls = _polls(
        PollSchedule(),
        lambda at: _seen(at, runtime=runtime),
        start=start,
        until=runtime,
        seed=seed,
    )
    assert runtime <= polls[-1] <= runtime + LIMIT_SETTLE + 1e-6
    assert len([p for p in polls if p > runtime - 600]) <= 16


@settings(max_examples=50, deadline=None)
@given(
    seconds_per_step=st.floats(0.5, 40),
    first=st.integers(0, 900),
    seed=st.integers(0, 2**32),
)
def test_the_last_step_is_polled_within_the_closing_ceiling(
    seconds_per_step, first, seed
):
    """At a steady rate, a poll follows the last step within closing_max_delay.

    Steps are whole numbers, so the estimate can be late by one step's time.
    """
    schedule = PollSchedule()
    end = 1000 * seconds_per_step  # 10 epochs of 100 steps, begun at 0

    def seen(at):
        return _seen(at, progress=min(int(at / seconds_per_step), 999))

    start = first * seconds_per_step
    polls = _polls(schedule, seen, start=start, until=end, seed=seed)
    assert polls[-1] - end <= schedule.closing_max_delay + seconds_per_step + 1e-6
    blind = _polls(schedule, _seen, start=start, until=end, seed=seed)
    # What closing in costs: a few more polls than without ProgressInfo.
    assert len(polls) <= len(blind) + 8


def test_a_change_overdue_keeps_the_closing_cadence_for_a_while_only():
    """Past the last step the closing ceiling holds for OVERDUE_WINDOW, then not."""
    schedule = PollSchedule(jitter=0.0)

    def seen(at):
        return _seen(at, progress=min(int(at / 2), 999))  # last step at 1998 s

    polls = _polls(schedule, seen, start=1000, until=4000)
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    overdue = [g for a, g in zip(polls, gaps, strict=False) if 2000 < a < 2000 + 250]
    late = [
        g for a, g in zip(polls, gaps, strict=False) if a > 2000 + OVERDUE_WINDOW + 60
    ]
    assert {schedule.closing_max_delay} == set(overdue)
    assert {schedule.max_delay} == set(late)


@pytest.mark.parametrize("reverse", [False, True], ids=["in order", "newest first"])
def test_early_training_is_polled_like_setup_then_at_the_training_ceiling(reverse):
    """Training's first EARLY_TRAINING seconds use setup_max_delay, in any order."""
    schedule = PollSchedule(jitter=0.0)
    polls = _polls(
        schedule,
        lambda at: _seen(at, training_since=0, reverse=reverse),
        start=100,
        until=EARLY_TRAINING + 300,
    )
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    early = {g for a, g in zip(polls, gaps, strict=False) if a < EARLY_TRAINING - 20}
    late = {g for a, g in zip(polls, gaps, strict=False) if a >= EARLY_TRAINING}
    assert {schedule.setup_max_delay} == early
    assert {schedule.max_delay} == late


def test_without_anticipation_only_the_phase_counts():
    """anticipate=False ignores limits, progress and the age of Training."""
    schedule = PollSchedule(jitter=0.0, anticipate=False)

    def seen(at):
        return _seen(at, runtime=700, progress=min(int(at), 999))

    polls = _polls(schedule, seen, start=100, until=1000)
    assert {schedule.max_delay} == {b - a for a, b in itertools.pairwise(polls)}


def test_a_stopping_job_is_polled_at_the_closing_ceiling():
    """Primary Stopping (the secondary may still say Training) is an outcome ahead."""
    schedule = PollSchedule(jitter=0.0)
    polls = _polls(
        schedule,
        lambda at: _seen(at, primary="Stopping", training_since=-5000),
        start=0,
        until=100,
    )
    assert {schedule.closing_max_delay} == {b - a for a, b in itertools.pairwise(polls)}
