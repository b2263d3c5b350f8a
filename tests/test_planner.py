"""Tests for the fleet's planner: scheduling decisions, directly, without sockets."""

from __future__ import annotations

import bisect
import importlib.util
import json
import math
import random
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.planner import (
    CENSUS_STRETCH,
    FIRST_LOOK_SLACK,
    LAG_DELAY_CAP,
    LAG_RETRIES,
    RECHECK_SHARE,
    RECHECK_SLACK,
    RECHECK_SPREAD,
    DueQueue,
    JobTiming,
    census_interval,
    due_at,
    is_routine,
    lag_delay,
    next_due,
    recheck_interval,
    recheck_phase,
    routine_due,
)
from sagemaker_watch._io.ratelimit import TokenBucket

OPERATION = "DescribeTrainingJob"


class SimulatedBudget:
    """A real token bucket on simulated time (the planner's ``Budget``)."""

    def __init__(self, *, rate: float, burst: float) -> None:
        """Start full at time 0."""
        self.now = 0.0
        self.bucket = TokenBucket(rate=rate, burst=burst, now=0.0)
        self.taken: list[float] = []

    def try_take(self, operation: str) -> bool:
        """Take a token now if one is there."""
        assert OPERATION == operation
        if self.bucket.try_take(self.now):
            self.taken.append(self.now)
            return True
        return False

    def delay(self, operation: str) -> float:
        """Seconds until a token is there."""
        assert OPERATION == operation
        return self.bucket.delay(self.now)


def run(queue, budget, *, until, on_poll):
    """Drive ``next_due`` as the fleet does until *until*; call *on_poll* per poll."""
    while budget.now <= until:
        name, wait = next_due(queue, budget.now, budget, OPERATION)
        if name is not None:
            on_poll(name, budget.now)
            continue
        if wait is None:
            return
        budget.now += max(wait, 1e-9)


def test_the_planner_imports_nothing_with_io():
    """The planner is pure: importing it loads no anyio, botocore or the like."""
    spec = importlib.util.find_spec("sagemaker_watch")
    assert spec is not None
    assert spec.submodule_search_locations is not None
    source = next(iter(spec.submodule_search_locations))
    probe = textwrap.dedent(
        """
        import importlib, json, sys, types
        package = types.ModuleType("sagemaker_watch")
        package.__path__ = [sys.argv[1]]
        sys.modules["sagemaker_watch"] = package
        importlib.import_module("sagemaker_watch._core.planner")
        print(json.dumps(sorted(sys.modules)))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-I", "-c", probe, source],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {name.partition(".")[0] for name in json.loads(completed.stdout)}
    forbidden = {"aiobotocore", "anyio", "botocore", "structlog", "tenacity"}
    assert set() == loaded & forbidden


@settings(max_examples=60, deadline=None)
@given(
    intervals=st.lists(st.floats(0.5, 30.0), min_size=1, max_size=25),
    rate=st.floats(0.5, 20.0),
    burst=st.floats(1.0, 5.0),
)
def test_no_job_is_starved(intervals, rate, burst):
    """Every job is polled when due, at most (jobs + 1) / rate late, never early."""
    queue = DueQueue()
    budget = SimulatedBudget(rate=rate, burst=burst)
    due = {}
    lateness = []
    for i in range(len(intervals)):
        due[f"job-{i}"] = 0.0
        queue.schedule(f"job-{i}", 0.0)

    def on_poll(name, now):
        lateness.append(now - due[name])
        due[name] = now + intervals[int(name.removeprefix("job-"))]
        queue.schedule(name, due[name])

    run(queue, budget, until=120.0, on_poll=on_poll)
    bound = (len(intervals) + 1) / rate + 1e-6
    assert [] == [late for late in lateness if late > bound]
    assert [] == [late for late in lateness if late < -1e-6]
    assert all(when > 120.0 - bound for when in due.values())


@settings(max_examples=60, deadline=None)
@given(
    jobs=st.integers(1, 40),
    interval=st.floats(0.01, 5.0),
    rate=st.floats(0.5, 20.0),
    burst=st.floats(1.0, 5.0),
    window=st.floats(0.5, 20.0),
)
def test_the_budget_is_never_exceeded(jobs, interval, rate, burst, window):
    """In any window, polls never exceed the burst plus the rate times its length."""
    queue = DueQueue()
    budget = SimulatedBudget(rate=rate, burst=burst)
    for i in range(jobs):
        queue.schedule(f"job-{i}", 0.0)

    taken = []

    def on_poll(name, now):
        taken.append(now)
        queue.schedule(name, now + interval)

    run(queue, budget, until=60.0, on_poll=on_poll)
    for start, begun in enumerate(taken):
        inside = [t for t in taken[start:] if t <= begun + window]
        assert len(inside) <= burst + rate * window + 1e-6


@settings(max_examples=80, deadline=None)
@given(
    actions=st.lists(
        st.tuples(
            st.sampled_from(["add", "remove", "poll"]),
            st.integers(0, 9),
            st.floats(0.0, 10.0),
        ),
        max_size=60,
    )
)
def test_a_removed_job_is_never_polled(actions):
    """After a job is removed (until it is added again) next_due never returns it."""
    queue = DueQueue()
    budget = SimulatedBudget(rate=1000.0, burst=1000.0)
    watched = set()
    for action, index, delay in actions:
        name = f"job-{index}"
        if action == "add":
            watched.add(name)
            queue.schedule(name, budget.now + delay)
        elif action == "remove":
            watched.discard(name)
            queue.discard(name)
        else:
            budget.now += delay
            picked, _ = next_due(queue, budget.now, budget, OPERATION)
            if picked is not None:
                assert picked in watched
                queue.schedule(picked, budget.now + delay)
    budget.now += 1000.0
    while (picked := next_due(queue, budget.now, budget, OPERATION)[0]) is not None:
        assert picked in watched


def test_routine_due_follows_the_schedule_or_the_recheck():
    """Per-job schedules when not listing, the re-check when listing, resumed after."""
    job = JobTiming("job", 0.0)
    assert 0.0 == routine_due(job, rechecking=True, swept_at=None, recheck=900.0)
    job.observed_at, job.schedule_due = 10.0, 40.0
    assert 40.0 == routine_due(job, rechecking=False, swept_at=None, recheck=900.0)
    assert 910.0 == routine_due(job, rechecking=True, swept_at=None, recheck=900.0)
    # Falling back after a sweep at 100 that showed the job unchanged: 30 s on.
    assert 130.0 == routine_due(job, rechecking=False, swept_at=100.0, recheck=900.0)
    job.urgent = 20.0
    assert 20.0 == due_at(job, 40.0)
    job.retry_at = 25.0
    assert 25.0 == due_at(job, 40.0)


def test_a_census_that_vouches_defers_the_recheck_within_its_stretch():
    """A vouch moves the re-check one interval on, never past four after a describe."""
    job = JobTiming("job", 0.0)
    job.observed_at = 10.0
    job.vouched_at = 5.0  # before the describe: no news
    assert 910.0 == routine_due(job, rechecking=True, swept_at=None, recheck=900.0)
    job.vouched_at = 500.0
    assert 1400.0 == routine_due(job, rechecking=True, swept_at=None, recheck=900.0)
    job.vouched_at = 3000.0
    assert 10.0 + CENSUS_STRETCH * 900.0 == routine_due(
        job, rechecking=True, swept_at=None, recheck=900.0
    )
    job.phase = 1.0  # half an interval sooner: 450 s
    assert 10.0 + CENSUS_STRETCH * 450.0 == routine_due(
        job, rechecking=True, swept_at=None, recheck=900.0
    )
    # Not rechecking (per-job schedules): a vouch changes nothing.
    job.schedule_due = 40.0
    assert 40.0 == routine_due(job, rechecking=False, swept_at=None, recheck=900.0)


@given(
    recheck=st.floats(1.0, 1e6),
    phase=st.floats(0.0, 0.999),
    lateness=st.floats(0.0, 1.0),
)
def test_censuses_come_before_any_jobs_recheck(recheck, phase, lateness):
    """A census every census_interval, read up to one interval late, vouches in time."""
    job = JobTiming("job", 0.0)
    job.observed_at, job.phase = 0.0, phase
    job.vouched_at = recheck  # one interval after the describe
    due = routine_due(job, rechecking=True, swept_at=None, recheck=recheck)
    # The next census begins one census interval after the vouching one, and
    # reaches the job's page within another.
    next_vouch = recheck + census_interval(recheck) * (1.0 + lateness)
    assert next_vouch <= due


def test_rechecks_take_at_most_half_the_describe_budget():
    """10,000 jobs at 10/s re-check 1,333-2,667 s apart (2,000 s on average)."""
    assert 900.0 == recheck_interval(active=10, interval=900.0, describe_rate=10.0)
    stretched = recheck_interval(active=10_000, interval=900.0, describe_rate=10.0)
    assert pytest.approx(2000.0) == stretched * (1 - RECHECK_SPREAD / 2)


def test_lagging_describes_are_retried_then_given_up():
    """1, 2, 4, then every 5 s, for at most about 50 s in all."""
    delays = [lag_delay(n) for n in range(LAG_RETRIES + 1)]
    assert [1.0, 2.0, 4.0] + [LAG_DELAY_CAP] * (LAG_RETRIES - 3) == delays[:-1]
    assert delays[-1] is None
    assert 40 <= sum(d for d in delays if d is not None) <= 60


def test_the_due_queue_keeps_the_earliest_and_forgets_discarded_jobs():
    """Scheduling again keeps the earlier time unless replaced; pop returns by time."""
    queue = DueQueue()
    queue.schedule("a", 5.0)
    queue.schedule("a", 9.0)
    queue.schedule("b", 3.0)
    assert 5.0 == queue.due("a")
    queue.schedule("a", 9.0, replace=True)
    assert (3.0, "b") == queue.peek()
    assert 2 == len(queue)
    queue.discard("b")
    assert "b" not in queue
    assert "a" == queue.pop()
    assert queue.peek() is None
    with pytest.raises(IndexError):
        queue.pop()
    queue.schedule("c", 1.0)
    queue.discard("c")
    queue.schedule("c", 4.0)
    assert (4.0, "c") == queue.peek()
    queue.clear()
    assert 0 == len(queue)
    assert "DueQueue(jobs=0)" == repr(queue)


@settings(max_examples=100, deadline=None)
@given(
    jobs=st.lists(
        st.tuples(st.floats(0.0, 100.0), st.floats(0.1, 600.0)),
        min_size=1,
        max_size=30,
    ),
    swept_at=st.floats(0.0, 200.0),
)
def test_falling_back_from_listing_resumes_each_schedule_from_the_last_sweep(
    jobs, swept_at
):
    """After a fall-back no job is due before its own delay has passed since a sweep."""
    for observed, delay in jobs:
        job = JobTiming("job", 0.0)
        job.urgent = None
        job.observed_at, job.schedule_due = observed, observed + delay
        resumed = routine_due(job, rechecking=False, swept_at=swept_at, recheck=900.0)
        assert resumed >= job.schedule_due
        assert resumed >= swept_at + delay - 1e-9
        assert resumed == due_at(job, resumed)


def test_a_phased_recheck_comes_up_to_half_an_interval_sooner():
    """With a phase, the re-check comes that fraction of half an interval sooner."""
    job = JobTiming("job", 0.0)
    job.phase = 0.25
    job.observed_at = 10.0
    assert 360.0 == routine_due(job, rechecking=True, swept_at=None, recheck=400.0)
    job.phase = 0.0
    assert 410.0 == routine_due(job, rechecking=True, swept_at=None, recheck=400.0)


@settings(max_examples=100, deadline=None)
@given(
    index=st.integers(0, 10**6),
    observed=st.floats(0.0, 1e6),
    recheck=st.floats(1.0, 5000.0),
)
def test_a_phased_recheck_is_never_more_than_one_interval_away(
    index, observed, recheck
):
    """The next re-check comes after the observation, at most one interval later."""
    job = JobTiming("job", 0.0)
    job.phase = recheck_phase(index)
    job.observed_at = observed
    due = routine_due(job, rechecking=True, swept_at=None, recheck=recheck)
    assert observed + recheck * (1 - RECHECK_SPREAD) <= due <= observed + recheck


@settings(max_examples=60, deadline=None)
@given(
    jobs=st.integers(10, 3000),
    first=st.integers(0, 10**5),
    seen_within=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_rechecks_of_jobs_added_together_are_spread(jobs, first, seen_within, seed):
    """N jobs added at once and seen together: no window holds many more re-checks.

    Whatever the order and times they were seen (all at once, or spread over
    up to one interval), any window of k/N of half the interval holds at most
    k re-checks, as N spread evenly over half the interval would, plus what
    chance in the times they were seen adds (a few standard deviations).
    """
    rng = random.Random(seed)
    recheck = recheck_interval(active=jobs, interval=900.0, describe_rate=10.0)
    dues = []
    for index in range(first, first + jobs):
        job = JobTiming(f"job-{index}", 0.0)
        job.phase = recheck_phase(index)
        job.observed_at = rng.uniform(0.0, seen_within * recheck)
        dues.append(routine_due(job, rechecking=True, swept_at=None, recheck=recheck))
    dues.sort()
    for k in (1, 10, 100):
        width = k * RECHECK_SPREAD * recheck / jobs
        worst = max(
            bisect.bisect_right(dues, start + width) - i for i, start in enumerate(dues)
        )
        assert worst <= k + 5 * math.sqrt(k) + 10, (k, worst)


def test_a_change_goes_before_a_recheck_due_at_the_same_time():
    """Of a routine re-check and a change due at once, the change is described first."""
    queue = DueQueue()
    queue.schedule("recheck", 5.0, routine=True)
    queue.schedule("changed", 5.0)
    budget = SimulatedBudget(rate=1.0, burst=1.0)
    budget.now = 5.0
    assert ("changed", None) == next_due(queue, 5.0, budget, OPERATION)
    assert (None, pytest.approx(1.0)) == next_due(queue, 5.0, budget, OPERATION)


def test_a_recheck_late_by_more_than_the_slack_goes_before_a_fresh_change():
    """A re-check overdue by more than the slack is not passed over again."""
    queue = DueQueue()
    queue.schedule("recheck", 0.0, routine=True)
    queue.schedule("changed", RECHECK_SLACK + 1.0)
    budget = SimulatedBudget(rate=10.0, burst=10.0)
    budget.now = RECHECK_SLACK + 1.0
    assert "recheck" == next_due(queue, budget.now, budget, OPERATION)[0]
    assert "changed" == next_due(queue, budget.now, budget, OPERATION)[0]


def test_a_change_goes_before_a_first_look_due_as_early():
    """A seen job's change is described before a job never seen, due as early."""
    queue = DueQueue()
    queue.schedule("first", 0.0, first_look=True)
    queue.schedule("changed", 5.0)
    queue.schedule("recheck", 0.0, routine=True)
    budget = SimulatedBudget(rate=10.0, burst=10.0)
    budget.now = 5.0
    taken = [next_due(queue, 5.0, budget, OPERATION)[0] for _ in range(3)]
    assert ["changed", "first", "recheck"] == taken


def test_a_first_look_late_by_more_than_its_slack_goes_before_a_fresh_change():
    """A first look is passed over by changes for at most FIRST_LOOK_SLACK."""
    queue = DueQueue()
    queue.schedule("first", 0.0, first_look=True)
    queue.schedule("changed", FIRST_LOOK_SLACK + 1.0)
    budget = SimulatedBudget(rate=10.0, burst=10.0)
    budget.now = FIRST_LOOK_SLACK + 1.0
    assert "first" == next_due(queue, budget.now, budget, OPERATION)[0]
    assert "changed" == next_due(queue, budget.now, budget, OPERATION)[0]


@settings(max_examples=100, deadline=None)
@given(
    entries=st.lists(
        st.tuples(st.sampled_from(["changed", "first", "routine"]), st.floats(0, 2000)),
        min_size=1,
        max_size=40,
    ),
)
def test_no_class_is_passed_over_beyond_its_slack(entries):
    """Served in order, nothing waits behind a job due more than its slack later."""
    queue = DueQueue()
    kinds = {}
    for index, (kind, due) in enumerate(entries):
        name = f"job-{index}"
        kinds[name] = (kind, due)
        queue.schedule(name, due, routine=kind == "routine", first_look=kind == "first")
    served = []
    while (name := queue.take(10_000.0)) is not None:
        served.append(name)
    assert sorted(kinds) == sorted(served)
    slack = {"changed": 0.0, "first": FIRST_LOOK_SLACK, "routine": RECHECK_SLACK}
    for position, name in enumerate(served):
        kind, due = kinds[name]
        for later in served[position + 1 :]:
            other_kind, other_due = kinds[later]
            # A job served after *name* was not due more than its slack earlier.
            assert other_due + slack[other_kind] >= due - 1e-9 or (
                other_kind == kind and other_due >= due - 1e-9
            ), (name, later)


def test_a_job_is_routine_when_nothing_urgent_made_it_due_sooner():
    """Its due time is routine unless a change, a retry or a first describe set it."""
    job = JobTiming("job", 0.0)
    assert not is_routine(job, 900.0)
    job.urgent = None
    assert is_routine(job, 900.0)
    job.urgent = 1000.0
    assert is_routine(job, 900.0)
    job.urgent = 10.0
    assert not is_routine(job, 900.0)


@settings(max_examples=60, deadline=None)
@given(
    jobs=st.integers(1, 60),
    changes=st.lists(
        st.tuples(st.integers(0, 59), st.floats(0.0, 300.0)), max_size=300
    ),
    rate=st.floats(0.5, 20.0),
    burst=st.floats(1.0, 5.0),
    recheck=st.floats(10.0, 200.0),
)
def test_changes_go_first_without_starving_the_rechecks(
    jobs, changes, rate, burst, recheck
):
    """Changes go before re-checks due as early; re-checks are never starved.

    Jobs re-checked every *recheck* seconds at their phases compete with
    changes arriving at will (possibly more than the budget): a change is
    never passed over for a re-check due at the same time or later, each
    re-check happens at most the slack plus one interval's worth of calls
    late, and the calls in any window never exceed the budget.
    """
    recheck = max(recheck, jobs / (RECHECK_SHARE * rate))
    queue = DueQueue()
    budget = SimulatedBudget(rate=rate, burst=burst)
    timings = {}
    for index in range(jobs):
        job = JobTiming(f"job-{index}", 0.0)
        job.phase, job.observed_at, job.urgent = recheck_phase(index), 0.0, None
        timings[job.name] = job
    pending = sorted((at, f"job-{i % jobs}") for i, at in changes)
    routine_late, passed_over, taken = [], [], []

    def requeue(job):
        routine = routine_due(job, rechecking=True, swept_at=None, recheck=recheck)
        queue.schedule(job.name, due_at(job, routine), routine=is_routine(job, routine))

    for job in timings.values():
        requeue(job)
    while budget.now <= 400.0:
        while pending and pending[0][0] <= budget.now:
            at, name = pending.pop(0)
            timings[name].hurry(at)
            requeue(timings[name])
        entries = {
            name: (queue.due(name), queue.routine(name))
            for name in list(timings)
            if name in queue
        }
        name, wait = next_due(queue, budget.now, budget, OPERATION)
        if name is not None:
            taken.append(budget.now)
            due, routine = entries[name]
            if routine:
                routine_late.append(budget.now - due)
                passed_over.extend(
                    other
                    for other, (d, r) in entries.items()
                    if not r and d <= due + 1e-9 and d <= budget.now
                )
            job = timings[name]
            job.urgent, job.observed_at = None, budget.now
            requeue(job)
            continue
        nxt = [w for w in (wait, pending[0][0] - budget.now if pending else None) if w]
        budget.now += max(min(nxt) if nxt else 1.0, 1e-9)
    assert [] == passed_over
    bound = RECHECK_SLACK + (jobs + len(changes) + burst + 1) / rate + 1e-6
    assert [] == [late for late in routine_late if late > bound]
    for start, begun in enumerate(taken):
        inside = [t for t in taken[start:] if t <= begun + 10.0]
        assert len(inside) <= burst + rate * 10.0 + 1e-6
