"""The fake SageMaker's operations, lifecycle, clocks and Python-side control."""

from __future__ import annotations

import datetime as dt
import os

import anyio
import pytest
import pytest_asyncio
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

import sagemaker_watch.testing
from sagemaker_watch._io.clock import Clock
from sagemaker_watch.testing import (
    TIMELINE_TAG,
    FakeSageMaker,
    ManualClock,
    ScaledClock,
    SimulatedSageMaker,
    plain,
)

START = dt.datetime(2024, 5, 6, 9, 30, tzinfo=dt.UTC)


@pytest_asyncio.fixture(name="sim")
async def _sim():
    """A running fake on a manual clock, with no quotas."""
    async with FakeSageMaker(clock=ManualClock(), quotas={}) as fake:
        yield fake


@pytest_asyncio.fixture(name="client")
async def _client(sim):
    """An aiobotocore client for the fake."""
    async with sim.client() as client:
        yield client


def _create_request(name, **extra):
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


def _error(excinfo):
    error = excinfo.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"]["Message"],
    )


@pytest.mark.asyncio
async def test_plugin_fixture(fake_sagemaker):
    """The plugin's fixture yields a running fake on a manual clock."""
    assert isinstance(fake_sagemaker.clock, ManualClock)
    assert fake_sagemaker.endpoint_url.startswith("http://127.0.0.1:")


@pytest.mark.asyncio
async def test_reentering_raises():
    """A fake can be entered once; a closed one refuses to start again."""
    fake = FakeSageMaker(clock=ManualClock())
    async with fake:
        with pytest.raises(RuntimeError, match="open"):
            await fake.__aenter__()
    with pytest.raises(RuntimeError, match="closed"):
        await fake.__aenter__()
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.endpoint_url


def test_speed_and_clock_exclusive():
    """Giving both speed and clock is an error."""
    with pytest.raises(ValueError, match="not both"):
        FakeSageMaker(speed=2.0, clock=ManualClock())


@pytest.mark.asyncio
async def test_service_is_the_model_behind_the_wire(sim, client):
    """FakeSageMaker.service is the simulated service the HTTP answers come from."""
    service = sim.service
    assert isinstance(service, SimulatedSageMaker)
    assert (sim.clock, sim.region, sim.account_id) == (
        service.clock,
        service.region,
        service.account_id,
    )
    service.add_job("job", plain())
    sim.advance(100)
    answer = await client.describe_training_job(TrainingJobName="job")
    expected = service.describe_training_job({"TrainingJobName": "job"})
    assert (
        expected["SecondaryStatusTransitions"][-1]["Status"]
        == (answer["SecondaryStatusTransitions"][-1]["Status"])
    )
    assert (
        dt.datetime.fromtimestamp(expected["CreationTime"], dt.UTC)
        == (answer["CreationTime"])
    )
    assert 1 == service.request_count("DescribeTrainingJob", "job")


@pytest.mark.asyncio
async def test_create_then_describe(client):
    """A job created over the API echoes its request members in Describe."""
    request = _create_request(
        "api-job",
        HyperParameters={"epochs": "3"},
        Environment={"TOKEN": "secret"},
        EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200},
        RetryStrategy={"MaximumRetryAttempts": 2},
    )
    created = await client.create_training_job(**request)
    assert (
        created["TrainingJobArn"]
        == "arn:aws:sagemaker:us-east-1:123456789012:training-job/api-job"
    )
    answer = await client.describe_training_job(TrainingJobName="api-job")
    assert answer["HyperParameters"] == {"epochs": "3"}
    assert answer["Environment"] == {"TOKEN": "secret"}
    assert answer["EnableManagedSpotTraining"] is True
    assert answer["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 600,
        "MaxWaitTimeInSeconds": 1200,
    }
    assert answer["RetryStrategy"] == {"MaximumRetryAttempts": 2}
    assert answer["CreationTime"] == START
    assert (
        answer["TrainingJobStatus"],
        answer["SecondaryStatus"],
    ) == ("InProgress", "Starting")
    assert (
        answer["ModelArtifacts"]["S3ModelArtifacts"]
        == "s3://bucket/out/api-job/output/model.tar.gz"
    )


@pytest.mark.asyncio
async def test_create_picks_timeline_from_tag(sim, client):
    """The sagemaker-watch:timeline tag picks a ready-made timeline."""
    await client.create_training_job(
        **_create_request("tagged", Tags=[{"Key": TIMELINE_TAG, "Value": "failure"}])
    )
    sim.advance(100000)
    answer = await client.describe_training_job(TrainingJobName="tagged")
    assert answer["TrainingJobStatus"] == "Failed"


@pytest.mark.asyncio
async def test_create_rejects_unknown_timeline_tag(client):
    """An unknown timeline tag is a ValidationException."""
    with pytest.raises(ClientError) as excinfo:
        await client.create_training_job(
            **_create_request("tagged", Tags=[{"Key": TIMELINE_TAG, "Value": "nope"}])
        )
    assert _error(excinfo)[:2] == (400, "ValidationException")


@pytest.mark.asyncio
async def test_create_uses_default_timeline():
    """Jobs created over the API follow the fake's default timeline."""
    async with (
        FakeSageMaker(clock=ManualClock(), default_timeline="max_runtime") as fake,
        fake.client() as client,
    ):
        await client.create_training_job(**_create_request("job"))
        fake.advance(100000)
        answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["SecondaryStatus"] == "MaxRuntimeExceeded"


@pytest.mark.asyncio
async def test_create_validates_name(client):
    """A name outside SageMaker's pattern is a ValidationException."""
    with pytest.raises(ClientError) as excinfo:
        await client.create_training_job(**_create_request("bad_name"))
    status, code, message = _error(excinfo)
    assert (status, code) == (400, "ValidationException")
    assert "regular expression pattern" in message


@pytest.mark.asyncio
async def test_create_rejects_duplicates(sim, client):
    """A second job of the same name is ResourceInUse, naming the ARN."""
    arn = sim.add_job("dup")
    with pytest.raises(ClientError) as excinfo:
        await client.create_training_job(**_create_request("dup"))
    assert (
        400,
        "ResourceInUse",
        (
            "Training job names must be unique within an AWS account and region, "
            f"and a training job with this name already exists ({arn})"
        ),
    ) == _error(excinfo)


@pytest.mark.asyncio
async def test_describe_missing(client):
    """Describing a missing job is the real service's ValidationException."""
    with pytest.raises(ClientError) as excinfo:
        await client.describe_training_job(TrainingJobName="missing")
    assert _error(excinfo) == (
        400,
        "ValidationException",
        "Requested resource not found.",
    )


@pytest.mark.asyncio
async def test_stop_flow(sim, client):
    """Stop turns the primary Stopping at once, the history 5 s later, then Stopped."""
    sim.add_job("job", plain())
    sim.advance(500)
    await client.stop_training_job(TrainingJobName="job")
    answer = await client.describe_training_job(TrainingJobName="job")
    assert ("Stopping", "Training") == (
        answer["TrainingJobStatus"],
        answer["SecondaryStatus"],
    )
    sim.advance(5)
    answer = await client.describe_training_job(TrainingJobName="job")
    last = answer["SecondaryStatusTransitions"][-1]
    assert (
        last["Status"],
        last["StatusMessage"],
    ) == ("Stopping", "Stopping the training job")
    sim.advance(30)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert (
        answer["TrainingJobStatus"],
        answer["SecondaryStatus"],
    ) == ("Stopped", "Stopped")
    assert [t["Status"] for t in answer["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Stopping",
        "Stopped",
    ]
    assert (
        answer["SecondaryStatusTransitions"][-1]["StatusMessage"]
        == "Training job stopped"
    )
    with pytest.raises(ClientError) as excinfo:
        await client.stop_training_job(TrainingJobName="job")
    assert _error(excinfo) == (
        400,
        "ValidationException",
        "The request was rejected because the training job is in status Stopped.",
    )


@pytest.mark.asyncio
async def test_stop_missing(client):
    """Stopping a missing job is ValidationException, resource not found."""
    with pytest.raises(ClientError) as excinfo:
        await client.stop_training_job(TrainingJobName="missing")
    assert _error(excinfo) == (
        400,
        "ValidationException",
        "Requested resource not found.",
    )


def test_python_stop_errors():
    """stop_job raises KeyError for a missing job and ValueError for an ended one."""
    fake = FakeSageMaker(clock=ManualClock())
    with pytest.raises(KeyError):
        fake.stop_job("missing")
    fake.add_job("job", "failure")
    fake.advance(100000)
    with pytest.raises(ValueError, match="status Failed"):
        fake.stop_job("job")


@pytest.mark.asyncio
async def test_name_reuse_after_delete(sim, client):
    """delete_job frees the name for a new job with a new creation time."""
    sim.add_job("job", "failure")
    sim.advance(100000)
    sim.delete_job("job")
    with pytest.raises(ClientError):
        await client.describe_training_job(TrainingJobName="job")
    sim.add_job("job", "plain")
    answer = await client.describe_training_job(TrainingJobName="job")
    assert START + dt.timedelta(seconds=100000) == answer["CreationTime"]
    assert answer["TrainingJobStatus"] == "InProgress"
    with pytest.raises(KeyError):
        sim.delete_job("never-was")


@pytest.mark.asyncio
async def test_delete_training_job_api(sim, client):
    """DeleteTrainingJob shows Deleting, then the job is gone and its name free."""
    sim.add_job("job", "plain")
    with pytest.raises(ClientError) as excinfo:
        await client.delete_training_job(TrainingJobName="job")
    assert _error(excinfo)[1] == "ValidationException"
    sim.advance(100000)
    await client.delete_training_job(TrainingJobName="job")
    answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["TrainingJobStatus"] == "Deleting"
    sim.advance(10)
    with pytest.raises(ClientError):
        await client.describe_training_job(TrainingJobName="job")
    assert sim.job_names() == ()
    with pytest.raises(ClientError):
        await client.delete_training_job(TrainingJobName="job")


def test_add_job_errors():
    """add_job rejects bad names, duplicates and unknown timelines with ValueError."""
    fake = FakeSageMaker(clock=ManualClock())
    with pytest.raises(ValueError, match="regular expression"):
        fake.add_job("-bad")
    fake.add_job("ok")
    with pytest.raises(ValueError, match="must be unique"):
        fake.add_job("ok")
    with pytest.raises(ValueError, match="unknown timeline"):
        fake.add_job("other", "nope")


def test_add_job_overrides_and_describe_job():
    """add_job's request members replace the defaults in the Describe answer."""
    fake = FakeSageMaker(clock=ManualClock())
    fake.add_job("job", plain(), HyperParameters={"lr": "0.1"})
    answer = fake.describe_job("job")
    assert answer["HyperParameters"] == {"lr": "0.1"}
    assert answer["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    with pytest.raises(KeyError):
        fake.describe_job("missing")


@pytest.mark.asyncio
async def test_warm_pool_status(sim, client):
    """A job with KeepAlivePeriodInSeconds keeps a warm pool, then terminates it."""
    sim.add_job(
        "job",
        plain(),
        ResourceConfig={
            "InstanceType": "ml.m5.large",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
            "KeepAlivePeriodInSeconds": 600,
        },
    )
    answer = await client.describe_training_job(TrainingJobName="job")
    assert "WarmPoolStatus" not in answer
    sim.advance(plain().duration + 1)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["WarmPoolStatus"] == {"Status": "Available"}
    sim.advance(600)
    answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["WarmPoolStatus"] == {
        "Status": "Terminated",
        "ResourceRetainedBillableTimeInSeconds": 600,
    }
    listed = await client.list_training_jobs(WarmPoolStatusEquals="Terminated")
    assert (listed["TrainingJobSummaries"][0]["WarmPoolStatus"]) == {
        "Status": "Terminated",
        "ResourceRetainedBillableTimeInSeconds": 600,
    }


@pytest.mark.asyncio
async def test_environ_points_a_default_client_at_the_fake(sim, monkeypatch):
    """environ() makes a plain session's client talk to the fake."""
    sim.add_job("job")
    for key, value in sim.environ().items():
        monkeypatch.setenv(key, value)
    assert sim.endpoint_url == os.environ["AWS_ENDPOINT_URL_SAGEMAKER"]
    async with get_session().create_client("sagemaker") as client:
        answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["TrainingJobName"] == "job"


@pytest.mark.asyncio
async def test_unknown_operation_and_bad_json(sim):
    """Unknown targets and bodies that are not JSON objects are 400 errors."""
    import aiohttp  # noqa: PLC0415

    headers = {"Content-Type": "application/x-amz-json-1.1"}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            sim.endpoint_url,
            data=b"{}",
            headers={**headers, "X-Amz-Target": "SageMaker.CreateEndpoint"},
        ) as response:
            assert response.status == 400
            assert (await response.json(content_type=None))[
                "__type"
            ] == "UnknownOperationException"
        async with session.post(
            sim.endpoint_url,
            data=b"[1]",
            headers={**headers, "X-Amz-Target": "SageMaker.DescribeTrainingJob"},
        ) as response:
            assert response.status == 400


@pytest.mark.asyncio
async def test_manual_clock_satisfies_clock_protocol():
    """ManualClock is a Clock whose sleep advances time and yields."""
    clock = ManualClock()
    assert isinstance(clock, Clock)
    assert clock.now() == START
    await clock.sleep(3600)
    assert clock.monotonic() == 3600
    assert START + dt.timedelta(hours=1) == clock.now()
    await clock.sleep(-5)
    assert clock.monotonic() == 3600
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="aware"):
        ManualClock(dt.datetime(2024, 1, 1))  # noqa: DTZ001
    assert repr(clock) == "ManualClock(now=2024-05-06T10:30:00+00:00)"


@pytest.mark.asyncio
async def test_scaled_clock_compresses_time():
    """A ScaledClock at 10,000x sleeps a simulated hour in well under a second."""
    clock = ScaledClock(speed=10000)
    assert isinstance(clock, Clock)
    before = clock.monotonic()
    with anyio.fail_after(2):
        await clock.sleep(3600)
    assert clock.monotonic() - before >= 3600
    assert clock.now() > START
    assert clock.speed == 10000
    assert repr(clock).startswith("ScaledClock(speed=10000")
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(speed=0)


@pytest.mark.asyncio
async def test_speed_mode_moves_jobs():
    """In speed mode jobs progress with real time and advance() is refused."""
    async with FakeSageMaker(speed=100000) as fake, fake.client() as client:
        fake.add_job("job", plain(training=600))
        with pytest.raises(TypeError):
            fake.advance(1)
        await fake.clock.sleep(plain(training=600).duration + 1)
        answer = await client.describe_training_job(TrainingJobName="job")
    assert answer["TrainingJobStatus"] == "Completed"
    assert "FakeSageMaker(closed" in repr(fake)


def test_testing_imports_without_pytest():
    """sagemaker_watch.testing imports in a fresh interpreter without pytest."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys, sagemaker_watch.testing as t; "
        "print('pytest' in sys.modules, len(t.__all__))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    expected = f"False {len(sagemaker_watch.testing.__all__)}"
    assert expected == result.stdout.strip()


def test_scaled_clock_starts_at_the_real_time():
    """A ScaledClock without a start reads the real current time, to the second."""
    before = dt.datetime.now(dt.UTC)
    clock = ScaledClock(speed=1000)
    after = dt.datetime.now(dt.UTC)
    assert (
        before - dt.timedelta(seconds=1)
        <= clock.now()
        <= after + dt.timedelta(seconds=1)
    )
    fake = FakeSageMaker(speed=1000)
    assert abs(fake.clock.now() - after) < dt.timedelta(seconds=1)


def test_manual_clock_keeps_a_fixed_start():
    """A ManualClock without a start reads a fixed instant, so tests repeat exactly."""
    assert START == ManualClock().now()
