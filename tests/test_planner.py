"""Tests for the fleet's planner: scheduling decisions, directly, without sockets."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
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
    FIRST_LOOK_SLACK,
    LAG_DELAY_CAP,
    LAG_RETRIES,
    LIST_THROTTLES_BEFORE_FALLBACK,
    MIN_PAGE_BOUND,
    RECHECK_SHARE,
    RECHECK_SLACK,
    RECHECK_SPREAD,
    DueQueue,
    JobTiming,
    PageVerdict,
    ServiceClock,
    covers,
    due_at,
    is_routine,
    lag_delay,
    list_failed,
    mark_page,
    max_pages,
    new_sweep,
    next_due,
    page_read,
    percentile,
    recheck_interval,
    recheck_phase,
    routine_due,
    sweep_wait,
    wants_listing,
)
from sagemaker_watch._core.status import PrimaryStatus, SecondaryStatus
from sagemaker_watch._io.ratelimit import TokenBucket

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
OPERATION = "DescribeTrainingJob"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """A list summary, as the planner reads one."""

    job_name: str
    last_modified_time: dt.datetime | None
    primary_status: PrimaryStatus | None
    secondary_status: SecondaryStatus | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Seen:
    """A job's last snapshot, as the planner reads one."""

    last_modified_time: dt.datetime | None
    primary_status: PrimaryStatus
    secondary_status: SecondaryStatus | None


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


STATUSES = st.sampled_from(
    [SecondaryStatus.STARTING, SecondaryStatus.TRAINING, SecondaryStatus.UPLOADING]
)
PRIMARIES = st.sampled_from([PrimaryStatus.IN_PROGRESS, PrimaryStatus.STOPPING])
STAMPS = st.one_of(
    st.none(), st.integers(0, 5).map(lambda s: EPOCH + dt.timedelta(seconds=s))
)


def changed(seen, summary):
    """Whether *summary* reports what *seen* does not show (stated independently)."""
    listed, last = summary.last_modified_time, seen.last_modified_time
    differ = summary.primary_status not in {None, seen.primary_status} or (
        summary.secondary_status not in {None, seen.secondary_status}
    )
    if listed is not None and last is not None:
        return listed > last or (listed == last and differ)
    return differ


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


@settings(max_examples=150, deadline=None)
@given(
    jobs=st.dictionaries(
        st.sampled_from([f"job-{i}" for i in range(8)]),
        st.tuples(
            st.one_of(
                st.none(),
                st.builds(
                    Seen,
                    last_modified_time=STAMPS,
                    primary_status=PRIMARIES,
                    secondary_status=STATUSES,
                ),
            ),
            st.booleans(),
            st.booleans(),
        ),
    ),
    summaries=st.lists(
        st.builds(
            Summary,
            job_name=st.sampled_from([f"job-{i}" for i in range(10)]),
            last_modified_time=STAMPS,
            primary_status=st.one_of(st.none(), PRIMARIES),
            secondary_status=st.one_of(st.none(), STATUSES),
        ),
        max_size=12,
    ),
)
def test_a_page_marks_exactly_the_changed_jobs_due(jobs, summaries):
    """A job is made due iff watched, observed, idle, and a summary reports a change."""
    timings = {}
    for name, (_, active, in_flight) in jobs.items():
        timing = JobTiming(name, 0.0)
        timing.urgent = None
        timing.active, timing.in_flight = active, in_flight
        timings[name] = timing
    view = {name: (timings[name], seen) for name, (seen, _, _) in jobs.items()}
    due, skipped = mark_page(
        view, summaries, now=100.0, service=ServiceClock(), local=EPOCH
    )
    expected = {
        s.job_name
        for s in summaries
        if s.job_name in jobs
        and jobs[s.job_name][0] is not None
        and jobs[s.job_name][1]
        and not jobs[s.job_name][2]
        and changed(jobs[s.job_name][0], s)
    }
    assert [] == skipped
    assert expected == set(due)
    assert all(timings[name].urgent is not None for name in due)
    untouched = set(jobs) - set(due)
    assert all(timings[name].urgent is None for name in untouched)


def test_a_summary_already_acted_on_is_not_acted_on_again():
    """The same summary after its describe was sent marks the job due no more."""
    timing = JobTiming("job", 0.0)
    seen = Seen(
        last_modified_time=EPOCH,
        primary_status=PrimaryStatus.IN_PROGRESS,
        secondary_status=SecondaryStatus.STARTING,
    )
    summary = Summary(
        job_name="job",
        last_modified_time=EPOCH + dt.timedelta(seconds=3),
        primary_status=PrimaryStatus.IN_PROGRESS,
        secondary_status=SecondaryStatus.TRAINING,
    )
    clock = ServiceClock()
    first, _ = mark_page(
        {"job": (timing, seen)}, [summary], now=10.0, service=clock, local=EPOCH
    )
    timing.sent()
    again, _ = mark_page(
        {"job": (timing, seen)}, [summary], now=11.0, service=clock, local=EPOCH
    )
    assert ["job"] == first
    assert [] == again
    assert summary is timing.chasing


def test_a_change_is_due_since_it_happened_on_the_service_clock():
    """A change the service stamped 4 s ago makes the job due 4 s in the past."""
    timing = JobTiming("job", 0.0)
    timing.urgent = None
    seen = Seen(
        last_modified_time=EPOCH,
        primary_status=PrimaryStatus.IN_PROGRESS,
        secondary_status=SecondaryStatus.STARTING,
    )
    clock = ServiceClock()
    clock.mark("other", EPOCH + dt.timedelta(seconds=10), 50.0)
    clock.mark("job", EPOCH + dt.timedelta(seconds=6), 50.0)
    summary = Summary(
        job_name="job",
        last_modified_time=EPOCH + dt.timedelta(seconds=6),
        primary_status=None,
        secondary_status=SecondaryStatus.TRAINING,
    )
    mark_page(
        {"job": (timing, seen)},
        [summary],
        now=50.0,
        service=clock,
        local=EPOCH + dt.timedelta(days=365),
    )
    assert 50.0 == timing.urgent


def test_one_far_future_stamp_does_not_move_the_service_clock():
    """The second-best of two jobs' marks is the service clock, not the outlier."""
    clock = ServiceClock()
    local = EPOCH + dt.timedelta(hours=1)
    assert local == clock.at(0.0, local)
    clock.mark("a", EPOCH + dt.timedelta(days=1000), 0.0)
    clock.mark("b", EPOCH, 0.0)
    assert EPOCH + dt.timedelta(seconds=5) == clock.at(5.0, local)
    clock.mark("c", None, 1.0)
    clock.mark("d", dt.datetime.min.replace(tzinfo=dt.UTC), 1e12)
    assert EPOCH + dt.timedelta(seconds=5) == clock.at(5.0, local)


def test_routine_due_follows_the_schedule_or_the_recheck():
    """Per-job schedules when not listing, the re-check when listing, resumed after."""
    job = JobTiming("job", 0.0)
    assert 0.0 == routine_due(job, listing=True, swept_at=None, recheck=900.0)
    job.observed_at, job.schedule_due = 10.0, 40.0
    assert 40.0 == routine_due(job, listing=False, swept_at=None, recheck=900.0)
    assert 910.0 == routine_due(job, listing=True, swept_at=None, recheck=900.0)
    # Falling back after a sweep at 100 that showed the job unchanged: 30 s on.
    assert 130.0 == routine_due(job, listing=False, swept_at=100.0, recheck=900.0)
    job.urgent = 20.0
    assert 20.0 == due_at(job, 40.0)
    job.retry_at = 25.0
    assert 25.0 == due_at(job, 40.0)


def test_rechecks_take_at_most_half_the_describe_budget():
    """10,000 jobs at 10/s re-check 1,333-2,667 s apart (2,000 s on average)."""
    assert 900.0 == recheck_interval(active=10, interval=900.0, describe_rate=10.0)
    stretched = recheck_interval(active=10_000, interval=900.0, describe_rate=10.0)
    assert pytest.approx(2000.0) == stretched * (1 - RECHECK_SPREAD / 2)


@pytest.mark.parametrize(
    ("interval", "forbidden", "failing", "active", "expected"),
    [
        (5.0, False, False, 10, True),
        (None, False, False, 10, False),
        (5.0, True, False, 10, False),
        (5.0, False, True, 10, False),
        (5.0, False, False, 9, False),
    ],
)
def test_listing_needs_sweeps_allowed_working_and_worth_it(
    interval, forbidden, failing, active, expected
):
    """Listing is on only with an interval, permission, no failure and enough jobs."""
    assert expected == wants_listing(
        sweep_interval=interval,
        forbidden=forbidden,
        failing=failing,
        active=active,
        min_jobs=10,
    )


def test_lagging_describes_are_retried_then_given_up():
    """1, 2, 4, then every 5 s, for at most about 50 s in all."""
    delays = [lag_delay(n) for n in range(LAG_RETRIES + 1)]
    assert [1.0, 2.0, 4.0] + [LAG_DELAY_CAP] * (LAG_RETRIES - 3) == delays[:-1]
    assert delays[-1] is None
    assert 40 <= sum(d for d in delays if d is not None) <= 60


def test_a_sweep_follows_its_pages_and_stops_endless_ones():
    """Pages go on while tokens are new; a repeated token or too many pages end it."""
    sweep = new_sweep(
        now=5.0,
        local=EPOCH,
        begun=EPOCH,
        overlap=60.0,
        creation_times=[EPOCH, EPOCH - dt.timedelta(hours=1)],
        active=2,
    )
    assert EPOCH - dt.timedelta(seconds=60) == sweep.since
    assert EPOCH - dt.timedelta(hours=1, seconds=1) == sweep.created_after
    assert PageVerdict.MORE == page_read(sweep, "a")
    assert "a" == sweep.next_token
    assert PageVerdict.ENDLESS == page_read(sweep, "a")
    assert sweep.next_token is None
    assert PageVerdict.DONE == page_read(sweep, None)
    partial = new_sweep(
        now=0.0,
        local=EPOCH,
        begun=EPOCH,
        overlap=0.0,
        creation_times=[EPOCH],
        active=2,
    )
    assert partial.created_after is None
    for page in range(max_pages(2) - 1):
        assert PageVerdict.MORE == page_read(partial, f"t{page}")
    assert PageVerdict.ENDLESS == page_read(partial, "last")


def test_when_a_page_may_go():
    """A sweep starts when its time has come; a failed page waits its back-off."""
    assert (False, 3.0) == sweep_wait(None, now=2.0, next_sweep=5.0)
    assert (True, 0.0) == sweep_wait(None, now=5.0, next_sweep=5.0)
    sweep = new_sweep(
        now=5.0, local=EPOCH, begun=EPOCH, overlap=0, creation_times=[], active=1
    )
    assert (False, 0.0) == sweep_wait(sweep, now=5.0, next_sweep=5.0)
    sweep.ready_at = 9.0
    assert (False, 4.0) == sweep_wait(sweep, now=5.0, next_sweep=5.0)


def test_list_failures_fall_back_or_forbid():
    """Refused first pages forbid listing; errors fall back; throttles if they last."""
    sweep = new_sweep(
        now=0, local=EPOCH, begun=EPOCH, overlap=0, creation_times=[], active=1
    )
    refused = list_failed(sweep, throttled=False, refused=True, failures=1)
    assert (True, False) == (refused.forbidden, refused.failing)
    throttled = list_failed(sweep, throttled=True, refused=False, failures=1)
    assert (False, False) == (throttled.forbidden, throttled.failing)
    persisting = list_failed(
        sweep, throttled=True, refused=False, failures=LIST_THROTTLES_BEFORE_FALLBACK
    )
    assert persisting.failing
    sweep.next_token = "page-2"  # noqa: S105 - a page token, not a password
    error = list_failed(sweep, throttled=False, refused=False, failures=1)
    assert (False, True) == (error.forbidden, error.failing)
    assert "page-2" == sweep.next_token
    midway = list_failed(sweep, throttled=False, refused=True, failures=2)
    assert (False, True) == (midway.forbidden, midway.failing)
    assert sweep.next_token is None


def test_a_sweep_refused_midway_reads_its_pages_again():
    """Starting over from the first page, the tokens it saw before do not repeat."""
    sweep = new_sweep(
        now=0, local=EPOCH, begun=EPOCH, overlap=0, creation_times=[], active=1
    )
    assert PageVerdict.MORE == page_read(sweep, "page-2")
    assert PageVerdict.MORE == page_read(sweep, "page-3")
    list_failed(sweep, throttled=False, refused=True, failures=1)
    assert sweep.next_token is None
    assert PageVerdict.MORE == page_read(sweep, "page-2")
    assert PageVerdict.MORE == page_read(sweep, "page-3")
    assert PageVerdict.DONE == page_read(sweep, None)
    assert 5 == sweep.pages


def test_covers_reads_time_then_statuses():
    """A newer summary is a change; an equal one only if its statuses differ."""
    seen = Seen(
        last_modified_time=EPOCH,
        primary_status=PrimaryStatus.IN_PROGRESS,
        secondary_status=SecondaryStatus.TRAINING,
    )
    later = EPOCH + dt.timedelta(seconds=1)
    same = Summary(
        job_name="j",
        last_modified_time=EPOCH,
        primary_status=None,
        secondary_status=SecondaryStatus.TRAINING,
    )
    assert covers(seen, same)
    assert not covers(seen, dataclasses.replace(same, last_modified_time=later))
    older = dataclasses.replace(
        same,
        last_modified_time=EPOCH - dt.timedelta(seconds=1),
        secondary_status=SecondaryStatus.STARTING,
    )
    assert covers(seen, older)


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


def test_percentile_is_nearest_rank():
    """The nearest-rank percentile of an ordered list, and 0 for none."""
    assert 0.0 == percentile([], 0.5)
    assert 2.0 == percentile([1.0, 2.0, 3.0], 0.5)
    assert 3.0 == percentile([1.0, 2.0, 3.0], 0.95)


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
        resumed = routine_due(job, listing=False, swept_at=swept_at, recheck=900.0)
        assert resumed >= job.schedule_due
        assert resumed >= swept_at + delay - 1e-9
        assert resumed == due_at(job, resumed)


@settings(max_examples=100, deadline=None)
@given(
    tokens=st.lists(st.text(min_size=1, max_size=3), max_size=400),
    active=st.integers(0, 5000),
    previous=st.integers(0, 150),
)
def test_a_sweep_never_reads_more_pages_than_its_bound(tokens, active, previous):
    """Whatever tokens the service sends, a sweep ends within max_pages pages."""
    sweep = new_sweep(
        now=0,
        local=EPOCH,
        begun=EPOCH,
        overlap=0,
        creation_times=[],
        active=active,
        previous_pages=previous,
    )
    read = 0
    verdict = PageVerdict.MORE
    for token in [*tokens, None]:
        read += 1
        verdict = page_read(sweep, token)
        if verdict is not PageVerdict.MORE:
            break
    assert verdict in {PageVerdict.DONE, PageVerdict.ENDLESS}
    assert read <= max_pages(active, previous=previous)
    assert read == sweep.pages


def test_the_page_bound_follows_what_the_service_has_shown():
    """Twice the pages the last sweep read, or watched jobs fill, and 50 more."""
    assert MIN_PAGE_BOUND == max_pages(0)
    assert MIN_PAGE_BOUND + 200 == max_pages(10_000)
    assert MIN_PAGE_BOUND + 200 == max_pages(3, previous=100)
    assert MIN_PAGE_BOUND + 200 == max_pages(10_000, previous=99)
    sweep = new_sweep(
        now=0,
        local=EPOCH,
        begun=EPOCH,
        overlap=0,
        creation_times=[],
        active=3,
        previous_pages=100,
    )
    assert max_pages(3, previous=100) == sweep.page_bound


def read_window(sweep, pages):
    """Read a legitimate window of *pages* pages, each token new; the verdict."""
    for page in range(pages - 1):
        verdict = page_read(sweep, f"page-{page}")
        if verdict is not PageVerdict.MORE:
            return verdict
    return page_read(sweep, None)


@settings(max_examples=200, deadline=None)
@given(window=st.integers(1, 20_000), active=st.integers(0, 5000))
def test_a_page_then_filter_window_is_read_in_full_however_long(window, active):
    """Pages the service filters after paging never stop sweeps for good.

    Each sweep cut short at its bound lets the next read more than twice as many
    pages, so a window of any length is read in full after a few cuts (none if
    it fits the first bound); from then on every sweep reads it in full while it
    at most doubles between sweeps.
    """
    previous, cuts = 0, 0
    while True:
        sweep = new_sweep(
            now=0,
            local=EPOCH,
            begun=EPOCH,
            overlap=0,
            creation_times=[],
            active=active,
            previous_pages=previous,
        )
        verdict = read_window(sweep, window)
        previous = sweep.pages
        if verdict is PageVerdict.DONE:
            break
        assert PageVerdict.ENDLESS == verdict
        cuts += 1
    assert window == previous
    first = max_pages(active)
    expected = 0 if window <= first else math.ceil(math.log2(window / first))
    assert cuts <= expected
    for grown in (window, 2 * window):
        again = new_sweep(
            now=0,
            local=EPOCH,
            begun=EPOCH,
            overlap=0,
            creation_times=[],
            active=active,
            previous_pages=previous,
        )
        assert PageVerdict.DONE == read_window(again, grown)


def test_a_phased_recheck_comes_up_to_half_an_interval_sooner():
    """With a phase, the re-check comes that fraction of half an interval sooner."""
    job = JobTiming("job", 0.0)
    job.phase = 0.25
    job.observed_at = 10.0
    assert 360.0 == routine_due(job, listing=True, swept_at=None, recheck=400.0)
    job.phase = 0.0
    assert 410.0 == routine_due(job, listing=True, swept_at=None, recheck=400.0)


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
    due = routine_due(job, listing=True, swept_at=None, recheck=recheck)
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
        dues.append(routine_due(job, listing=True, swept_at=None, recheck=recheck))
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
        routine = routine_due(job, listing=True, swept_at=None, recheck=recheck)
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
