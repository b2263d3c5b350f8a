"""Fault injection, quotas and request accounting on the fake SageMaker."""

from __future__ import annotations

import pytest
import pytest_asyncio
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from sagemaker_watch.testing import (
    DEFAULT_QUOTAS,
    FakeSageMaker,
    Fault,
    ManualClock,
    Quota,
)


@pytest_asyncio.fixture(name="sim")
async def _sim():
    """A running fake with one job and no quotas."""
    async with FakeSageMaker(clock=ManualClock(), quotas={}) as fake:
        fake.add_job("job")
        fake.add_job("other")
        yield fake


@pytest_asyncio.fixture(name="client")
async def _client(sim):
    """An aiobotocore client for the fake, making single attempts."""
    async with sim.client() as client:
        yield client


async def _describe(client, name="job"):
    return await client.describe_training_job(TrainingJobName=name)


def _code(excinfo):
    response = excinfo.value.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"])


@pytest.mark.asyncio
async def test_throttle_times(sim, client):
    """A throttle fault answers ThrottlingException its number of times, then stops."""
    sim.inject(Fault.throttle(operation="DescribeTrainingJob", times=2))
    for _ in range(2):
        with pytest.raises(ClientError) as excinfo:
            await _describe(client)
        assert _code(excinfo) == (400, "ThrottlingException")
        assert excinfo.value.response["Error"]["Message"] == "Rate exceeded"
    assert (await _describe(client))["TrainingJobName"] == "job"
    stats = sim.statistics()
    assert stats.requests["DescribeTrainingJob"] == 3
    assert stats.throttled["DescribeTrainingJob"] == 2
    assert stats.faulted["DescribeTrainingJob"] == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "code"), [(503, "ServiceUnavailable"), (500, "InternalFailure")]
)
async def test_server_errors(sim, client, status, code):
    """A server_error fault answers the 5xx status and code once."""
    sim.inject(Fault.server_error(status, times=1))
    with pytest.raises(ClientError) as excinfo:
        await _describe(client)
    assert (status, code) == _code(excinfo)
    await _describe(client)


@pytest.mark.asyncio
async def test_generic_error_on_create(sim, client):
    """Fault.error can answer any code, such as ResourceLimitExceeded on create."""
    sim.inject(
        Fault.error(
            "ResourceLimitExceeded",
            "The account-level service limit has been exceeded",
            operation="CreateTrainingJob",
            times=1,
        )
    )
    with pytest.raises(ClientError) as excinfo:
        await client.create_training_job(
            TrainingJobName="new",
            RoleArn="arn:aws:iam::123456789012:role/R",
            OutputDataConfig={"S3OutputPath": "s3://b/"},
        )
    assert _code(excinfo) == (400, "ResourceLimitExceeded")


@pytest.mark.asyncio
async def test_fault_targets_one_job(sim, client):
    """A fault naming a job leaves requests for other jobs alone."""
    sim.inject(Fault.server_error(503, job_name="job"))
    await _describe(client, "other")
    with pytest.raises(ClientError):
        await _describe(client, "job")
    with pytest.raises(ClientError):
        await _describe(client, "job")
    sim.clear_faults()
    await _describe(client, "job")
    assert sim.request_count("DescribeTrainingJob", "job") == 3
    assert sim.request_count(job_name="other") == 1
    assert sim.request_count("DescribeTrainingJob") == 4
    assert sim.request_count() == 4


@pytest.mark.asyncio
async def test_fault_targets_one_operation(sim, client):
    """A fault naming an operation leaves other operations alone."""
    sim.inject(Fault.throttle(operation="ListTrainingJobs"))
    await _describe(client)
    with pytest.raises(ClientError):
        await client.list_training_jobs()


@pytest.mark.asyncio
async def test_probability_is_seeded():
    """A probabilistic fault fires on a share of requests, the same share per seed."""

    async def failures(seed):
        async with (
            FakeSageMaker(clock=ManualClock(), seed=seed) as fake,
            fake.client() as client,
        ):
            fake.add_job("job")
            fake.inject(Fault.server_error(503, probability=0.5))
            outcomes = []
            for _ in range(40):
                try:
                    await _describe(client)
                    outcomes.append(False)
                except ClientError:
                    outcomes.append(True)
            return outcomes

    first = await failures(7)
    assert first == await failures(7)
    assert 8 < sum(first) < 32


@pytest.mark.asyncio
async def test_drop_connection(sim, client):
    """A dropped connection reaches the client as ConnectionClosedError."""
    sim.inject(Fault.drop_connection(times=1))
    with pytest.raises(ConnectionClosedError):
        await _describe(client)
    await _describe(client)


@pytest.mark.asyncio
async def test_truncated_body(sim, client):
    """A body shorter than its Content-Length fails the read."""
    sim.inject(Fault.truncated(times=1))
    with pytest.raises(ConnectionClosedError):
        await _describe(client)
    await _describe(client)


@pytest.mark.asyncio
async def test_slow_answer_trips_read_timeout(sim):
    """A slow answer longer than the client's read timeout is a ReadTimeoutError."""
    sim.inject(Fault.slow(0.3, times=1))
    async with sim.client(config=AioConfig(read_timeout=0.05)) as client:
        with pytest.raises(ReadTimeoutError):
            await _describe(client)
        assert (await _describe(client))["TrainingJobName"] == "job"


@pytest.mark.asyncio
async def test_slow_answer_arrives(sim, client):
    """A slow answer within the timeout is the normal answer."""
    sim.inject(Fault.slow(0.05, times=1))
    assert (await _describe(client))["TrainingJobName"] == "job"
    assert sim.statistics().faulted["DescribeTrainingJob"] == 1


@pytest.mark.asyncio
async def test_malformed_not_json(sim, client):
    """A body that is not JSON parses to nothing but metadata."""
    sim.inject(Fault.malformed_body("not_json", times=1))
    answer = await _describe(client)
    assert list(answer) == ["ResponseMetadata"]


@pytest.mark.asyncio
async def test_malformed_cut_json(sim, client):
    """Half a JSON body with a truthful length parses to nothing but metadata."""
    sim.inject(Fault.malformed_body("cut_json", times=1))
    answer = await _describe(client)
    assert list(answer) == ["ResponseMetadata"]


@pytest.mark.asyncio
async def test_malformed_missing_members(sim, client):
    """A body missing required members lacks TrainingJobStatus and friends."""
    sim.inject(Fault.malformed_body("missing_members", times=1))
    answer = await _describe(client)
    assert "TrainingJobStatus" not in answer
    assert "TrainingJobName" not in answer
    assert "RoleArn" in answer


def test_fault_validation():
    """Faults reject zero counts and probabilities outside [0, 1]."""
    with pytest.raises(ValueError, match="times"):
        Fault.throttle(times=0)
    with pytest.raises(ValueError, match="probability"):
        Fault.drop_connection(probability=1.5)
    assert "Fault('slow'" in repr(Fault.slow(1))


@pytest.mark.asyncio
async def test_default_list_quota_on_simulated_time():
    """ListTrainingJobs throttles past 2 requests per simulated second by default."""
    async with FakeSageMaker(clock=ManualClock()) as fake, fake.client() as client:
        await client.list_training_jobs()
        await client.list_training_jobs()
        with pytest.raises(ClientError) as excinfo:
            await client.list_training_jobs()
        assert _code(excinfo) == (400, "ThrottlingException")
        fake.advance(0.5)
        await client.list_training_jobs()
        with pytest.raises(ClientError):
            await client.list_training_jobs()
        stats = fake.statistics()
    assert stats.requests["ListTrainingJobs"] == 5
    assert stats.throttled["ListTrainingJobs"] == 2
    assert dict(stats.faulted) == {}
    assert Quota(per_second=2.0, burst=2.0) == DEFAULT_QUOTAS["ListTrainingJobs"]


@pytest.mark.asyncio
async def test_set_quota(sim, client):
    """set_quota throttles an operation, and None lifts the quota."""
    sim.set_quota("DescribeTrainingJob", per_second=1.0, burst=1)
    await _describe(client)
    with pytest.raises(ClientError):
        await _describe(client)
    sim.set_quota("DescribeTrainingJob", per_second=None)
    for _ in range(5):
        await _describe(client)
    with pytest.raises(ValueError, match="positive"):
        Quota(per_second=0)


@pytest.mark.asyncio
async def test_statistics_and_reset(sim, client):
    """statistics() counts per operation and per job; reset sets them to zero."""
    await _describe(client)
    await client.list_training_jobs()
    with pytest.raises(ClientError):
        await _describe(client, "missing")
    stats = sim.statistics()
    assert dict(stats.requests) == {"DescribeTrainingJob": 2, "ListTrainingJobs": 1}
    assert dict(stats.requests_by_job) == {
        ("DescribeTrainingJob", "job"): 1,
        ("DescribeTrainingJob", "missing"): 1,
    }
    assert stats.total == 3
    assert repr(stats) == "FakeStatistics(total=3, faulted=0, throttled=0)"
    sim.reset_statistics()
    assert sim.statistics().total == 0
