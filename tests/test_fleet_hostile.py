"""FleetWatcher against hostile answers: one bad job never takes the fleet down.

Every test talks over real HTTP through a real aiobotocore client to a hostile
endpoint (``tests/hostile.py``) in front of the fake SageMaker on a hand-driven clock.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import itertools
import json

import anyio
import pytest
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch._core.sweeps import max_pages
from sagemaker_watch._io.logging import HISTORY_ANOMALY
from sagemaker_watch.testing import plain


def deterministic(**options):
    """Fleet options for a hand-driven clock: one request at a time."""
    return {"max_in_flight": 1, "seed": 7, **options}


def lone_surrogate(answer):
    """Put a lone surrogate in the job's status messages."""
    transitions = [
        {**t, "StatusMessage": "broken \ud800 text"}
        for t in answer.get("SecondaryStatusTransitions", [])
    ]
    return {
        **answer,
        "SecondaryStatusTransitions": transitions,
        "StatusMessage": "\ud800",
    }


def far_timestamp(answer):
    """Give the job a creation time botocore cannot convert."""
    return {**answer, "CreationTime": 1e20}


#: Hostile describe answers, each as rule options for the hostile server. A lone
#: surrogate is text a robust diff may carry through: that job may also complete.
HOSTILE_DESCRIBES = {
    "lone_surrogate": {"mutate": lone_surrogate},
    "unconvertible_timestamp": {"mutate": far_timestamp},
    "list_body": {"body": b"[]"},
    "string_body": {"body": b'"a string"'},
    "transitions_not_a_list": {
        "mutate": lambda a: {**a, "SecondaryStatusTransitions": "no"}
    },
}

#: Change detection by list sweeps, or per-job schedules.
MODES = {
    "listing": {"sweep_interval": 5.0, "list_min_jobs": 1},
    "per-job": {"sweep_interval": None},
}

#: Jobs that must complete whatever the hostile one does.
HEALTHY = tuple(f"good-{i:02d}" for i in range(4))


async def _drain(fleet):
    by_job = collections.defaultdict(list)
    async for item in fleet:
        by_job[item.job_name].append(item)
    return by_job


def _assert_completed(fake, name, items):
    """The job's whole history arrived once, in order, then JobCompleted last."""
    history = [
        t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]
    ]
    entered = [str(e.status) for e in items if isinstance(e, sw.StatusEntered)]
    assert (name, history) == (name, entered)
    assert (name, sw.JobCompleted) == (name, type(items[-1]))


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("hostile_answer", sorted(HOSTILE_DESCRIBES))
async def test_a_hostile_describe_loses_one_job_and_the_fleet_goes_on(
    fake_sagemaker, hostile, hostile_answer, mode
):
    """A job whose every answer is hostile ends as JobLost; the others complete."""
    fake = fake_sagemaker
    for name in (*HEALTHY, "bad", "flaky"):
        fake.add_job(name, plain(training=900))
    hostile.rule("DescribeTrainingJob", job="bad", **HOSTILE_DESCRIBES[hostile_answer])
    hostile.rule(
        "DescribeTrainingJob", job="flaky", times=2, **HOSTILE_DESCRIBES[hostile_answer]
    )
    retry = sw.RetryPolicy(max_attempts=4, max_elapsed=None)
    with anyio.fail_after(60):
        async with (
            hostile.client() as client,
            sw.FleetWatcher(
                client=client,
                clock=fake.clock,
                retry=retry,
                **deterministic(**MODES[mode]),
            ) as fleet,
        ):
            for name in (*HEALTHY, "bad", "flaky"):
                fleet.add(name)
            by_job = await _drain(fleet)
            stats = fleet.statistics()
            try:
                final = await fleet.wait_until_terminal("bad")
            except sw.ServiceError as error:
                final = error
    if hostile_answer == "lone_surrogate" and sw.JobCompleted in map(
        type, by_job["bad"]
    ):
        _assert_completed(fake, "bad", by_job["bad"])
        assert (0, len(HEALTHY) + 2) == (stats.lost, stats.finished)
        assert "Completed" == final.primary_status
    else:
        assert [sw.JobLost] == [type(item) for item in by_job["bad"]]
        assert isinstance(final, sw.ServiceError)
        assert 4 == hostile.count("DescribeTrainingJob", "bad")
        assert (1, len(HEALTHY) + 1) == (stats.lost, stats.finished)
    for name in (*HEALTHY, "flaky"):
        _assert_completed(fake, name, by_job[name])


def summary_time(job, value):
    """Rewrite *job*'s ListTrainingJobs summary: its LastModifiedTime is *value*."""

    def mutate(answer):
        rows = [
            {**row, "LastModifiedTime": value}
            if row.get("TrainingJobName") == job
            else row
            for row in answer.get("TrainingJobSummaries", [])
        ]
        return {**answer, "TrainingJobSummaries": rows}

    return mutate


#: Hostile ListTrainingJobs answers, each as rule options for the hostile server.
HOSTILE_LISTS = {
    "unconvertible_summary_time": {"mutate": summary_time("bad", 1e20)},
    "far_future_summary_time": {"mutate": summary_time("bad", 1e11)},
    "list_body": {"body": b"[]"},
    "summaries_not_a_list": {"body": b'{"TrainingJobSummaries": "no"}'},
}


@pytest.mark.asyncio
@pytest.mark.parametrize("hostile_answer", sorted(HOSTILE_LISTS))
async def test_a_hostile_list_answer_never_stops_the_fleet(
    fake_sagemaker, hostile, hostile_answer
):
    """With every list page hostile, each job is still described to its end."""
    fake = fake_sagemaker
    names = (*HEALTHY, "bad")
    for name in names:
        fake.add_job(name, plain(training=900))
    hostile.rule("ListTrainingJobs", **HOSTILE_LISTS[hostile_answer])
    with anyio.fail_after(60):
        async with (
            hostile.client() as client,
            sw.FleetWatcher(
                client=client, clock=fake.clock, **deterministic(list_min_jobs=1)
            ) as fleet,
        ):
            for name in names:
                fleet.add(name)
            by_job = await _drain(fleet)
            stats = fleet.statistics()
    assert hostile.count("ListTrainingJobs") > 0
    assert (0, len(names)) == (stats.lost, stats.finished)
    for name in names:
        _assert_completed(fake, name, by_job[name])
    # Completions are seen within a minute or so, not at a 15-minute re-check.
    ends = [items[-1].at for items in by_job.values()]
    finished = [fake.describe_job(name)["TrainingEndTime"] for name in names]
    lag = max(e.timestamp() for e in ends) - max(finished)
    assert lag < 120, lag


def lagging_describes(fake, *, lag):
    """Describe answers that still say InProgress for *lag* seconds after the end."""

    def mutate(answer):
        end = answer.get("TrainingEndTime")
        if end is None or fake.clock.timestamp() >= end + lag:
            return answer
        transitions = [dict(t) for t in answer["SecondaryStatusTransitions"][:-1]]
        transitions[-1].pop("EndTime", None)
        stale = {
            key: value
            for key, value in answer.items()
            if key not in {"TrainingEndTime", "ModelArtifacts", "FinalMetricDataList"}
        }
        return {
            **stale,
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": transitions[-1]["Status"],
            "SecondaryStatusTransitions": transitions,
            "LastModifiedTime": transitions[-1]["StartTime"],
        }

    return mutate


@pytest.mark.asyncio
async def test_a_describe_that_lags_the_list_is_retried_until_it_catches_up(
    fake_sagemaker, hostile
):
    """Completions the list shows arrive soon after describes catch up, not later."""
    fake = fake_sagemaker
    lag = 20.0
    names = [f"job-{i:02d}" for i in range(12)]
    for i, name in enumerate(names):
        fake.add_job(name, plain(training=600 + 37 * i))
    hostile.rule("DescribeTrainingJob", mutate=lagging_describes(fake, lag=lag))
    with anyio.fail_after(60):
        async with (
            hostile.client() as client,
            sw.FleetWatcher(
                client=client, clock=fake.clock, **deterministic()
            ) as fleet,
        ):
            for name in names:
                fleet.add(name)
            by_job = await _drain(fleet)
            stats = fleet.statistics()
    assert stats.sweeps > 0
    late = {}
    for name in names:
        _assert_completed(fake, name, by_job[name])
        caught_up = fake.describe_job(name)["TrainingEndTime"] + lag
        late[name] = by_job[name][-1].at.timestamp() - caught_up
    assert all(0 <= seconds <= 10 for seconds in late.values()), late


def endless_pages():
    """Empty ListTrainingJobs pages, each with a new token the fake accepts."""
    counter = itertools.count()

    def mutate(_answer):
        # A key after every job: the fake answers its first page again.
        key = {"k": [1e12 + next(counter), "~"], "b": "CreationTime", "o": "Descending"}
        token = base64.urlsafe_b64encode(json.dumps(key).encode()).decode()
        return {"TrainingJobSummaries": [], "NextToken": token}

    return {"mutate": mutate}


#: ListTrainingJobs answers whose pages never end.
ENDLESS = {
    "repeated_token": lambda: {
        "body": b'{"TrainingJobSummaries": [], "NextToken": "again"}'
    },
    "new_token_forever": endless_pages,
}


@pytest.mark.asyncio
@pytest.mark.parametrize("endless", sorted(ENDLESS))
async def test_a_list_whose_pages_never_end_does_not_stall_the_fleet(
    fake_sagemaker, hostile, endless
):
    """A sweep reads a bounded number of pages; every job still completes soon."""
    fake = fake_sagemaker
    names = [f"job-{i:02d}" for i in range(12)]
    for i, name in enumerate(names):
        fake.add_job(name, plain(training=300 + 20 * i))
    hostile.rule("ListTrainingJobs", **ENDLESS[endless]())
    with anyio.fail_after(60):
        async with (
            hostile.client() as client,
            sw.FleetWatcher(
                client=client, clock=fake.clock, **deterministic()
            ) as fleet,
        ):
            for name in names:
                fleet.add(name)
            by_job = await _drain(fleet)
            stats = fleet.statistics()
    late = {}
    for name in names:
        _assert_completed(fake, name, by_job[name])
        end = fake.describe_job(name)["TrainingEndTime"]
        late[name] = by_job[name][-1].at.timestamp() - end
    assert all(seconds <= 60 for seconds in late.values()), late
    # Each sweep reads at most its bound, which follows the pages the sweep
    # before it read (see max_pages): at most the sum of the bounds in a row.
    given_up = stats.errors.get("ListTrainingJobs", 0)
    assert 1 <= given_up
    bounds = [max_pages(len(names))]
    for _ in range(given_up + stats.sweeps):
        bounds.append(max_pages(len(names), previous=bounds[-1]))
    assert hostile.count("ListTrainingJobs") <= sum(bounds)


class SkewedClock:
    """The fake's clock, but with a wall time *skew* off the service's."""

    def __init__(self, inner, skew):
        """Share *inner*'s monotonic time and sleeps; shift its wall time."""
        self._inner = inner
        self.skew = skew

    def now(self):
        """Return the skewed wall time."""
        return self._inner.now() + self.skew

    def monotonic(self):
        """Return the shared monotonic time."""
        return self._inner.monotonic()

    async def sleep(self, seconds):
        """Sleep on the shared clock."""
        await self._inner.sleep(seconds)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "years", [2, -2, 0], ids=["local-ahead", "local-behind", "zero"]
)
async def test_sweeps_find_changes_when_the_local_clock_is_years_off(
    fake_sagemaker, hostile, years
):
    """The sweep window follows the service's timestamps, not the local clock."""
    fake = fake_sagemaker
    skew = dt.timedelta(days=365 * years)
    names = [f"job-{i:02d}" for i in range(12)]
    for i, name in enumerate(names):
        fake.add_job(name, plain(training=1000 + 20 * i))
    with anyio.fail_after(60):
        async with (
            hostile.client() as client,
            sw.FleetWatcher(
                client=client,
                clock=SkewedClock(fake.clock, skew),
                **deterministic(list_min_jobs=1),
            ) as fleet,
        ):
            for name in names:
                fleet.add(name)
            by_job = await _drain(fleet)
            stats = fleet.statistics()
    assert stats.sweeps > 0
    late = {}
    for name in names:
        _assert_completed(fake, name, by_job[name])
        end = fake.describe_job(name)["TrainingEndTime"]
        late[name] = (by_job[name][-1].at - skew).timestamp() - end
    assert all(0 <= seconds <= 30 for seconds in late.values()), late
    assert fake.request_count("DescribeTrainingJob") <= 12 * 10


@pytest.mark.asyncio
async def test_one_job_with_timestamps_centuries_off_cannot_move_the_window(
    fake_sagemaker, hostile
):
    """A job claiming year 5138 or year 1 changes nothing for the others' sweeps."""
    fake = fake_sagemaker
    names = [f"job-{i:02d}" for i in range(12)]
    for i, name in enumerate(names):
        fake.add_job(name, plain(training=1000 + 20 * i))
    for job, stamp in (("job-00", 1e11), ("job-01", -62135596800 + 10)):
        hostile.rule(
            "DescribeTrainingJob",
            job=job,
            mutate=lambda a, stamp=stamp: {**a, "LastModifiedTime": stamp},
        )
    hostile.rule(
        "ListTrainingJobs",
        mutate=lambda a: summary_time("job-01", -62135596800 + 10)(
            summary_time("job-00", 1e11)(a)
        ),
    )
    with anyio.fail_after(60):
        async with (
            hostile.client() as client,
            sw.FleetWatcher(
                client=client, clock=fake.clock, **deterministic(list_min_jobs=1)
            ) as fleet,
        ):
            for name in names:
                fleet.add(name)
            by_job = await _drain(fleet)
    late = {}
    for name in names[2:]:
        _assert_completed(fake, name, by_job[name])
        end = fake.describe_job(name)["TrainingEndTime"]
        late[name] = by_job[name][-1].at.timestamp() - end
    assert all(0 <= seconds <= 30 for seconds in late.values()), late
    assert all(sw.JobCompleted is type(by_job[n][-1]) for n in names[:2])


@pytest.mark.asyncio
async def test_a_history_rewritten_into_interrupted_yields_one_interrupted(
    fake_sagemaker, hostile
):
    """Downloading rewritten into Interrupted is reported once through the fleet."""
    fake = fake_sagemaker
    fake.add_job("rewritten", plain(training=900))
    seen_long = itertools.count()

    def rewrite(answer):
        history = answer["SecondaryStatusTransitions"]
        if len(history) < 3 or next(seen_long) == 0:
            return answer
        history = [dict(t) for t in history]
        history[1]["Status"] = "Interrupted"
        return {**answer, "SecondaryStatusTransitions": history}

    hostile.rule("DescribeTrainingJob", mutate=rewrite)
    with anyio.fail_after(60), capture_logs() as logs:
        async with (
            hostile.client() as client,
            sw.FleetWatcher(
                client=client, clock=fake.clock, **deterministic()
            ) as fleet,
        ):
            fleet.add("rewritten")
            items = (await _drain(fleet))["rewritten"]
    interrupted = [e for e in items if isinstance(e, sw.Interrupted)]
    entered = [str(e.status) for e in items if isinstance(e, sw.StatusEntered)]
    anomalies = [log for log in logs if log["event"] == HISTORY_ANOMALY]
    assert ["Interrupted"] == [str(e.status) for e in interrupted]
    assert ["Starting", "Downloading", "Training", "Uploading", "Completed"] == [
        s for s in entered if s != "Interrupted"
    ]
    assert 1 == len(anomalies)
    assert sw.JobCompleted is type(items[-1])
