"""Every ready-made lifecycle, driven end to end over HTTP on a hand-driven clock."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import pytest_asyncio

from sagemaker_watch.testing import (
    TIMELINES,
    Completed,
    FakeSageMaker,
    ManualClock,
    Phase,
    Stopped,
    Timeline,
    plain,
    spot_interrupted_once,
    user_stop,
)


@pytest_asyncio.fixture(name="sim")
async def _sim():
    """A running fake on a manual clock."""
    async with FakeSageMaker(clock=ManualClock()) as fake:
        yield fake


@pytest_asyncio.fixture(name="client")
async def _client(sim):
    """An aiobotocore client for the fake."""
    async with sim.client() as client:
        yield client


def _statuses(answer):
    return [t["Status"] for t in answer["SecondaryStatusTransitions"]]


async def _run(sim, client, name, *, step=20.0, limit=20000.0):
    """Poll every *step* simulated seconds until terminal; return answers seen."""
    answers = []
    elapsed = 0.0
    while elapsed <= limit:
        answer = await client.describe_training_job(TrainingJobName=name)
        answers.append(answer)
        if answer["TrainingJobStatus"] in {"Completed", "Failed", "Stopped"}:
            sim.advance(3600)
            answers.append(await client.describe_training_job(TrainingJobName=name))
            return answers
        sim.advance(step)
        elapsed += step
    raise AssertionError("the job never ended")


def _distinct(values):
    out = []
    for value in values:
        if not out or out[-1] != value:
            out.append(value)
    return out


EXPECTED = {
    "plain": (
        ["Starting", "Downloading", "Training", "Uploading", "Completed"],
        ["InProgress", "Completed"],
    ),
    "spot_interrupted_once": (
        [
            "Starting",
            "Downloading",
            "Training",
            "Interrupted",
            "Starting",
            "Downloading",
            "Training",
            "Uploading",
            "Completed",
        ],
        ["InProgress", "Completed"],
    ),
    "spot_interrupted_twice_max_wait": (
        [
            "Starting",
            "Downloading",
            "Training",
            "Interrupted",
            "Starting",
            "Training",
            "Interrupted",
            "Training",
            "Stopping",
            "MaxWaitTimeExceeded",
        ],
        ["InProgress", "Stopping", "Stopped"],
    ),
    "spot_capacity_never": (
        ["Starting", "Stopping", "MaxWaitTimeExceeded"],
        ["InProgress", "Stopping", "Stopped"],
    ),
    "retry_restart": (
        [
            "Starting",
            "Downloading",
            "Training",
            "Restarting",
            "Starting",
            "Downloading",
            "Training",
            "Uploading",
            "Completed",
        ],
        ["InProgress", "Completed"],
    ),
    "failure": (
        ["Starting", "Downloading", "Training", "Failed"],
        ["InProgress", "Failed"],
    ),
    "max_runtime": (
        ["Starting", "Downloading", "Training", "Stopping", "MaxRuntimeExceeded"],
        ["InProgress", "Stopping", "Stopped"],
    ),
    "user_stop": (
        ["Starting", "Downloading", "Training", "Stopping", "Stopped"],
        ["InProgress", "Stopping", "Stopped"],
    ),
    "unknown_status": (
        [
            "Starting",
            "PreparingQuantumFlux",
            "Downloading",
            "Training",
            "Uploading",
            "Completed",
        ],
        ["InProgress", "Completed"],
    ),
}


def test_registry_names():
    """The registry holds exactly the documented ready-made timelines."""
    assert sorted(EXPECTED) == sorted(TIMELINES)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_lifecycle_end_to_end(sim, client, name):
    """Each ready-made timeline yields its exact history and primary sequence."""
    sim.add_job("job", name)
    answers = await _run(sim, client, name="job")
    transitions, primaries = EXPECTED[name]
    assert transitions == _statuses(answers[-1])
    assert primaries == _distinct(a["TrainingJobStatus"] for a in answers)
    seen_secondary = _distinct(a["SecondaryStatus"] for a in answers)
    assert _distinct(transitions) == seen_secondary
    final = answers[-1]
    assert transitions[-1] == final["SecondaryStatus"]
    history = final["SecondaryStatusTransitions"]
    for current, following in itertools.pairwise(history):
        assert following["StartTime"] == current["EndTime"]
    assert history[-1]["StartTime"] == history[-1]["EndTime"]
    assert final["LastModifiedTime"] >= history[-1]["StartTime"]


@pytest.mark.asyncio
async def test_messages_rewritten_in_place(sim, client):
    """A phase's status messages replace each other on the same transition."""
    sim.add_job("job", plain(starting=120, downloading=120))
    seen = []
    for _ in range(4):
        answer = await client.describe_training_job(TrainingJobName="job")
        seen.append(
            [
                (t["Status"], t["StatusMessage"])
                for t in answer["SecondaryStatusTransitions"]
            ]
        )
        sim.advance(61)
    assert seen[0] == [("Starting", "Launching requested ML instances")]
    assert seen[1] == [("Starting", "Preparing the instances for training")]
    assert seen[2] == [
        ("Starting", "Preparing the instances for training"),
        ("Downloading", "Downloading input data"),
    ]
    assert seen[3][-1] == ("Downloading", "Downloading the training image")


@pytest.mark.asyncio
async def test_primary_leads_the_transition(sim, client):
    """With a lead, primary is Completed while the history still ends in Uploading."""
    timeline = plain(
        starting=100, downloading=50, training=300, uploading=30, primary_lead=10
    )
    sim.add_job("job", timeline)
    sim.advance(100 + 50 + 300 + 30 - 5)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["TrainingJobStatus"] == "Completed"
    assert answer["SecondaryStatus"] == "Uploading"
    assert _statuses(answer)[-1] == "Uploading"
    assert "EndTime" not in answer["SecondaryStatusTransitions"][-1]
    sim.advance(5)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert _statuses(answer)[-1] == "Completed"


@pytest.mark.asyncio
async def test_stop_with_lead_matches_recorded_response(sim, client):
    """A stop in Starting with a lead shows Stopping over a lone Starting transition."""
    sim.add_job("job", plain(primary_lead=20))
    sim.advance(10)
    sim.stop_job("job")
    answer = await client.describe_training_job(TrainingJobName="job")
    assert (
        answer["TrainingJobStatus"],
        answer["SecondaryStatus"],
        _statuses(answer),
    ) == ("Stopping", "Starting", ["Starting"])
    sim.advance(20)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert _statuses(answer) == ["Starting", "Stopping"]
    sim.advance(30)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert (
        answer["TrainingJobStatus"],
        _statuses(answer),
    ) == ("Stopped", ["Starting", "Stopping", "Stopped"])


@pytest.mark.asyncio
async def test_completion_details(sim, client):
    """A completed job has start, end, training and billable seconds, and metrics."""
    sim.add_job("job", plain(starting=100, downloading=50, training=300, uploading=30))
    answer = await client.describe_training_job(TrainingJobName="job")
    assert "TrainingStartTime" not in answer
    assert "FinalMetricDataList" not in answer
    sim.advance(1000)
    answer = await client.describe_training_job(TrainingJobName="job")
    start = answer["CreationTime"]
    assert start + dt.timedelta(seconds=100) == answer["TrainingStartTime"]
    assert start + dt.timedelta(seconds=480) == answer["TrainingEndTime"]
    assert answer["TrainingTimeInSeconds"] == 380
    assert answer["BillableTimeInSeconds"] == 380
    assert [m["MetricName"] for m in answer["FinalMetricDataList"]] == [
        "train:loss",
        "validation:accuracy",
    ]
    assert "ProgressInfo" not in answer


@pytest.mark.asyncio
async def test_spot_bills_less_than_training_time(sim, client):
    """A spot job's billable seconds are fewer than its training seconds."""
    sim.add_job("job", spot_interrupted_once())
    sim.advance(100000)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["EnableManagedSpotTraining"] is True
    assert answer["BillableTimeInSeconds"] < answer["TrainingTimeInSeconds"]
    assert "MaxWaitTimeInSeconds" in answer["StoppingCondition"]


@pytest.mark.asyncio
async def test_progress_info_during_training(sim, client):
    """ProgressInfo counts steps and epochs through the Training phase."""
    sim.add_job("job", plain(starting=100, downloading=100, training=1000))
    sim.advance(200 + 550)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["ProgressInfo"] == {
        "TotalStepCountPerEpoch": 100,
        "CurrentStep": 50,
        "CurrentEpoch": 6,
        "MaxEpoch": 10,
    }


@pytest.mark.asyncio
async def test_failure_reason_only_on_failure(sim, client):
    """FailureReason appears once the job has failed, naming the algorithm error."""
    sim.add_job("job", "failure")
    answer = await client.describe_training_job(TrainingJobName="job")
    assert "FailureReason" not in answer
    sim.advance(100000)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["FailureReason"].startswith("AlgorithmError: ExecuteUserScriptError:")
    assert answer["FailureReason"].endswith("exit code 1")


@pytest.mark.asyncio
async def test_unknown_status_is_secondary(sim, client):
    """The unknown status shows as SecondaryStatus while the job is in it."""
    sim.add_job("job", "unknown_status")
    sim.advance(150)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["SecondaryStatus"] == "PreparingQuantumFlux"


@pytest.mark.asyncio
async def test_user_stop_timeline_parameters(sim, client):
    """user_stop's stop_after sets how long training runs before Stopping."""
    sim.add_job("job", user_stop(starting=10, downloading=10, stop_after=100))
    sim.advance(119)
    assert (await client.describe_training_job(TrainingJobName="job"))[
        "SecondaryStatus"
    ] == "Training"
    sim.advance(1)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert (
        answer["TrainingJobStatus"],
        answer["SecondaryStatus"],
    ) == ("Stopping", "Stopping")


def test_custom_timeline_validation():
    """A timeline needs phases, and phases need non-negative durations."""
    with pytest.raises(ValueError, match="at least one phase"):
        Timeline(phases=())
    with pytest.raises(ValueError, match="negative"):
        Phase(status="Training", duration=-1)
    timeline = Timeline(
        phases=(Phase(status="Training", duration=10, messages=("x",)),),
        outcome=Stopped(reason="MaxRuntimeExceeded"),
    )
    assert timeline.duration == 40
    assert "Training" in repr(timeline)
    assert isinstance(plain().outcome, Completed)
