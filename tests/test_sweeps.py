"""Tests for the fleet's sweeps: list windows, pages and what they mean, directly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.planner import JobTiming
from sagemaker_watch._core.status import PrimaryStatus, SecondaryStatus
from sagemaker_watch._core.sweeps import (
    LIST_THROTTLES_BEFORE_FALLBACK,
    MIN_PAGE_BOUND,
    PageVerdict,
    ServiceClock,
    covers,
    list_failed,
    mark_page,
    max_pages,
    new_sweep,
    page_read,
    sweep_wait,
    vouch_page,
    vouches,
    wants_listing,
)

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """A list summary, as a sweep reads one."""

    job_name: str
    last_modified_time: dt.datetime | None
    primary_status: PrimaryStatus | None
    secondary_status: SecondaryStatus | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Seen:
    """A job's last snapshot, as a sweep reads one."""

    last_modified_time: dt.datetime | None
    primary_status: PrimaryStatus
    secondary_status: SecondaryStatus | None


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


@settings(max_examples=150, deadline=None)
@given(
    seen=st.builds(
        Seen,
        last_modified_time=STAMPS,
        primary_status=PRIMARIES,
        secondary_status=STATUSES,
    ),
    summary=st.builds(
        Summary,
        job_name=st.just("job"),
        last_modified_time=STAMPS,
        primary_status=st.one_of(st.none(), PRIMARIES),
        secondary_status=st.one_of(st.none(), STATUSES),
    ),
)
def test_a_summary_vouches_only_when_it_shows_the_snapshot_exactly(seen, summary):
    """The same LastModifiedTime and agreeing statuses: never a change, nor a guess."""
    agree = summary.primary_status in {None, seen.primary_status} and (
        summary.secondary_status in {None, seen.secondary_status}
    )
    same_time = (
        summary.last_modified_time is not None
        and summary.last_modified_time == seen.last_modified_time
    )
    assert vouches(seen, summary) == (same_time and agree)
    if vouches(seen, summary):
        assert not changed(seen, summary)


def test_a_census_page_vouches_for_idle_watched_jobs_it_shows_unchanged():
    """Not jobs in flight, unobserved, ended, changed or with a change pending."""
    seen = Seen(
        last_modified_time=EPOCH,
        primary_status=PrimaryStatus.IN_PROGRESS,
        secondary_status=SecondaryStatus.TRAINING,
    )
    same = {"last_modified_time": EPOCH, "primary_status": None}
    timings = {name: JobTiming(name, 0.0) for name in "abcdef"}
    timings["b"].in_flight = True
    timings["d"].active = False
    summaries = [
        Summary(job_name=name, secondary_status=SecondaryStatus.TRAINING, **same)
        for name in "abcdeg"
    ] + [
        Summary(
            job_name="f",
            last_modified_time=EPOCH + dt.timedelta(seconds=1),
            primary_status=None,
            secondary_status=SecondaryStatus.UPLOADING,
        )
    ]
    timings["e"].listed = summaries[-1]
    view = {name: (timing, seen) for name, timing in timings.items()}
    view["c"] = (timings["c"], None)
    assert ["a"] == vouch_page(view, summaries, at=42.0)
    assert 42.0 == timings["a"].vouched_at
    assert all(timings[name].vouched_at is None for name in "bcdef")


def test_a_census_has_no_window_and_needs_every_creation_time():
    """Without every watched job's creation time it would read the account's history."""
    options = {
        "now": 10.0,
        "local": EPOCH,
        "begun": EPOCH,
        "overlap": 60.0,
        "census": True,
    }
    census = new_sweep(creation_times=[EPOCH, EPOCH], active=2, **options)
    assert census.census
    assert census.since is None
    assert EPOCH - dt.timedelta(seconds=1) == census.created_after
    windowed = new_sweep(creation_times=[EPOCH], active=2, **options)
    assert not windowed.census
    assert EPOCH - dt.timedelta(seconds=60) == windowed.since


def test_while_statuses_are_announced_a_new_message_alone_calls_for_no_describe():
    """With push hints flowing, same statuses at a later time wait for the re-check."""
    seen = Seen(
        last_modified_time=EPOCH,
        primary_status=PrimaryStatus.IN_PROGRESS,
        secondary_status=SecondaryStatus.TRAINING,
    )
    later = EPOCH + dt.timedelta(seconds=30)
    message = Summary(
        job_name="a",
        last_modified_time=later,
        primary_status=PrimaryStatus.IN_PROGRESS,
        secondary_status=SecondaryStatus.TRAINING,
    )
    status = dataclasses.replace(
        message, job_name="b", secondary_status=SecondaryStatus.UPLOADING
    )
    unknown = dataclasses.replace(message, job_name="c", secondary_status=None)
    for statuses_only, expected in ((False, ["a", "b", "c"]), (True, ["b", "c"])):
        timings = {name: JobTiming(name, 0.0) for name in "abc"}
        for timing in timings.values():
            timing.urgent = None
        view = {name: (timing, seen) for name, timing in timings.items()}
        due, _ = mark_page(
            view,
            [message, status, unknown],
            now=100.0,
            service=ServiceClock(),
            local=EPOCH,
            statuses_only=statuses_only,
        )
        assert expected == due
        assert (timings["a"].listed is None) == statuses_only
