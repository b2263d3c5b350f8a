"""ListTrainingJobs on the fake: filters, sorting, paging and speed at scale."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import pytest_asyncio
from botocore.exceptions import ClientError

from sagemaker_watch.testing import FakeSageMaker, ManualClock, plain

START = dt.datetime(2024, 5, 6, 9, 30, tzinfo=dt.UTC)


@pytest_asyncio.fixture(name="sim")
async def _sim():
    """A fake with five jobs created a minute apart, quotas off."""
    async with FakeSageMaker(clock=ManualClock(), quotas={}) as fake:
        for name, timeline in [
            ("alpha", "plain"),
            ("bravo", "failure"),
            ("charlie", "plain"),
            ("delta-x", "max_runtime"),
            ("echo-x", "plain"),
        ]:
            fake.add_job(name, timeline)
            fake.advance(60)
        yield fake


@pytest_asyncio.fixture(name="client")
async def _client(sim):
    """An aiobotocore client for the fake."""
    async with sim.client() as client:
        yield client


def _names(answer):
    return [s["TrainingJobName"] for s in answer["TrainingJobSummaries"]]


@pytest.mark.asyncio
async def test_default_is_creation_time_ascending(client):
    """Without arguments, the oldest job comes first (SortOrder defaults Ascending)."""
    answer = await client.list_training_jobs()
    assert ["alpha", "bravo", "charlie", "delta-x", "echo-x"] == _names(answer)
    assert "NextToken" not in answer


async def _pages(client, **kwargs):
    """Every page's names and whether it carried a NextToken."""
    pages = []
    while True:
        answer = await client.list_training_jobs(**kwargs)
        pages.append((_names(answer), "NextToken" in answer))
        if "NextToken" not in answer:
            return pages
        kwargs["NextToken"] = answer["NextToken"]


@pytest.mark.asyncio
async def test_status_filter_applies_after_max_results(sim, client):
    """StatusEquals filters pages of MaxResults jobs: a page may be short or empty."""
    sim.advance(100000)
    assert [
        (["bravo"], True),
        ([], True),
        ([], False),
    ] == await _pages(client, StatusEquals="Failed", MaxResults=2)


@pytest.mark.asyncio
async def test_name_filter_applies_after_max_results(client):
    """NameContains filters each page too, so an empty first page has a NextToken."""
    assert [
        ([], True),
        (["delta-x"], True),
        (["echo-x"], False),
    ] == await _pages(client, NameContains="-x", MaxResults=2)


@pytest.mark.asyncio
async def test_summaries_carry_secondary_status(sim, client):
    """Summaries carry both statuses, times, and the end time once ended."""
    sim.advance(100000)
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


@pytest.mark.asyncio
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
        ("Status", "Ascending", ["alpha", "charlie", "echo-x", "bravo", "delta-x"]),
        ("Status", "Descending", ["delta-x", "bravo", "echo-x", "charlie", "alpha"]),
    ],
)
async def test_sorting(sim, client, sort_by, order, expected):
    """SortBy and SortOrder are honoured, ties broken by name."""
    sim.advance(100000)
    answer = await client.list_training_jobs(SortBy=sort_by, SortOrder=order)
    assert expected == _names(answer)


@pytest.mark.asyncio
async def test_filters(sim, client):
    """Every filter narrows the list as documented."""
    assert ["delta-x", "echo-x"] == _names(
        await client.list_training_jobs(NameContains="-X")
    )
    assert ["delta-x", "echo-x"] == _names(
        await client.list_training_jobs(
            CreationTimeAfter=START + dt.timedelta(seconds=150)
        )
    )
    assert ["alpha", "bravo"] == _names(
        await client.list_training_jobs(
            CreationTimeBefore=START + dt.timedelta(seconds=90)
        )
    )
    sim.advance(100000)
    assert _names(await client.list_training_jobs(StatusEquals="Failed")) == ["bravo"]
    assert _names(await client.list_training_jobs(StatusEquals="Stopped")) == [
        "delta-x"
    ]
    cutoff = sim.clock.now()
    assert _names(await client.list_training_jobs(LastModifiedTimeAfter=cutoff)) == []
    assert (
        len(_names(await client.list_training_jobs(LastModifiedTimeBefore=cutoff))) == 5
    )
    sim.advance(1)
    sim.add_job("foxtrot", plain())
    assert _names(await client.list_training_jobs(LastModifiedTimeAfter=cutoff)) == [
        "foxtrot"
    ]


@pytest.mark.asyncio
async def test_last_modified_moves_with_transitions(sim, client):
    """A job's LastModifiedTime moves when its history changes, not otherwise."""
    answer = await client.list_training_jobs(NameContains="echo")
    first = answer["TrainingJobSummaries"][0]["LastModifiedTime"]
    sim.advance(1)
    answer = await client.list_training_jobs(NameContains="echo")
    assert first == answer["TrainingJobSummaries"][0]["LastModifiedTime"]
    sim.advance(100)
    answer = await client.list_training_jobs(NameContains="echo")
    assert first < answer["TrainingJobSummaries"][0]["LastModifiedTime"]


@pytest.mark.asyncio
@pytest.mark.parametrize("order", ["Ascending", "Descending"])
@pytest.mark.parametrize("sort_by", ["Name", "CreationTime", "Status"])
async def test_paging_visits_every_job_once(client, sort_by, order):
    """Paging two at a time visits every job once, in the unpaged order."""
    full = _names(await client.list_training_jobs(SortBy=sort_by, SortOrder=order))
    paged = []
    kwargs = {"SortBy": sort_by, "SortOrder": order, "MaxResults": 2}
    while True:
        answer = await client.list_training_jobs(**kwargs)
        paged += _names(answer)
        if "NextToken" not in answer:
            break
        kwargs["NextToken"] = answer["NextToken"]
    assert full == paged


@pytest.mark.asyncio
async def test_paging_is_stable_while_jobs_are_added(sim, client):
    """Jobs created between pages do not shift or repeat later pages."""
    answer = await client.list_training_jobs(MaxResults=2, SortOrder="Descending")
    assert _names(answer) == ["echo-x", "delta-x"]
    sim.add_job("zulu")
    sim.add_job("aaa")
    answer = await client.list_training_jobs(
        MaxResults=2, SortOrder="Descending", NextToken=answer["NextToken"]
    )
    assert _names(answer) == ["charlie", "bravo"]


@pytest.mark.asyncio
async def test_max_results_bounds(client):
    """MaxResults above 100 is a ValidationException worded as AWS words it."""
    with pytest.raises(ClientError) as excinfo:
        await client.list_training_jobs(MaxResults=101)
    assert "ValidationException" == excinfo.value.response["Error"]["Code"]
    assert (
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 100"
    ) == excinfo.value.response["Error"]["Message"]


@pytest.mark.asyncio
async def test_several_validation_errors_in_one_message(client):
    """Several bad members are reported together, counted and joined by '; '."""
    with pytest.raises(ClientError) as excinfo:
        await client.list_training_jobs(
            MaxResults=101, SortOrder="Sideways", StatusEquals="Running"
        )
    assert (
        "3 validation errors detected: "
        "Value '101' at 'maxResults' failed to satisfy constraint: Member must have "
        "value less than or equal to 100; "
        "Value 'Running' at 'statusEquals' failed to satisfy constraint: Member must "
        "satisfy enum value set: [InProgress, Completed, Failed, Stopping, Stopped, "
        "Deleting]; "
        "Value 'Sideways' at 'sortOrder' failed to satisfy constraint: Member must "
        "satisfy enum value set: [Ascending, Descending]"
    ) == excinfo.value.response["Error"]["Message"]


@pytest.mark.asyncio
async def test_bad_token(client):
    """A token that is not ours, or for another sort, is a ValidationException."""
    answer = await client.list_training_jobs(MaxResults=1, SortBy="Name")
    with pytest.raises(ClientError) as excinfo:
        await client.list_training_jobs(NextToken=answer["NextToken"])
    assert excinfo.value.response["Error"]["Message"] == "Invalid pagination token"
    with pytest.raises(ClientError):
        await client.list_training_jobs(NextToken="garbage!")


@pytest.mark.asyncio
async def test_ten_thousand_jobs_list_fast():
    """Listing 10,000 jobs by name with a status filter takes well under a second.

    The filter applies to the first 100 jobs by name, a third of which failed.
    """
    async with (
        FakeSageMaker(clock=ManualClock(), quotas={}) as fake,
        fake.client() as client,
    ):
        for i in range(10_000):
            fake.add_job(f"job-{i:05d}", "plain" if i % 3 else "failure")
            fake.advance(0.5)
        fake.advance(2000)
        began = time.perf_counter()
        answer = await client.list_training_jobs(
            SortBy="Name", SortOrder="Ascending", StatusEquals="Failed", MaxResults=100
        )
        elapsed = time.perf_counter() - began
    assert 34 == len(answer["TrainingJobSummaries"])
    assert "job-00000" == answer["TrainingJobSummaries"][0]["TrainingJobName"]
    assert "NextToken" in answer
    assert elapsed < 1.0
