"""Tests for the source: error classification, retries and client creation."""

from __future__ import annotations

import aiohttp
import botocore.exceptions
import pytest

import sagemaker_watch as sw
from sagemaker_watch._source import (
    AioBotocoreSource,
    ErrorKind,
    classify,
    client_config,
)
from sagemaker_watch.testing import Fault


def client_error(code, message="", status=400):
    """A botocore ClientError as the parser builds it."""
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "DescribeTrainingJob",
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (client_error("ThrottlingException", "Rate exceeded"), ErrorKind.THROTTLED),
        (client_error("Throttling"), ErrorKind.THROTTLED),
        (client_error("Whatever", status=429), ErrorKind.THROTTLED),
        (client_error("ServiceUnavailable", status=503), ErrorKind.TRANSIENT),
        (client_error("InternalFailure", status=500), ErrorKind.TRANSIENT),
        (client_error("SomethingNew", status=502), ErrorKind.TRANSIENT),
        (client_error("ExpiredTokenException"), ErrorKind.TRANSIENT),
        (
            client_error("ValidationException", "Requested resource not found."),
            ErrorKind.NOT_FOUND,
        ),
        (client_error("ResourceNotFound"), ErrorKind.NOT_FOUND),
        (client_error("ValidationException", "1 validation error"), ErrorKind.FATAL),
        (client_error("AccessDeniedException"), ErrorKind.FATAL),
        (client_error("UnrecognizedClientException"), ErrorKind.FATAL),
        (botocore.exceptions.NoCredentialsError(), ErrorKind.FATAL),
        (
            botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
            ErrorKind.TRANSIENT,
        ),
        (
            botocore.exceptions.ConnectionClosedError(endpoint_url="http://x"),
            ErrorKind.TRANSIENT,
        ),
        (
            botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"),
            ErrorKind.TRANSIENT,
        ),
        (aiohttp.ClientPayloadError("cut"), ErrorKind.TRANSIENT),
        (sw.MalformedResponse("no name"), ErrorKind.TRANSIENT),
        (TimeoutError(), ErrorKind.TRANSIENT),
        (KeyError("bug"), ErrorKind.FATAL),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_classify(error, kind):
    """Each kind of failure is sorted into the right ErrorKind."""
    assert kind == classify(error)


def test_clients_we_create_have_botocore_retries_off():
    """One retry layer: clients we create make a single attempt per call."""
    config = client_config()
    assert {"mode": "standard", "total_max_attempts": 1} == config.retries


@pytest.mark.asyncio
async def test_throttles_are_counted_and_reported_once(sim):
    """A throttled describe is retried, counted, and flagged for the schedule once."""
    fake, client = sim
    fake.add_job("job", "plain")
    fake.inject(Fault.throttle(times=2))
    source = AioBotocoreSource(client, clock=fake.clock)
    snapshot = await source.describe("job", seen=False)
    assert "job" == snapshot.job_name
    assert sw._source.SourceStatistics(calls=3, retries=2, throttles=2) == (
        source.statistics()
    )
    assert source.take_throttled()
    assert not source.take_throttled()


@pytest.mark.asyncio
async def test_seen_job_gets_no_not_found_grace(sim):
    """For a job already seen, "not found" is final on the first answer."""
    fake, client = sim
    source = AioBotocoreSource(client, clock=fake.clock)
    with pytest.raises(sw.TrainingJobNotFound) as info:
        await source.describe("ghost", seen=True)
    assert 1 == fake.request_count("DescribeTrainingJob")
    assert isinstance(info.value.__cause__, botocore.exceptions.ClientError)


@pytest.mark.asyncio
async def test_no_credentials_is_a_fatal_service_error(fake_sagemaker, monkeypatch):
    """With no credentials anywhere, the error is typed and nothing is retried."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", fake_sagemaker.endpoint_url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    source = AioBotocoreSource(None, clock=fake_sagemaker.clock)
    with pytest.raises(sw.ServiceError) as info:
        await source.describe("job", seen=False)
    assert "NoCredentialsError" == info.value.code
    assert 0 == fake_sagemaker.statistics().total


@pytest.mark.asyncio
async def test_sagemaker_client_honours_region_profile_and_endpoint(
    fake_sagemaker, monkeypatch, tmp_path
):
    """sagemaker_client reads a named profile's credentials and region."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[ci]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n"
    )
    config = tmp_path / "config"
    config.write_text("[profile ci]\nregion = eu-west-3\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    async with sw.sagemaker_client(
        profile="ci", endpoint_url=fake_sagemaker.endpoint_url
    ) as client:
        assert "eu-west-3" == client.meta.region_name
        assert fake_sagemaker.endpoint_url == client.meta.endpoint_url
        await client.list_training_jobs()
    async with sw.sagemaker_client(
        profile="ci", region="ap-south-1", endpoint_url=fake_sagemaker.endpoint_url
    ) as client:
        assert "ap-south-1" == client.meta.region_name


@pytest.mark.asyncio
async def test_aws_region_wins_over_aws_default_region(monkeypatch):
    """AWS_REGION is honoured, and preferred to AWS_DEFAULT_REGION, as the CLI does."""
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    async with sw.sagemaker_client() as client:
        assert "eu-central-1" == client.meta.region_name
    monkeypatch.delenv("AWS_REGION")
    async with sw.sagemaker_client() as client:
        assert "us-west-2" == client.meta.region_name


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("options", "cause"),
    [
        ({}, botocore.exceptions.NoRegionError),
        (
            {"region": "us-east-1", "profile": "nope"},
            botocore.exceptions.ProfileNotFound,
        ),
        ({"region": "us-east-1", "endpoint_url": "not a url"}, ValueError),
    ],
)
async def test_client_set_up_errors_are_typed(options, cause):
    """No region, an unknown profile or a bad endpoint: ServiceError, cause chained."""
    with pytest.raises(sw.ServiceError) as info:
        async with sw.sagemaker_client(**options):
            pass
    assert isinstance(info.value.__cause__, cause)
    assert cause.__name__ == info.value.code


@pytest.mark.asyncio
async def test_errors_inside_the_block_are_not_rewrapped():
    """A ValueError raised by the caller inside the block passes through unchanged."""
    with pytest.raises(ValueError, match="mine"):
        async with sw.sagemaker_client(region="us-east-1"):
            raise ValueError("mine")
