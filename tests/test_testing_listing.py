"""ListTrainingJobs: the request, keyset pages and filters, alone and in the service.

The listing rules are tested on their own (ListQuery, ListedJob) and on the model,
without sockets; one test reads a page over HTTP, as botocore parses it.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch.testing import (
    ApiError,
    FakeSageMaker,
    ManualClock,
    SimulatedSageMaker,
    plain,
)
from sagemaker_watch.testing._listing import ListedJob, ListQuery

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


# -- the listing rules on their own ------------------------------------------------


def _listed(**changes):
    job = {
        "name": "Job-A",
        "arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-a",
        "created": 1000.0,
        "primary": "InProgress",
        "secondary": "Training",
        "modified": 1500.0,
        "end": None,
        "warm_pool": None,
    }
    return ListedJob(**{**job, **changes})


def test_query_defaults():
    """An empty request lists ten jobs by creation time, oldest first, unfiltered."""
    query = ListQuery.parse({})
    assert (10, "CreationTime", "Ascending", None) == (
        query.max_results,
        query.sort_by,
        query.sort_order,
        query.after_key,
    )
    assert query.keeps(_listed())


@pytest.mark.parametrize(
    ("sort_by", "expected"),
    [
        ("Name", ("job",)),
        ("CreationTime", (5.0, "job")),
        ("Status", ("Failed", "job")),
    ],
)
def test_sort_keys_end_with_the_name(sort_by, expected):
    """Each sort keys on its member, and the name makes every key unique."""
    query = ListQuery.parse({"SortBy": sort_by})
    assert expected == query.sort_key("job", 5.0, "Failed")


@pytest.mark.parametrize(
    ("request_", "changes", "kept"),
    [
        ({"NameContains": "JOB-a"}, {}, True),
        ({"NameContains": "z"}, {}, False),
        ({"StatusEquals": "InProgress"}, {}, True),
        ({"StatusEquals": "Failed"}, {}, False),
        ({"CreationTimeAfter": 999.5}, {}, True),
        ({"CreationTimeAfter": 1000}, {}, False),
        ({"CreationTimeBefore": 1000.5}, {}, True),
        ({"CreationTimeBefore": 1000}, {}, False),
        ({"LastModifiedTimeAfter": "1499.9"}, {}, True),
        ({"LastModifiedTimeAfter": 1500}, {}, False),
        ({"LastModifiedTimeBefore": 1500}, {}, False),
        ({"WarmPoolStatusEquals": "Available"}, {}, False),
        (
            {"WarmPoolStatusEquals": "Available"},
            {"warm_pool": {"Status": "Available"}},
            True,
        ),
        (
            {"WarmPoolStatusEquals": "Available"},
            {"warm_pool": {"Status": "Terminated"}},
            False,
        ),
    ],
)
def test_each_filter_on_its_own(request_, changes, kept):
    """Name (any case), status, strict time bounds and warm pool each filter alone."""
    assert kept == ListQuery.parse(request_).keeps(_listed(**changes))


def test_listed_job_row_in_the_service_order():
    """A summary carries milliseconds, and the end and warm pool only when present."""
    assert {
        "TrainingJobName": "Job-A",
        "TrainingJobArn": _listed().arn,
        "CreationTime": 1000.0,
        "LastModifiedTime": 1500.123,
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Training",
    } == _listed(modified=1500.12345).row()
    row = _listed(end=2000.0004, warm_pool={"Status": "Available"}).row()
    assert ["TrainingEndTime", "WarmPoolStatus"] == [
        key for key in row if key in {"TrainingEndTime", "WarmPoolStatus"}
    ]
    assert (2000.0, {"Status": "Available"}) == (
        row["TrainingEndTime"],
        row["WarmPoolStatus"],
    )
    assert ["TrainingEndTime", "LastModifiedTime"] == list(row)[3:5]


def _walk(keys, order, size):
    """Page through *keys* with a fresh query per page, as a client does."""
    request = {"SortBy": "Name", "SortOrder": order, "MaxResults": size}
    seen, pages = [], 0
    while True:
        query = ListQuery.parse(request)
        page, token = query.page([((key,), key) for key in keys])
        seen += page
        pages += 1
        if token is None:
            return seen, pages
        request["NextToken"] = token


@settings(max_examples=100, deadline=None)
@given(
    keys=st.lists(st.text("abc", min_size=1, max_size=4), unique=True, max_size=25),
    order=st.sampled_from(["Ascending", "Descending"]),
    size=st.integers(min_value=1, max_value=7),
)
def test_pages_visit_every_key_once_in_order(keys, order, size):
    """Keyset pages of any size visit each key once, sorted, in ceil(n/size) pages."""
    seen, pages = _walk(keys, order, size)
    assert sorted(keys, reverse=order == "Descending") == seen
    assert max(1, -(-len(keys) // size)) == pages


def test_a_page_resumes_after_its_key_when_keys_come_and_go():
    """The next page starts after the last key shown, whatever was added or removed."""
    query = ListQuery.parse({"SortBy": "Name", "MaxResults": 2})
    page, token = query.page([(("b",), "b"), (("d",), "d"), (("a",), "a")])
    assert ["a", "b"] == page
    query = ListQuery.parse({"SortBy": "Name", "MaxResults": 2, "NextToken": token})
    page, token = query.page(
        [(("a",), "a"), (("c",), "c"), (("e",), "e"), (("f",), "f")]
    )
    assert ["c", "e"] == page
    assert token is not None


def test_a_token_is_bound_to_its_sort():
    """A token read under another SortBy or SortOrder is refused, as is a bad one."""
    query = ListQuery.parse({"SortBy": "Name", "MaxResults": 1})
    _, token = query.page([(("a",), "a"), (("b",), "b")])
    for request in (
        {"SortBy": "Name", "SortOrder": "Descending", "NextToken": token},
        {"SortBy": "CreationTime", "NextToken": token},
        {"NextToken": "e30="},
    ):
        with pytest.raises(ApiError, match="Invalid pagination token"):
            ListQuery.parse(request)
    assert ("a",) == ListQuery.parse({"SortBy": "Name", "NextToken": token}).after_key
    assert ListQuery.parse({"NextToken": ""}).after_key is None
