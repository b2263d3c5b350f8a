"""Tests for the source: one attempt per call, classification, client set-up."""

from __future__ import annotations

import inspect
import random

import aiohttp
import anyio
import anyio.to_thread
import botocore.exceptions
import botocore.session
import pytest
import trio

import sagemaker_watch as sw
from sagemaker_watch._core.tracker import ErrorKind, JobTracker
from sagemaker_watch._errors import InvalidClient, UnsupportedEventLoop
from sagemaker_watch._io.client import client_config
from sagemaker_watch._io.failures import classify
from sagemaker_watch._io.source import AioBotocoreSource, CallFailed, SourceStatistics
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
async def test_throttles_are_counted_and_retried_by_the_tracker(sim):
    """Each throttled describe is one failed call, counted; the tracker retries it."""
    fake, client = sim
    fake.add_job("job", "plain")
    fake.inject(Fault.throttle(times=2))
    source = AioBotocoreSource(client, clock=fake.clock)
    tracker = JobTracker("job", rng=random.Random(0))
    kinds = []
    while isinstance(outcome := await source.describe_once("job"), CallFailed):
        step = tracker.failed(outcome.kind, outcome.error, now=fake.clock.monotonic())
        kinds.append(step.retry.kind)
        await fake.clock.sleep(step.delay)
    assert "job" == outcome.job_name
    assert [ErrorKind.THROTTLED, ErrorKind.THROTTLED] == kinds
    assert SourceStatistics(calls=3, throttles=2) == source.statistics()


@pytest.mark.asyncio
async def test_seen_job_gets_no_not_found_grace(sim):
    """For a job already seen, "not found" is final on the first answer."""
    fake, client = sim
    fake.add_job("ghost", "plain")
    events = sw.watch("ghost", client=client, clock=fake.clock)
    await anext(events)
    fake.delete_job("ghost")
    with pytest.raises(sw.TrainingJobNotFound) as info:
        async for _ in events:
            pass
    assert 2 == fake.request_count("DescribeTrainingJob")
    assert isinstance(info.value.__cause__, botocore.exceptions.ClientError)


@pytest.mark.asyncio
async def test_no_credentials_is_a_fatal_service_error(fake_sagemaker, monkeypatch):
    """With no credentials anywhere, the error is typed and nothing is retried."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", fake_sagemaker.endpoint_url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    source = AioBotocoreSource(None, clock=fake_sagemaker.clock)
    failed = await source.describe_once("job")
    assert isinstance(failed, CallFailed)
    assert ErrorKind.FATAL == failed.kind
    assert isinstance(failed.error, sw.ServiceError)
    assert "NoCredentialsError" == failed.error.code
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
    ],
)
async def test_client_set_up_errors_are_typed(options, cause):
    """No region or an unknown profile: ServiceError, botocore's cause chained."""
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


@pytest.mark.parametrize(
    "message",
    [
        "Requested resource not found.",
        "Could not find training job 'job'",
        "Training job job does not exist.",
        "Resource Not Found",
    ],
)
def test_validation_exception_meaning_not_found_is_not_found(message):
    """Every wording of "not found" in a ValidationException means NOT_FOUND."""
    assert ErrorKind.NOT_FOUND == classify(client_error("ValidationException", message))


@pytest.mark.asyncio
async def test_a_synchronous_botocore_client_is_rejected_at_once(fake_sagemaker):
    """A botocore (boto3-style) client is an InvalidClient before any request."""
    client = botocore.session.get_session().create_client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url=fake_sagemaker.endpoint_url,
        aws_access_key_id="x",
        aws_secret_access_key="x",  # noqa: S106 - a dummy for the fake
    )
    try:
        with pytest.raises(InvalidClient, match="needs an aiobotocore") as info:
            AioBotocoreSource(client)
        with pytest.raises(InvalidClient):
            await sw.wait_until_complete("job", client=client)
    finally:
        client.close()
    assert isinstance(info.value, TypeError)
    assert "botocore.client.SageMaker" in str(info.value)
    assert 0 == fake_sagemaker.statistics().total


def _under_trio(fn):
    """Run *fn* under trio, bounded so that a retry loop shows up as TooSlowError."""

    async def main():
        with trio.fail_after(5):
            return await fn()

    return trio.run(main)


@pytest.mark.asyncio
async def test_trio_is_refused_at_once_before_any_request(fake_sagemaker, monkeypatch):
    """Under trio, waiters and watch() raise UnsupportedEventLoop and send nothing."""
    for key, value in fake_sagemaker.environ().items():
        monkeypatch.setenv(key, value)
    fake_sagemaker.add_job("job", "plain")

    async def wait():
        await sw.wait_until_complete("job")

    async def watch_block():
        async with sw.watch("job") as events:
            await anext(aiter(events))

    for fn in (wait, watch_block):
        with pytest.raises(UnsupportedEventLoop) as info:
            await anyio.to_thread.run_sync(_under_trio, fn)
        assert (
            "sagemaker-watch needs asyncio (aiobotocore runs on asyncio only), but "
            "this runs under trio; under anyio use backend='asyncio'"
        ) == str(info.value)
    assert 0 == fake_sagemaker.statistics().total


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url",
    ["htp://127.0.0.1:1", "ftp://127.0.0.1", "http://", "https:///path", "not a url"],
)
async def test_an_endpoint_that_is_not_http_is_refused_at_once(url):
    """A scheme other than http(s), or no host: ServiceError InvalidEndpoint."""
    with pytest.raises(sw.ServiceError) as info:
        async with sw.sagemaker_client(region="us-east-1", endpoint_url=url):
            pass
    assert "InvalidEndpoint" == info.value.code
    assert "http or https" in str(info.value)


@pytest.mark.asyncio
async def test_an_endpoint_from_the_environment_is_checked_too(monkeypatch):
    """AWS_ENDPOINT_URL_SAGEMAKER with a bad scheme fails the call at once, fatal."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "htp://127.0.0.1:1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    source = AioBotocoreSource(None)
    with anyio.fail_after(5):
        failed = await source.describe_once("job")
    assert isinstance(failed, CallFailed)
    assert ErrorKind.FATAL == failed.kind
    assert isinstance(failed.error, sw.ServiceError)
    assert "InvalidEndpoint" == failed.error.code
    assert 1 == source.statistics().calls


def test_the_source_takes_no_rng():
    """The source makes one attempt per call, so it has no jitter to seed."""
    assert "rng" not in inspect.signature(AioBotocoreSource).parameters
