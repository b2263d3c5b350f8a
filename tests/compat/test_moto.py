"""sagemaker-watch against moto's server mode, through real aiobotocore clients.

Many users test with moto: this proves that whatever moto implements of SageMaker's
training jobs (CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs) is read
correctly by the library, the fleet and the command line. Moto's jobs are born
Completed, so each run is one poll long; what moto does not implement is listed in
docs/compatibility.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import uuid

import aiobotocore.session
import anyio
import boto3
import pytest
from moto import mock_aws

import sagemaker_watch as sw
from sagemaker_watch._core.sweeps import vouches
from sagemaker_watch._io.source import AioBotocoreSource, ListPage

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
#: Poll at once: moto's jobs are already Completed.
FAST = sw.PollSchedule(min_delay=0.05, max_delay=0.2, setup_max_delay=0.2)


@pytest.fixture(name="moto_env")
def _moto_env(moto_url, monkeypatch):
    """Point the standard AWS chain at moto (dummy credentials, region, endpoint)."""
    env = {
        **CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_SAGEMAKER": moto_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture(name="create_job")
def _create_job(moto_url):
    """A function that creates a moto training job with boto3 and returns its name."""
    client = boto3.client(
        "sagemaker",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    yield lambda prefix="moto-job": create_training_job(client, prefix)
    client.close()


def create_training_job(client, prefix):
    """Create a training job through the boto3 *client*; return its name."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    client.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1",
            "TrainingInputMode": "File",
        },
        RoleArn="arn:aws:iam::123456789012:role/sagemaker",
        OutputDataConfig={"S3OutputPath": "s3://bucket/output"},
        ResourceConfig={
            "InstanceType": "ml.m5.large",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        HyperParameters={"epochs": "3"},
    )
    return name


def moto_client(moto_url):
    """An aiobotocore SageMaker client for moto (an async context manager)."""
    return aiobotocore.session.get_session().create_client(
        "sagemaker",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


async def run_cli(*args, env):
    """Run ``python -m sagemaker_watch`` with *args*; return (code, stdout, stderr)."""
    with anyio.fail_after(60):
        result = await anyio.run_process(
            [sys.executable, "-m", "sagemaker_watch", *args],
            env={**os.environ, **env},
            check=False,
        )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


@pytest.mark.usefixtures("moto_env")
@pytest.mark.asyncio
async def test_wait_until_complete_reads_a_moto_job(create_job):
    """wait_until_complete returns moto's Completed job, read from the default chain."""
    name = create_job()
    snapshot = await sw.wait_until_complete(name, schedule=FAST, timeout=30)
    assert (name, sw.PrimaryStatus.COMPLETED) == (
        snapshot.job_name,
        snapshot.primary_status,
    )
    assert f"arn:aws:sagemaker:{REGION}:123456789012:training-job/{name}" == (
        snapshot.job_arn
    )


@pytest.mark.asyncio
async def test_wait_until_complete_with_a_caller_owned_client(create_job, moto_url):
    """A caller-owned aiobotocore client against moto works, and stays open."""
    name = create_job()
    async with moto_client(moto_url) as client:
        snapshot = await sw.wait_until_complete(
            name, client=client, schedule=FAST, timeout=30
        )
        again = await client.describe_training_job(TrainingJobName=name)
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status
    assert name == again["TrainingJobName"]


@pytest.mark.usefixtures("moto_env")
@pytest.mark.asyncio
async def test_watch_yields_the_events_of_a_moto_job(create_job):
    """watch() reports moto's job: observed, its one transition, then completed."""
    name = create_job()
    with anyio.fail_after(30):
        async with sw.watch(name, schedule=FAST) as stream:
            events = [event async for event in stream]
    assert [
        ("JobObserved", name),
        ("StatusEntered", name),
        ("JobCompleted", name),
    ] == [(type(event).__name__, event.job_name) for event in events]
    assert sw.SecondaryStatus.STARTING == events[1].status
    assert "s3://bucket/output" in events[-1].model_artifacts


@pytest.mark.usefixtures("moto_env")
@pytest.mark.asyncio
async def test_fleet_watches_moto_jobs_with_list_sweeps(create_job, moto_url):
    """FleetWatcher ends every moto job Completed, listing through ListTrainingJobs."""
    names = sorted(create_job("fleet") for _ in range(3))
    async with sw.FleetWatcher(
        endpoint_url=moto_url,
        region=REGION,
        schedule=FAST,
        sweep_interval=0.1,
        list_min_jobs=1,
        # One request at a time: the first sweep's page goes before the describes,
        # which would otherwise end moto's (already Completed) jobs first when the
        # machine is slow, and the fleet would close with the page still in flight.
        max_in_flight=1,
    ) as fleet:
        for name in names:
            fleet.add(name)
        with anyio.fail_after(30):
            ended = [
                event.job_name
                async for event in fleet
                if isinstance(event, sw.JobCompleted)
            ]
        statistics = fleet.statistics()
    assert names == sorted(ended)
    assert (3, 0, {}) == (statistics.finished, statistics.lost, statistics.errors)
    assert statistics.calls["ListTrainingJobs"] >= 1


@pytest.mark.asyncio
async def test_a_moto_census_lists_each_job_exactly_as_its_describe(
    create_job, moto_url
):
    """A census page (no LastModifiedTimeAfter) vouches for moto's jobs' describes.

    The fleet's census trusts a summary with the describe's LastModifiedTime
    and statuses: moto's two operations must agree to the millisecond.
    """
    names = sorted(create_job("census") for _ in range(3))
    async with moto_client(moto_url) as client:
        source = AioBotocoreSource(client)
        snapshots = {name: await source.describe_once(name) for name in names}
        oldest = min(s.creation_time for s in snapshots.values())
        page = await source.list_changed(
            modified_after=None, created_after=oldest - dt.timedelta(seconds=1)
        )
    assert isinstance(page, ListPage), page
    listed = {s.job_name: s for s in page.summaries if s.job_name in snapshots}
    assert names == sorted(listed)
    for name, snapshot in snapshots.items():
        assert vouches(snapshot, listed[name]), name


@pytest.mark.asyncio
async def test_cli_wait_exits_zero_for_a_completed_moto_job(create_job, moto_env):
    """``sagemaker-watch wait JOB`` against moto exits 0 and names the outcome."""
    name = create_job()
    code, out, err = await run_cli("wait", name, "--min-delay", "0.05", env=moto_env)
    assert (0, "") == (code, err)
    assert name in out
    assert "Completed" in out


@pytest.mark.asyncio
async def test_cli_watch_json_prints_the_moto_job_events(create_job, moto_env):
    """``sagemaker-watch watch JOB --json`` against moto prints each event as JSON."""
    name = create_job()
    code, out, _ = await run_cli("watch", name, "--json", env=moto_env)
    events = [json.loads(line) for line in out.splitlines()]
    assert 0 == code
    assert ["job_observed", "status_entered", "job_completed"] == [
        event["event"] for event in events
    ]
    assert {name} == {event["job_name"] for event in events}


@pytest.mark.usefixtures("moto_env")
@pytest.mark.asyncio
async def test_a_missing_job_is_not_found():
    """Moto's ValidationException 'Could not find training job' is not-found."""
    retry = sw.RetryPolicy(not_found_grace=0)
    with pytest.raises(sw.TrainingJobNotFound):
        await sw.wait_until_complete("no-such-job", retry=retry, timeout=30)


@pytest.mark.asyncio
async def test_cli_exits_4_for_a_missing_moto_job(moto_env):
    """``sagemaker-watch wait`` on a job moto does not have exits 4 (no such job)."""
    code, _, err = await run_cli("wait", "no-such-job", "--grace", "0", env=moto_env)
    assert 4 == code, err


@pytest.mark.asyncio
async def test_moto_decorator_mode_does_not_serve_aiobotocore(monkeypatch):
    """Under mock_aws, aiobotocore gets no answer it can read: a clear ServiceError."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        name = create_training_job(boto3.client("sagemaker", region_name=REGION), "m")
        async with sw.sagemaker_client(region=REGION) as client:
            with pytest.raises(sw.ServiceError, match="could not parse"):
                await sw.wait_until_complete(
                    name, client=client, retry=sw.RetryPolicy(max_attempts=1)
                )
