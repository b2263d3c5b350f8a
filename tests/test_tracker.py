"""Tests for the per-job tracker: fed observations and time, no HTTP, no clock."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.diff import ResumeCursor, diff_with_anomalies
from sagemaker_watch._core.events import JobCompleted, ProgressChanged
from sagemaker_watch._core.schedule import PollSchedule, PollState, next_delay
from sagemaker_watch._core.snapshot import Snapshot
from sagemaker_watch._core.status import SecondaryStatus
from sagemaker_watch._core.tracker import (
    ErrorKind,
    JobTracker,
    RetryPolicy,
    RetryScheduled,
    Step,
    retry_delay,
)
from sagemaker_watch._errors import (
    JobReplaced,
    RetriesExhausted,
    ServiceError,
    TrainingJobNotFound,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/job"
LIFECYCLE = ["Starting", "Downloading", "Training", "Uploading", "Completed"]
KINDS = list(ErrorKind)


def _snap(*statuses, primary="InProgress", arn=ARN, progress=None, seconds=0):
    """A snapshot whose history holds *statuses*, in order."""
    history = [
        {"Status": status, "StartTime": T0 + dt.timedelta(minutes=index)}
        for index, status in enumerate(statuses)
    ]
    response = {
        "TrainingJobName": "job",
        "TrainingJobArn": arn,
        "TrainingJobStatus": primary,
        "CreationTime": T0,
        "SecondaryStatusTransitions": history,
    }
    if history:
        response["SecondaryStatus"] = history[-1]["Status"]
    if progress is not None:
        response["ProgressInfo"] = {"CurrentStep": progress, "MaxEpoch": 3}
    return Snapshot.from_response(
        response, observed_at=T0 + dt.timedelta(hours=1, seconds=seconds)
    )


def _tracker(seed=0, **kwargs):
    return JobTracker("job", rng=random.Random(seed), **kwargs)


def _error(kind):
    if kind is ErrorKind.NOT_FOUND:
        return TrainingJobNotFound("job")
    if kind is ErrorKind.FATAL:
        return ServiceError("denied", job_name="job", code="AccessDenied")
    return RetriesExhausted("gave up", job_name="job", code="Throttling")


def test_first_snapshot_emits_diffs_events_and_a_delay():
    """The first snapshot yields diff's events and the schedule's first delay."""
    snapshot = _snap("Starting")
    schedule = PollSchedule()
    step = _tracker(seed=1, schedule=schedule).snapshot(snapshot, now=0.0)
    expected_delay, _ = next_delay(
        schedule,
        PollState(),
        changed=True,
        phase=SecondaryStatus.STARTING,
        throttled=False,
        remaining=None,
        rng=random.Random(1),
    )
    assert diff_with_anomalies(None, snapshot).events == step.events
    assert expected_delay == step.delay
    assert (False, None, None) == (step.finished, step.lost, step.retry)


def test_a_terminal_snapshot_finishes_with_the_terminal_event_last():
    """A Completed snapshot finishes the tracker, with no further delay."""
    tracker = _tracker()
    tracker.snapshot(_snap("Starting", "Training"), now=0.0)
    step = tracker.snapshot(_snap(*LIFECYCLE, primary="Completed"), now=10.0)
    assert isinstance(step.events[-1], JobCompleted)
    assert (True, None) == (step.finished, step.delay)
    assert tracker.finished


def test_no_time_left_finishes_without_a_terminal_event():
    """remaining=0 finishes after emitting what the snapshot showed."""
    step = _tracker().snapshot(_snap("Starting"), now=0.0, remaining=0.0)
    assert step.finished
    assert None is step.delay


def test_the_delay_never_exceeds_the_time_remaining():
    """A remaining time shorter than the schedule's delay caps the delay."""
    schedule = PollSchedule.fixed(30.0)
    step = _tracker(schedule=schedule).snapshot(_snap("Training"), now=0, remaining=4)
    assert 4.0 == step.delay


def test_a_finished_tracker_refuses_more_input():
    """After a finishing step, feeding anything raises RuntimeError."""
    tracker = _tracker()
    tracker.snapshot(_snap(*LIFECYCLE, primary="Completed"), now=0.0)
    with pytest.raises(RuntimeError, match="finished"):
        tracker.snapshot(_snap("Starting"), now=1.0)
    with pytest.raises(RuntimeError, match="finished"):
        tracker.failed(ErrorKind.TRANSIENT, _error(ErrorKind.TRANSIENT), now=1.0)


def test_another_job_of_the_same_name_is_lost():
    """A snapshot with another ARN loses the job with JobReplaced."""
    tracker = _tracker()
    tracker.snapshot(_snap("Starting"), now=0.0)
    step = tracker.snapshot(_snap("Starting", arn=ARN + "-2"), now=5.0)
    assert isinstance(step.lost, JobReplaced)
    assert tracker.finished


def test_progress_ticks_do_not_reset_the_schedule():
    """Only ProgressChanged events keep the backoff growing, as in next_delay."""
    schedule = PollSchedule(jitter=0.0)
    tracker = _tracker(schedule=schedule)
    delays = []
    for tick in range(6):
        step = tracker.snapshot(_snap("Training", progress=tick), now=float(tick))
        delays.append(step.delay)
        if tick:
            assert [ProgressChanged] == [type(e) for e in step.events]
    assert [2.0, 4.0, 8.0, 16.0, 32.0, 60.0] == delays


def test_a_resumed_tracker_repeats_nothing():
    """A tracker resumed from an event's token emits only what came after."""
    first = _tracker()
    events = first.snapshot(_snap("Starting", "Training"), now=0.0).events
    cursor = ResumeCursor.from_token(events[-1].resume_token, job_name="job")
    step = _tracker(resume=cursor).snapshot(_snap("Starting", "Training"), now=0.0)
    assert () == step.events


def test_transient_failures_are_retried_then_lost_after_max_attempts():
    """Transient failures retry as attempts 1..n-1, then lose with the error."""
    error = _error(ErrorKind.TRANSIENT)
    tracker = _tracker(retry=RetryPolicy(max_attempts=3, max_elapsed=None))
    steps = [tracker.failed(ErrorKind.TRANSIENT, error, now=float(i)) for i in range(3)]
    assert [1, 2] == [step.retry.attempt for step in steps[:2]]
    assert error is steps[2].lost
    assert (None, None) == (steps[2].delay, steps[2].retry)


def test_a_snapshot_resets_the_retry_count():
    """After a successful poll the next failure is attempt 1 again."""
    tracker = _tracker(retry=RetryPolicy(max_attempts=2, max_elapsed=None))
    tracker.failed(ErrorKind.TRANSIENT, _error(ErrorKind.TRANSIENT), now=0.0)
    tracker.snapshot(_snap("Starting"), now=1.0)
    step = tracker.failed(ErrorKind.TRANSIENT, _error(ErrorKind.TRANSIENT), now=50.0)
    assert 1 == step.retry.attempt


def test_retry_delays_are_the_policys_full_jitter():
    """The retry delay is RetryPolicy.wait_for drawn from the tracker's generator."""
    policy = RetryPolicy()
    step = _tracker(seed=7, retry=policy).failed(
        ErrorKind.TRANSIENT, _error(ErrorKind.TRANSIENT), now=3.0
    )
    assert policy.wait_for(1, random.Random(7)) == step.delay


def test_fatal_failures_are_lost_at_once():
    """A fatal failure loses the job on the first attempt."""
    error = _error(ErrorKind.FATAL)
    assert Step(lost=error) == _tracker().failed(ErrorKind.FATAL, error, now=0.0)


def test_not_found_is_retried_within_the_grace_for_a_job_never_seen():
    """A job never seen gets the not-found grace, logged as NOT_FOUND retries."""
    tracker = _tracker(retry=RetryPolicy(not_found_grace=30.0))
    error = _error(ErrorKind.NOT_FOUND)
    first = tracker.failed(ErrorKind.NOT_FOUND, error, now=100.0)
    assert ErrorKind.NOT_FOUND == first.retry.kind
    assert tracker.failed(ErrorKind.NOT_FOUND, error, now=129.0).retry is not None
    assert error is tracker.failed(ErrorKind.NOT_FOUND, error, now=130.0).lost


def test_not_found_after_the_job_was_seen_is_lost_at_once():
    """Once a snapshot was seen, not found is final on the first failure."""
    tracker = _tracker()
    tracker.snapshot(_snap("Starting"), now=0.0)
    error = _error(ErrorKind.NOT_FOUND)
    assert error is tracker.failed(ErrorKind.NOT_FOUND, error, now=1.0).lost


def test_a_throttle_stretches_the_next_poll():
    """A throttled failure makes the next snapshot's delay a throttled one."""
    schedule = PollSchedule(jitter=0.0)
    plain, throttled = _tracker(schedule=schedule), _tracker(schedule=schedule)
    throttled.failed(ErrorKind.THROTTLED, _error(ErrorKind.THROTTLED), now=0.0)
    base = plain.snapshot(_snap("Starting"), now=1.0).delay
    stretched = throttled.snapshot(_snap("Starting"), now=1.0).delay
    assert base * schedule.throttle_multiplier == stretched


def test_retry_delay_stops_at_the_bounds():
    """retry_delay gives None at max_attempts or max_elapsed, else a capped wait."""
    policy = RetryPolicy(max_attempts=5, max_elapsed=10.0, initial_delay=8.0)
    rng = random.Random(0)
    assert None is retry_delay(policy, attempt=5, elapsed=0.0, rng=rng)
    assert None is retry_delay(policy, attempt=1, elapsed=10.0, rng=rng)
    assert 0.5 >= retry_delay(policy, attempt=4, elapsed=9.5, rng=rng)


def test_repr_is_short():
    """A tracker's repr names the job and whether it finished."""
    assert "JobTracker('job', finished=False)" == repr(_tracker())


@settings(max_examples=200, deadline=None)
@given(
    max_attempts=st.one_of(st.none(), st.integers(1, 8)),
    max_elapsed=st.one_of(st.none(), st.floats(0, 100)),
    kinds=st.lists(st.sampled_from(KINDS[:2]), min_size=1, max_size=40),
    gaps=st.lists(st.floats(0, 30), min_size=40, max_size=40),
    seed=st.integers(0, 2**32),
)
def test_retries_never_exceed_the_policy(max_attempts, max_elapsed, kinds, gaps, seed):
    """Property: transient retries stay within the policy; throttles never lose.

    Failing time is what led up to transient failures: the time until a
    throttled answer is not counted.
    """
    if max_attempts is None and max_elapsed is None:
        max_attempts = 3
    policy = RetryPolicy(max_attempts=max_attempts, max_elapsed=max_elapsed)
    tracker = _tracker(seed=seed, retry=policy)
    now, since_last, transients, failing = 0.0, 0.0, 0, None
    for kind, gap in zip(kinds, gaps, strict=False):
        step = tracker.failed(kind, _error(kind), now=now)
        if kind is ErrorKind.THROTTLED:
            assert None is step.lost
        else:
            transients += 1
            failing = 0.0 if failing is None else failing + since_last
        if step.lost is not None:
            assert (max_attempts is not None and transients >= max_attempts) or (
                max_elapsed is not None and failing >= max_elapsed - 1e-6
            )
            break
        assert isinstance(step.retry, RetryScheduled)
        if kind is ErrorKind.TRANSIENT and max_attempts is not None:
            assert transients < max_attempts
        if kind is ErrorKind.TRANSIENT and max_elapsed is not None:
            assert failing + step.delay <= max_elapsed + 1e-9
        since_last = step.delay + gap
        now += since_last
    else:
        assert not tracker.finished


@settings(max_examples=100, deadline=None)
@given(
    cut=st.integers(1, len(LIFECYCLE)),
    polls=st.lists(st.integers(1, len(LIFECYCLE)), min_size=1, max_size=8),
)
def test_events_equal_diffs_over_any_poll_sequence(cut, polls):
    """Property: the tracker's events are exactly what chained diffs yield."""
    sequence = sorted([*polls, cut])
    tracker, previous = _tracker(), None
    for index, length in enumerate(sequence):
        primary = "Completed" if length == len(LIFECYCLE) else "InProgress"
        snapshot = _snap(*LIFECYCLE[:length], primary=primary, seconds=index)
        expected = diff_with_anomalies(previous, snapshot)
        previous = expected.cursor
        step = tracker.snapshot(snapshot, now=float(index))
        assert expected.events == step.events
        if step.finished:
            assert length == len(LIFECYCLE)
            break


def _fail_until_lost(tracker, kind=ErrorKind.TRANSIENT, *, start=0.0, gap=1.0):
    """Feed *kind* failures *gap* seconds apart; return when the job was lost."""
    now = start
    while (step := tracker.failed(kind, _error(kind), now=now)).lost is None:
        now += step.delay + gap
    return now


def test_a_job_never_seen_gives_up_after_unseen_max_elapsed():
    """Transient errors before the first snapshot stop at unseen_max_elapsed."""
    policy = RetryPolicy(max_attempts=None, max_elapsed=900.0, unseen_max_elapsed=20.0)
    lost_at = _fail_until_lost(_tracker(retry=policy), start=100.0)
    assert 120.0 <= lost_at <= 121.0 + policy.max_delay


def test_a_job_seen_once_rides_out_max_elapsed():
    """After a snapshot, transient errors are retried for max_elapsed."""
    policy = RetryPolicy(max_attempts=None, max_elapsed=900.0, unseen_max_elapsed=20.0)
    tracker = _tracker(retry=policy)
    tracker.snapshot(_snap("Starting"), now=0.0)
    lost_at = _fail_until_lost(tracker, start=100.0)
    assert 1000.0 <= lost_at <= 1001.0 + policy.max_delay


def test_a_resumed_job_counts_as_seen_for_unseen_max_elapsed():
    """A tracker resumed from a token rides out max_elapsed, not the unseen bound."""
    events = _tracker().snapshot(_snap("Starting"), now=0.0).events
    cursor = ResumeCursor.from_token(events[-1].resume_token, job_name="job")
    policy = RetryPolicy(max_attempts=None, max_elapsed=300.0, unseen_max_elapsed=5.0)
    lost_at = _fail_until_lost(_tracker(retry=policy, resume=cursor))
    assert 300.0 <= lost_at


def test_without_unseen_max_elapsed_a_job_never_seen_gets_max_elapsed():
    """unseen_max_elapsed=None (the default) leaves max_elapsed in charge."""
    policy = RetryPolicy(max_attempts=None, max_elapsed=100.0)
    assert None is policy.unseen_max_elapsed
    assert 100.0 <= _fail_until_lost(_tracker(retry=policy))


def test_not_found_keeps_its_grace_under_unseen_max_elapsed():
    """A short unseen_max_elapsed does not cut the not-found grace."""
    policy = RetryPolicy(not_found_grace=30.0, unseen_max_elapsed=1.0)
    tracker = _tracker(retry=policy)
    error = _error(ErrorKind.NOT_FOUND)
    tracker.failed(ErrorKind.NOT_FOUND, error, now=0.0)
    assert tracker.failed(ErrorKind.NOT_FOUND, error, now=29.0).retry is not None
    assert error is tracker.failed(ErrorKind.NOT_FOUND, error, now=30.0).lost


@pytest.mark.parametrize("value", [-1.0, math.inf, math.nan, True, "5"])
def test_unseen_max_elapsed_must_be_a_finite_number(value):
    """unseen_max_elapsed is validated like the other durations."""
    with pytest.raises(ValueError, match="unseen_max_elapsed"):
        RetryPolicy(unseen_max_elapsed=value)


def _throttle(tracker, now):
    """Feed one throttled failure at *now*; return the step."""
    return tracker.failed(ErrorKind.THROTTLED, _error(ErrorKind.THROTTLED), now=now)


def test_a_long_throttling_storm_never_loses_the_job():
    """Throttles for hours, far past max_attempts and max_elapsed, lose nothing."""
    policy = RetryPolicy(max_attempts=3, max_elapsed=60.0)
    tracker, now = _tracker(retry=policy), 0.0
    for _ in range(5_000):
        step = _throttle(tracker, now)
        assert None is step.lost
        now += step.delay + 1.0
    assert now > 10 * 3600
    assert () != tracker.snapshot(_snap("Starting"), now=now).events


def test_transient_errors_still_exhaust_after_a_throttling_storm():
    """After many throttles, transient errors are lost at max_attempts as before."""
    tracker = _tracker(retry=RetryPolicy(max_attempts=3, max_elapsed=None))
    for index in range(100):
        _throttle(tracker, float(index))
    error = _error(ErrorKind.TRANSIENT)
    steps = [
        tracker.failed(ErrorKind.TRANSIENT, error, now=200.0 + i) for i in range(3)
    ]
    assert [False, False] == [step.lost is error for step in steps[:2]]
    assert error is steps[2].lost


def test_throttles_between_transient_errors_use_up_no_attempts():
    """Throttles interleaved with transients neither advance nor reset the count."""
    tracker = _tracker(retry=RetryPolicy(max_attempts=3, max_elapsed=None))
    error = _error(ErrorKind.TRANSIENT)
    now = 0.0
    for expected_lost in (False, False, True):
        for _ in range(10):
            now += 1.0
            assert None is _throttle(tracker, now).lost
        now += 1.0
        step = tracker.failed(ErrorKind.TRANSIENT, error, now=now)
        assert expected_lost == (step.lost is error)


def test_time_spent_throttled_does_not_count_toward_max_elapsed():
    """max_elapsed counts only time that ended in transient errors, not throttles."""
    tracker = _tracker(retry=RetryPolicy(max_attempts=None, max_elapsed=100.0))
    error = _error(ErrorKind.TRANSIENT)
    assert None is tracker.failed(ErrorKind.TRANSIENT, error, now=0.0).lost
    for second in range(1, 1000):
        _throttle(tracker, float(second))
    assert None is tracker.failed(ErrorKind.TRANSIENT, error, now=1050.0).lost
    assert error is tracker.failed(ErrorKind.TRANSIENT, error, now=1200.0).lost


def test_throttle_waits_grow_with_full_jitter_up_to_max_delay():
    """The n-th throttle in a row waits RetryPolicy.wait_for(n), up to max_delay."""
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0)
    tracker, expected_rng = _tracker(seed=3, retry=policy), random.Random(3)
    for streak in range(1, 12):
        step = _throttle(tracker, float(streak))
        assert policy.wait_for(streak, expected_rng) == step.delay
        assert ErrorKind.THROTTLED == step.retry.kind
        assert step.delay <= min(8.0, 2.0 ** (streak - 1))


def test_a_snapshot_ends_the_throttle_streak():
    """After a successful poll the next throttle waits as the first one did."""
    policy = RetryPolicy(initial_delay=1.0, max_delay=30.0)
    tracker = _tracker(seed=5, retry=policy)
    for second in range(10):
        _throttle(tracker, float(second))
    tracker.snapshot(_snap("Starting"), now=20.0)
    assert 1.0 >= _throttle(tracker, 21.0).delay


def test_retry_attempts_count_every_failed_attempt_of_the_poll():
    """RetryScheduled.attempt numbers all failures since the last success."""
    tracker = _tracker(retry=RetryPolicy(max_attempts=5, max_elapsed=None))
    kinds = [ErrorKind.THROTTLED, ErrorKind.TRANSIENT, ErrorKind.THROTTLED]
    steps = [tracker.failed(k, _error(k), now=float(i)) for i, k in enumerate(kinds)]
    assert [1, 2, 3] == [step.retry.attempt for step in steps]
