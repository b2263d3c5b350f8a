"""Typed set-up errors: each way a client or a call can fail has its class.

Real clients only: the embedded fake, the hostile server in front of it, or a
closed port. Each test checks the class, its attributes, and that the message is
one line with no secret in it, so that the CLI can tell the cases apart by
``isinstance`` and attributes alone.
"""

from __future__ import annotations

import json
import socket

import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st

import sagemaker_watch as sw
from sagemaker_watch._core.tracker import ErrorKind
from sagemaker_watch._errors import (
    AccessDenied,
    ConfigurationError,
    CredentialsError,
    CredentialsRejected,
    EndpointUnreachable,
    InvalidEndpoint,
    NoRegion,
    NotSageMaker,
    ProfileNotFound,
)
from sagemaker_watch._io.client import endpoint_origin
from sagemaker_watch._io.source import AioBotocoreSource, CallFailed

#: A marker planted where a secret could be: it must never reach a message.
SECRET = "hunter2-setup-marker"  # noqa: S105 - a marker, not a password

#: Few attempts, no waits: giving up takes milliseconds.
QUICK = sw.RetryPolicy(max_attempts=2, initial_delay=0.0, max_delay=0.0)


def _clean(error):
    """Assert that *error*'s message is one line and holds no secret."""
    text = str(error)
    assert SECRET not in text
    assert "\n" not in text
    assert SECRET not in repr(error.args)


@pytest_asyncio.fixture(name="wire")
async def _wire(fake_sagemaker, hostile):
    """The fake SageMaker and the hostile endpoint in front of it."""
    return fake_sagemaker, hostile


def _closed_port():
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _aws_error(code):
    """A SageMaker JSON error body of *code* whose message holds the marker."""
    return json.dumps({"__type": code, "message": f"User {SECRET} says no"}).encode()


@pytest.mark.asyncio
async def test_no_region_is_no_region():
    """With no region anywhere, sagemaker_client raises NoRegion before any request."""
    with pytest.raises(NoRegion) as info:
        async with sw.sagemaker_client():
            pass
    assert isinstance(info.value, ConfigurationError)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, sw.ServiceError)
    assert info.value.region is None
    assert "NoRegionError" == info.value.code
    assert "NoRegionError: no AWS region configured" == str(info.value)


@pytest.mark.asyncio
async def test_an_invalid_region_is_no_region_naming_it():
    """A region botocore rejects is NoRegion carrying the rejected value."""
    with pytest.raises(NoRegion) as info:
        async with sw.sagemaker_client(region="us east/1"):
            pass
    assert "us east/1" == info.value.region
    assert "InvalidRegionError" == info.value.code
    _clean(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["argument", "environment"])
async def test_an_unknown_profile_is_profile_not_found(monkeypatch, tmp_path, how):
    """A profile in no config file is ProfileNotFound naming the profile."""
    config = tmp_path / "config"
    config.write_text("[profile other]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    options = {"region": "us-east-1"}
    if how == "argument":
        options["profile"] = "nope"
    else:
        monkeypatch.setenv("AWS_PROFILE", "nope")
    with pytest.raises(ProfileNotFound) as info:
        async with sw.sagemaker_client(**options):
            pass
    assert isinstance(info.value, ConfigurationError)
    assert "nope" == info.value.profile
    assert "ProfileNotFound" == info.value.code
    _clean(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("url", "scheme", "host"),
    [
        (f"htp://me:{SECRET}@127.0.0.1:1/x", "htp", "127.0.0.1"),
        ("ftp://127.0.0.1", "ftp", "127.0.0.1"),
        (f"http://me:{SECRET}@/path", "http", None),
        ("not a url", "", None),
    ],
)
async def test_a_bad_endpoint_is_invalid_endpoint_without_the_url(url, scheme, host):
    """An endpoint that is not http(s) with a host: scheme and host, never the URL."""
    with pytest.raises(InvalidEndpoint) as info:
        async with sw.sagemaker_client(region="us-east-1", endpoint_url=url):
            pass
    assert isinstance(info.value, ConfigurationError)
    assert (scheme, host) == (info.value.scheme, info.value.host)
    assert "InvalidEndpoint" == info.value.code
    _clean(info.value)


@pytest.mark.asyncio
async def test_a_bad_endpoint_from_the_environment_is_invalid_endpoint(monkeypatch):
    """AWS_ENDPOINT_URL_SAGEMAKER with a bad scheme is InvalidEndpoint at once."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", f"htp://u:{SECRET}@127.0.0.1:1")
    with pytest.raises(InvalidEndpoint) as info:
        async with sw.sagemaker_client(region="us-east-1"):
            pass
    assert ("htp", "127.0.0.1") == (info.value.scheme, info.value.host)
    _clean(info.value)


@pytest.mark.asyncio
async def test_missing_credentials_are_a_credentials_error(fake_sagemaker):
    """No credentials anywhere: CredentialsError, not retried, nothing sent."""
    async with sw.sagemaker_client(
        region="us-east-1", endpoint_url=fake_sagemaker.endpoint_url
    ) as client:
        failed = await AioBotocoreSource(client).describe_once("job")
        with pytest.raises(CredentialsError) as info:
            await sw.wait_until_complete("job", client=client, retry=QUICK)
    assert isinstance(failed, CallFailed)
    assert ErrorKind.FATAL == failed.kind
    assert isinstance(failed.error, CredentialsError)
    assert not isinstance(info.value, CredentialsRejected)
    assert "NoCredentialsError" == info.value.code
    assert 0 == fake_sagemaker.statistics().total
    _clean(info.value)


@pytest.mark.asyncio
async def test_partial_credentials_are_a_credentials_error(monkeypatch):
    """An access key without its secret: CredentialsError when the client is made."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SECRET)
    with pytest.raises(CredentialsError) as info:
        async with sw.sagemaker_client(region="us-east-1"):
            pass
    assert "PartialCredentialsError" == info.value.code
    _clean(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "code",
    ["UnrecognizedClientException", "InvalidSignatureException", "ExpiredToken"],
)
async def test_credentials_aws_rejects_are_credentials_rejected(wire, code):
    """A 400 saying the credentials are unknown, bad or expired: CredentialsRejected."""
    fake, hostile = wire
    hostile.rule("DescribeTrainingJob", body=_aws_error(code), status=400)
    async with hostile.client() as client:
        with pytest.raises(CredentialsRejected) as info:
            await sw.wait_until_complete(
                "job", client=client, clock=fake.clock, retry=QUICK
            )
    assert isinstance(info.value, CredentialsError)
    assert code == info.value.code
    _clean(info.value)


@pytest.mark.asyncio
async def test_access_denied_is_access_denied_naming_the_operation(wire):
    """A 400 AccessDeniedException: AccessDenied with the operation, AWS's text out."""
    fake, hostile = wire
    hostile.rule(
        "DescribeTrainingJob", body=_aws_error("AccessDeniedException"), status=400
    )
    async with hostile.client() as client:
        with pytest.raises(AccessDenied) as info:
            await sw.wait_until_complete("job", client=client, clock=fake.clock)
    assert "DescribeTrainingJob" == info.value.operation
    assert "AccessDeniedException" == info.value.code
    assert "job" == info.value.job_name
    assert 1 == hostile.count("DescribeTrainingJob")
    _clean(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize("userinfo", ["", f"me:{SECRET}@"])
async def test_a_closed_port_is_endpoint_unreachable(monkeypatch, userinfo):
    """Nothing listening: EndpointUnreachable after the retries, scheme://host:port."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    port = _closed_port()
    async with sw.sagemaker_client(
        region="us-east-1", endpoint_url=f"http://{userinfo}127.0.0.1:{port}/some/path"
    ) as client:
        with pytest.raises(EndpointUnreachable) as info:
            await sw.wait_until_complete("job", client=client, retry=QUICK)
    assert isinstance(info.value, sw.RetriesExhausted)
    assert f"http://127.0.0.1:{port}" == info.value.endpoint_url
    _clean(info.value)


@pytest.mark.asyncio
async def test_an_attempt_timeout_is_endpoint_unreachable(wire):
    """Attempts trickled past attempt_timeout: EndpointUnreachable, TimeoutError."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", trickle=2.0, times=2)
    policy = sw.RetryPolicy(
        max_attempts=2, attempt_timeout=0.2, initial_delay=0.0, max_delay=0.0
    )
    async with hostile.client() as client:
        with pytest.raises(EndpointUnreachable) as info:
            await sw.wait_until_complete(
                "job", client=client, clock=fake.clock, retry=policy
            )
    assert "TimeoutError" == info.value.code
    assert hostile.endpoint_url == info.value.endpoint_url
    _clean(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "requests"), [(403, 1), (200, 2), (502, 2)])
async def test_an_html_page_is_not_sagemaker(wire, status, requests):
    """An HTML page: NotSageMaker with status and type; a 4xx one is not retried."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule(
        "DescribeTrainingJob",
        status=status,
        body=f"<html><body>{SECRET}</body></html>".encode(),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    async with hostile.client() as client:
        with pytest.raises(NotSageMaker) as info:
            await sw.wait_until_complete(
                "job", client=client, clock=fake.clock, retry=QUICK
            )
    assert (status, "text/html") == (info.value.http_status, info.value.content_type)
    assert hostile.endpoint_url == info.value.endpoint_url
    assert requests == hostile.count("DescribeTrainingJob")
    _clean(info.value)


@pytest.mark.asyncio
async def test_an_unparseable_answer_is_not_sagemaker(wire):
    """A JSON body botocore cannot read, every time: NotSageMaker after the retries."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", body=json.dumps(SECRET).encode())
    async with hostile.client() as client:
        with pytest.raises(NotSageMaker) as info:
            await sw.wait_until_complete(
                "job", client=client, clock=fake.clock, retry=QUICK
            )
    assert "MalformedResponse" == info.value.code
    assert isinstance(info.value.__cause__, sw.MalformedResponse)
    assert hostile.endpoint_url == info.value.endpoint_url
    _clean(info.value)


@pytest.mark.asyncio
async def test_service_errors_that_outlast_the_policy_are_plain_retries_exhausted(
    wire,
):
    """SageMaker's own 500s to the end: RetriesExhausted, of neither subclass."""
    fake, hostile = wire
    hostile.rule("DescribeTrainingJob", body=_aws_error("InternalFailure"), status=500)
    async with hostile.client() as client:
        with pytest.raises(sw.RetriesExhausted) as info:
            await sw.wait_until_complete(
                "job", client=client, clock=fake.clock, retry=QUICK
            )
    assert type(info.value) is sw.RetriesExhausted
    assert "InternalFailure" == info.value.code
    assert 2 == hostile.count("DescribeTrainingJob")


@given(
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    user=st.text(alphabet="abcXYZ09-_.~%", max_size=8),
    password=st.text(alphabet="abcXYZ09-_.~%!$&'()*+,;=", max_size=12),
    host=st.sampled_from(["127.0.0.1", "example.com", "[::1]", "api.sagemaker.aws"]),
    port=st.none() | st.integers(min_value=1, max_value=65535),
    path=st.text(alphabet="abc/?#=&", max_size=10),
)
def test_endpoint_origin_keeps_scheme_host_and_port_only(
    *, scheme, user, password, host, port, path
):
    """Whatever the URL carries besides, its origin is scheme://host[:port] alone."""
    netloc = f"{host}:{port}" if port is not None else host
    url = f"{scheme}://{user}:{SECRET}{password}@{netloc}/{path}"
    assert f"{scheme.lower()}://{netloc}" == endpoint_origin(url)
