"""Every ready-made lifecycle on a hand-driven clock: on the model, and over HTTP."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import pathlib

import pytest
import pytest_asyncio
from botocore.exceptions import ClientError

from sagemaker_watch.testing import (
    TIMELINES,
    Completed,
    FakeSageMaker,
    ManualClock,
    Phase,
    SimulatedSageMaker,
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


@pytest.fixture(name="clock")
def _clock():
    """The simulated time of a socket-free service."""
    return ManualClock()


@pytest.fixture(name="service")
def _service(clock):
    """The simulated service alone, without HTTP."""
    return SimulatedSageMaker(clock=clock)


FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "describe-responses"


def _statuses(answer):
    return [t["Status"] for t in answer["SecondaryStatusTransitions"]]


def _run_service(service, clock, name, *, step=20.0, limit=20000.0):
    """Describe every *step* simulated seconds until terminal; return the answers."""
    answers = []
    elapsed = 0.0
    while elapsed <= limit:
        answer = service.describe_training_job({"TrainingJobName": name})
        answers.append(answer)
        if answer["TrainingJobStatus"] in {"Completed", "Failed", "Stopped"}:
            clock.advance(3600)
            answers.append(service.describe_training_job({"TrainingJobName": name}))
            return answers
        clock.advance(step)
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


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_lifecycle_end_to_end(service, clock, name):
    """Each ready-made timeline yields its exact history and primary sequence."""
    service.add_job("job", name)
    answers = _run_service(service, clock, name="job")
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
    """Each status's messages appear under it, in order, as the service logs them."""
    sim.add_job("job", plain(starting=90, downloading=30, training=60, uploading=30))
    seen = []
    for _ in range(25):
        answer = await client.describe_training_job(TrainingJobName="job")
        last = answer["SecondaryStatusTransitions"][-1]
        seen.append((last["Status"], last["StatusMessage"]))
        sim.advance(10)
    assert [
        ("Starting", "Starting the training job"),
        ("Starting", "Launching requested ML instances"),
        ("Starting", "Preparing the instances for training"),
        ("Downloading", "Downloading input data"),
        ("Training", "Downloading the training image"),
        ("Training", "Training image download completed. Training in progress."),
        ("Uploading", "Uploading generated training model"),
        ("Completed", "Training job completed"),
    ] == _distinct(seen)


@pytest.mark.asyncio
async def test_final_history_matches_the_recorded_one(sim, client):
    """A completed plain job's history reads like the recorded real response."""
    recorded = json.loads((FIXTURES / "ack_completed.json").read_text())
    sim.add_job("job", "plain")
    sim.advance(100000)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert [
        (t["Status"], t["StatusMessage"])
        for t in recorded["SecondaryStatusTransitions"]
    ] == [
        (t["Status"], t["StatusMessage"]) for t in answer["SecondaryStatusTransitions"]
    ]


@pytest.mark.asyncio
async def test_stop_in_starting_matches_the_recorded_response(sim, client):
    """Just after a stop, primary is Stopping over a lone, unchanged Starting."""
    recorded = json.loads(
        (FIXTURES / "ack_stopping_secondary_starting.json").read_text()
    )
    sim.add_job("job", "plain")
    sim.advance(50)
    sim.stop_job("job")
    answer = await client.describe_training_job(TrainingJobName="job")
    assert (
        recorded["TrainingJobStatus"],
        recorded["SecondaryStatus"],
        [
            (t["Status"], t["StatusMessage"])
            for t in recorded["SecondaryStatusTransitions"]
        ],
    ) == (
        answer["TrainingJobStatus"],
        answer["SecondaryStatus"],
        [
            (t["Status"], t["StatusMessage"])
            for t in answer["SecondaryStatusTransitions"]
        ],
    )
    assert sim.clock.now() == answer["LastModifiedTime"]


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


def _request(name, **extra):
    return {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/Role",
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.large",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        **extra,
    }


def _seen(answer):
    return (
        answer["TrainingJobStatus"],
        answer["SecondaryStatus"],
        _statuses(answer),
    )


@pytest.mark.asyncio
async def test_max_runtime_from_the_request_stops_the_job(sim, client):
    """A job created with MaxRuntimeInSeconds=100 is stopped 100 s into its run."""
    await client.create_training_job(
        **_request("job", StoppingCondition={"MaxRuntimeInSeconds": 100})
    )
    sim.advance(189)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert ("InProgress", "Training", ["Starting", "Downloading", "Training"]) == _seen(
        answer
    )
    sim.advance(1)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert (
        "Stopping",
        "Stopping",
        ["Starting", "Downloading", "Training", "Stopping"],
    ) == _seen(answer)
    sim.advance(30)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert (
        "Stopped",
        "MaxRuntimeExceeded",
        ["Starting", "Downloading", "Training", "Stopping", "MaxRuntimeExceeded"],
    ) == _seen(answer)
    assert (
        "Training job runtime exceeded MaxRuntimeInSeconds provided"
        == answer["SecondaryStatusTransitions"][-1]["StatusMessage"]
    )
    assert {"MaxRuntimeInSeconds": 100} == answer["StoppingCondition"]
    assert 100 == answer["TrainingTimeInSeconds"]
    assert 100 == answer["BillableTimeInSeconds"]
    assert dt.timedelta(seconds=100) == (
        answer["TrainingEndTime"] - answer["TrainingStartTime"]
    )


@pytest.mark.asyncio
async def test_max_wait_stops_a_spot_job(sim, client):
    """A spot job still running MaxWaitTimeInSeconds after creation is stopped."""
    sim.add_job(
        "job",
        spot_interrupted_once(),
        StoppingCondition={"MaxRuntimeInSeconds": 900, "MaxWaitTimeInSeconds": 1000},
    )
    sim.advance(969)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert ("InProgress", "Interrupted") == _seen(answer)[:2]
    sim.advance(1)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert ("Stopping", "Stopping") == _seen(answer)[:2]
    sim.advance(30)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert (
        "Stopped",
        "MaxWaitTimeExceeded",
        [
            "Starting",
            "Downloading",
            "Training",
            "Interrupted",
            "Stopping",
            "MaxWaitTimeExceeded",
        ],
    ) == _seen(answer)
    assert dt.timedelta(seconds=1000) == (
        answer["TrainingEndTime"] - answer["CreationTime"]
    )
    assert answer["BillableTimeInSeconds"] <= answer["TrainingTimeInSeconds"] <= 900


@pytest.mark.asyncio
async def test_max_wait_below_max_runtime_is_rejected(client):
    """A spot job whose MaxWaitTimeInSeconds is below its MaxRuntime is rejected."""
    with pytest.raises(ClientError) as excinfo:
        await client.create_training_job(
            **_request(
                "job",
                StoppingCondition={
                    "MaxRuntimeInSeconds": 100,
                    "MaxWaitTimeInSeconds": 50,
                },
                EnableManagedSpotTraining=True,
            )
        )
    assert "ValidationException" == excinfo.value.response["Error"]["Code"]
    assert (
        "Invalid MaxWaitTimeInSeconds. It must be present and be greater than or "
        "equal to MaxRuntimeInSeconds"
    ) == excinfo.value.response["Error"]["Message"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ready_made_stopping_conditions_hold(service, clock, name):
    """Each ready-made timeline's StoppingCondition agrees with how the job ends."""
    service.add_job("job", name)
    final = _run_service(service, clock, name="job")[-1]
    limits = final["StoppingCondition"]
    training = final.get("TrainingTimeInSeconds", 0)
    wall = final["TrainingEndTime"] - final["CreationTime"]
    assert training <= limits["MaxRuntimeInSeconds"]
    assert final.get("BillableTimeInSeconds", 0) <= training
    if final["SecondaryStatus"] == "MaxRuntimeExceeded":
        assert limits["MaxRuntimeInSeconds"] == training
    if final["EnableManagedSpotTraining"]:
        assert wall <= limits["MaxWaitTimeInSeconds"]
        assert limits["MaxRuntimeInSeconds"] <= limits["MaxWaitTimeInSeconds"]
    else:
        assert "MaxWaitTimeInSeconds" not in limits
    if final["SecondaryStatus"] == "MaxWaitTimeExceeded":
        assert limits["MaxWaitTimeInSeconds"] == wall
