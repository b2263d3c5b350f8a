"""ListTrainingJobs in the simulated service: filters, sorting, paging, speed at scale.

The listing rules are the model's, so they are tested on the model, without sockets;
one test reads a page over HTTP, as botocore parses it.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import pytest_asyncio

from sagemaker_watch.testing import (
    ApiError,
    FakeSageMaker,
    ManualClock,
    SimulatedSageMaker,
    plain,
)

START = dt.datetime(2024, 5, 6, 9, 30, tzinfo=dt.UTC)
T0 = START.timestamp()
JOBS = [
    ("alpha", "plain"),
    ("bravo", "failure"),
    ("charlie", "plain"),
    ("delta-x", "max_runtime"),
    ("echo-x", "plain"),
]


@pytest.fixture(name="clock")
def _clock():
    """The simulated time of the service."""
    return ManualClock()


@pytest.fixture(name="service")
def _service(clock):
    """A simulated service with five jobs created a minute apart, quotas off."""
    service = SimulatedSageMaker(clock=clock, quotas={})
    for name, timeline in JOBS:
        service.add_job(name, timeline)
        clock.advance(60)
    return service


def _names(answer):
    return [s["TrainingJobName"] for s in answer["TrainingJobSummaries"]]


def _list(service, **request):
    return service.list_training_jobs(request)


def _pages(service, **request):
    """Every page's names and whether it carried a NextToken."""
    pages = []
    while True:
        answer = service.list_training_jobs(request)
        pages.append((_names(answer), "NextToken" in answer))
        if "NextToken" not in answer:
            return pages
        request["NextToken"] = answer["NextToken"]


def test_default_is_creation_time_ascending(service):
    """Without arguments, the oldest job comes first (SortOrder defaults Ascending)."""
    answer = _list(service)
    assert ["alpha", "bravo", "charlie", "delta-x", "echo-x"] == _names(answer)
    assert "NextToken" not in answer


def test_status_filter_applies_after_max_results(service, clock):
    """StatusEquals filters pages of MaxResults jobs: a page may be short or empty."""
    clock.advance(100000)
    assert [
        (["bravo"], True),
        ([], True),
        ([], False),
    ] == _pages(service, StatusEquals="Failed", MaxResults=2)


def test_name_filter_applies_after_max_results(service):
    """NameContains filters each page too, so an empty first page has a NextToken."""
    assert [
        ([], True),
        (["delta-x"], True),
        (["echo-x"], False),
    ] == _pages(service, NameContains="-x", MaxResults=2)


@pytest_asyncio.fixture(name="sim")
async def _sim():
    """A running fake with the same five jobs, quotas off."""
    async with FakeSageMaker(clock=ManualClock(), quotas={}) as fake:
        for name, timeline in JOBS:
            fake.add_job(name, timeline)
            fake.advance(60)
        yield fake


@pytest.mark.asyncio
async def test_summaries_carry_secondary_status(sim):
    """Summaries carry both statuses, times, and the end time once ended (over HTTP)."""
    sim.advance(100000)
    async with sim.client() as client:
        answer = await client.list_training_jobs(NameContains="bravo")
    (summary,) = answer["TrainingJobSummaries"]
    assert {
        "TrainingJobName",
        "TrainingJobArn",
        "CreationTime",
        "TrainingEndTime",
        "LastModifiedTime",
        "TrainingJobStatus",
        "SecondaryStatus",
    } == set(summary)
    assert (
        summary["TrainingJobStatus"],
        summary["SecondaryStatus"],
    ) == ("Failed", "Failed")
    assert START + dt.timedelta(minutes=1) == summary["CreationTime"]


@pytest.mark.parametrize(
    ("sort_by", "order", "expected"),
    [
        ("Name", "Ascending", ["alpha", "bravo", "charlie", "delta-x", "echo-x"]),
        ("Name", "Descending", ["echo-x", "delta-x", "charlie", "bravo", "alpha"]),
        (
            "CreationTime",
            "Ascending",
            ["alpha", "bravo", "charlie", "delta-x", "echo-x"],
        ),
        (
            "CreationTime",
            "Descending",
            ["echo-x", "delta-x", "charlie", "bravo", "alpha"],
        ),
        ("Status", "Ascending", ["alpha", "charlie", "echo-x", "bravo", "delta-x"]),
        ("Status", "Descending", ["delta-x", "bravo", "echo-x", "charlie", "alpha"]),
    ],
)
def test_sorting(service, clock, sort_by, order, expected):
    """SortBy and SortOrder are honoured, ties broken by name."""
    clock.advance(100000)
    assert expected == _names(_list(service, SortBy=sort_by, SortOrder=order))


def test_filters(service, clock):
    """Every filter narrows the list as documented."""
    assert ["delta-x", "echo-x"] == _names(_list(service, NameContains="-X"))
    assert ["delta-x", "echo-x"] == _names(_list(service, CreationTimeAfter=T0 + 150))
    assert ["alpha", "bravo"] == _names(_list(service, CreationTimeBefore=T0 + 90))
    clock.advance(100000)
    assert ["bravo"] == _names(_list(service, StatusEquals="Failed"))
    assert ["delta-x"] == _names(_list(service, StatusEquals="Stopped"))
    cutoff = clock.timestamp()
    assert [] == _names(_list(service, LastModifiedTimeAfter=cutoff))
    assert 5 == len(_names(_list(service, LastModifiedTimeBefore=cutoff)))
    clock.advance(1)
    service.add_job("foxtrot", plain())
    assert ["foxtrot"] == _names(_list(service, LastModifiedTimeAfter=cutoff))


def test_last_modified_moves_with_transitions(service, clock):
    """A job's LastModifiedTime moves when its history changes, not otherwise."""
    answer = _list(service, NameContains="echo")
    first = answer["TrainingJobSummaries"][0]["LastModifiedTime"]
    clock.advance(1)
    answer = _list(service, NameContains="echo")
    assert first == answer["TrainingJobSummaries"][0]["LastModifiedTime"]
    clock.advance(100)
    answer = _list(service, NameContains="echo")
    assert first < answer["TrainingJobSummaries"][0]["LastModifiedTime"]


@pytest.mark.parametrize("order", ["Ascending", "Descending"])
@pytest.mark.parametrize("sort_by", ["Name", "CreationTime", "Status"])
def test_paging_visits_every_job_once(service, sort_by, order):
    """Paging two at a time visits every job once, in the unpaged order."""
    full = _names(_list(service, SortBy=sort_by, SortOrder=order))
    pages = _pages(service, SortBy=sort_by, SortOrder=order, MaxResults=2)
    assert full == [name for names, _ in pages for name in names]
    assert [True, True, False] == [more for _, more in pages]


def test_paging_is_stable_while_jobs_are_added(service):
    """Jobs created between pages do not shift or repeat later pages."""
    answer = _list(service, MaxResults=2, SortOrder="Descending")
    assert ["echo-x", "delta-x"] == _names(answer)
    service.add_job("zulu")
    service.add_job("aaa")
    answer = _list(
        service, MaxResults=2, SortOrder="Descending", NextToken=answer["NextToken"]
    )
    assert ["charlie", "bravo"] == _names(answer)


def test_max_results_bounds(service):
    """MaxResults above 100 or below 1 is a ValidationException worded as AWS does."""
    with pytest.raises(ApiError) as excinfo:
        _list(service, MaxResults=101)
    assert ("ValidationException", 400) == (excinfo.value.code, excinfo.value.status)
    assert (
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 100"
    ) == excinfo.value.message
    with pytest.raises(ApiError) as excinfo:
        _list(service, MaxResults=0)
    assert (
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy "
        "constraint: Member must have value greater than or equal to 1"
    ) == excinfo.value.message


def test_several_validation_errors_in_one_message(service):
    """Several bad members are reported together, counted and joined by '; '."""
    with pytest.raises(ApiError) as excinfo:
        _list(service, MaxResults=101, SortOrder="Sideways", StatusEquals="Running")
    assert (
        "3 validation errors detected: "
        "Value '101' at 'maxResults' failed to satisfy constraint: Member must have "
        "value less than or equal to 100; "
        "Value 'Running' at 'statusEquals' failed to satisfy constraint: Member must "
        "satisfy enum value set: [InProgress, Completed, Failed, Stopping, Stopped, "
        "Deleting]; "
        "Value 'Sideways' at 'sortOrder' failed to satisfy constraint: Member must "
        "satisfy enum value set: [Ascending, Descending]"
    ) == excinfo.value.message


def test_bad_token(service):
    """A token that is not ours, or for another sort, is a ValidationException."""
    answer = _list(service, MaxResults=1, SortBy="Name")
    with pytest.raises(ApiError) as excinfo:
        _list(service, NextToken=answer["NextToken"])
    assert "Invalid pagination token" == excinfo.value.message
    with pytest.raises(ApiError) as excinfo:
        _list(service, NextToken="garbage!")
    assert "Invalid pagination token" == excinfo.value.message


def test_bad_timestamp_filter(service):
    """A time filter that is not a number is a ValidationException naming it."""
    with pytest.raises(ApiError) as excinfo:
        _list(service, CreationTimeAfter="yesterday")
    assert (
        "Invalid timestamp for CreationTimeAfter: 'yesterday'" == excinfo.value.message
    )


def test_ten_thousand_jobs_list_fast():
    """Listing 10,000 jobs by name with a status filter takes well under a second.

    The filter applies to the first 100 jobs by name, a third of which failed.
    """
    clock = ManualClock()
    service = SimulatedSageMaker(clock=clock, quotas={})
    for i in range(10_000):
        service.add_job(f"job-{i:05d}", "plain" if i % 3 else "failure")
        clock.advance(0.5)
    clock.advance(2000)
    began = time.perf_counter()
    answer = _list(
        service,
        SortBy="Name",
        SortOrder="Ascending",
        StatusEquals="Failed",
        MaxResults=100,
    )
    elapsed = time.perf_counter() - began
    assert 34 == len(answer["TrainingJobSummaries"])
    assert "job-00000" == answer["TrainingJobSummaries"][0]["TrainingJobName"]
    assert "NextToken" in answer
    assert elapsed < 1.0
