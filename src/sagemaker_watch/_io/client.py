"""Client set-up: open an aiobotocore SageMaker client, or raise a typed set-up error.

Everything that can go wrong before a request is sent is found here and raised as
a ``ConfigurationError`` (no region, an unknown profile, an endpoint URL that is
not http(s) with a host) or a ``CredentialsError`` (partial credentials, an SSO
token that cannot be loaded), with botocore's error chained. Messages are one
line and never quote an endpoint URL whole: it may carry ``user:password@``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import re
import urllib.parse
from typing import TYPE_CHECKING, Any

import botocore.exceptions
import botocore.utils
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session

from .._errors import (
    ConfigurationError,
    CredentialsError,
    InvalidEndpoint,
    NoRegion,
    ProfileNotFound,
    UnsupportedEventLoop,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from types_aiobotocore_sagemaker import SageMakerClient
else:
    SageMakerClient = Any

__all__ = [
    "ClientOptions",
    "client_config",
    "credentials_error",
    "default_client",
    "endpoint_origin",
    "require_asyncio",
    "sagemaker_client",
    "sqs_client",
]

#: botocore's errors for credentials that cannot be found or loaded, by name (a
#: newer botocore may lack some): each is a ``CredentialsError``.
_CREDENTIAL_ERRORS = frozenset(
    {
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "UnknownCredentialError",
        "NoAuthTokenError",
        "TokenRetrievalError",
        "SSOError",
        "SSOTokenLoadError",
        "UnauthorizedSSOTokenError",
        "PendingAuthorizationExpiredError",
        "RefreshWithMFAUnsupportedError",
    }
)
_MAX_MESSAGE = 200
#: AWS's SQS hosts: ``sqs.<region>.amazonaws.com`` (``.com.cn`` in China) and the
#: legacy ``<region>.queue.amazonaws.com``.
_AWS_SQS_HOST = re.compile(
    r"sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"|(?P<legacy>[a-z0-9-]+)\.queue\.amazonaws\.com"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions:
    """Settings for a client we create; ``None`` leaves each to botocore's chain.

    *verify* and *botocore_config* (``Config`` keywords laid over ours) come from an
    orchestrator's connection (Airflow's ``aws_conn_id``).
    """

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    verify: bool | str | None = None
    botocore_config: Mapping[str, Any] | None = None


def client_config(overrides: Mapping[str, Any] | None = None) -> AioConfig:
    """Return the botocore config of clients we create: botocore retries off.

    *overrides* are botocore ``Config`` keywords laid over it (an Airflow
    connection's ``botocore_config``, say).
    """
    config = AioConfig(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=10,
        read_timeout=30,
        user_agent_extra="sagemaker-watch",
    )
    return config.merge(AioConfig(**overrides)) if overrides else config


@contextlib.asynccontextmanager
async def sagemaker_client(
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> AsyncIterator[SageMakerClient]:
    """Open an aiobotocore SageMaker client the way sagemaker-watch does.

    Credentials, region and endpoint come from the standard chain (``AWS_PROFILE``,
    ``AWS_REGION`` then ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_SAGEMAKER``, the
    config files, ...) unless given here. botocore's own retries are off: the
    library's ``RetryPolicy`` is the one retry layer. The client is closed when
    the block exits; entering waits for nothing but local set-up.

    ::

        async with sagemaker_client(region="eu-west-1") as client:
            await wait_until_complete("my-job", client=client)

    Its timestamps are read straight to UTC: botocore's default parser converts
    each through the local time zone, about 40 % of the CPU of a large answer,
    and the snapshots are the same either way. A client of your own keeps
    botocore's parser unless its session is given one before the client opens::

        def utc_timestamp(value):
            if isinstance(value, int | float) and not isinstance(value, bool):
                with contextlib.suppress(ValueError, OverflowError, OSError):
                    return datetime.datetime.fromtimestamp(value, datetime.UTC)
            return botocore.utils.parse_timestamp(value)  # strings, odd values

        session = aiobotocore.session.get_session()
        session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=utc_timestamp
        )
        async with session.create_client("sagemaker") as client: ...

    Args:
        region: the AWS region; ``None`` for the chain's.
        profile: the AWS profile; ``None`` for the chain's.
        endpoint_url: the SageMaker endpoint; ``None`` for the chain's.

    Yields:
        The client, owned by this block.

    Raises:
        NoRegion: no region is configured, or botocore rejects the one given.
        ProfileNotFound: the profile is in no config file.
        InvalidEndpoint: the endpoint URL (given, or from the environment or
            the config files) is not http or https with a host.
        ConfigurationError: another set-up mistake botocore found.
        CredentialsError: credentials that cannot be loaded (partial ones, an
            SSO token that failed); missing ones are found at the first call.
        UnsupportedEventLoop: not running under asyncio.
    """
    options = ClientOptions(region=region, profile=profile, endpoint_url=endpoint_url)
    async with default_client(options) as client:
        yield client


@contextlib.asynccontextmanager
async def default_client(
    options: ClientOptions | None = None,
    *,
    session: AioSession | None = None,
) -> AsyncIterator[SageMakerClient]:
    """Create a SageMaker client from the standard chain, closed on exit.

    Honours ``AWS_PROFILE``, ``AWS_REGION`` (then ``AWS_DEFAULT_REGION`` and the
    profile's region), ``AWS_ENDPOINT_URL_SAGEMAKER`` and ``AWS_ENDPOINT_URL``, and
    every other setting botocore reads. Raises as ``sagemaker_client`` does.
    Timestamps are read to UTC by ``_utc_timestamp``, set on *session* (ours:
    a new one, or the one a source keeps for its polls).
    """
    require_asyncio()
    options = options or ClientOptions()
    region = options.region or os.environ.get("AWS_REGION") or None
    async with _create_client(
        "sagemaker",
        options,
        endpoint_url=options.endpoint_url,
        region=region,
        session=session,
    ) as client:
        yield client


@contextlib.asynccontextmanager
async def sqs_client(
    options: ClientOptions | None = None,
    *,
    queue_url: str,
    session: AioSession | None = None,
) -> AsyncIterator[Any]:
    """Create an SQS client for *queue_url*, closed on exit.

    The queue URL says where to call: an AWS one
    (``https://sqs.<region>.amazonaws.com/...``, or the legacy
    ``<region>.queue.amazonaws.com``) names the region, whatever *options*
    says (the queue may live in another region than the jobs), and the
    endpoint is the chain's (``AWS_ENDPOINT_URL_SQS``, ``AWS_ENDPOINT_URL``,
    else AWS's); any other URL (a VPC endpoint, a local
    SQS, moto, the test kit) is itself the endpoint, its origin only. The
    profile, credentials, ``verify`` and botocore config come from *options* as
    for SageMaker; its ``endpoint_url`` (SageMaker's) is not used.

    Raises:
        InvalidEndpoint: *queue_url* is not http or https with a host.
        NoRegion: a queue URL that is not AWS's, and no region configured.
        ConfigurationError: another set-up mistake botocore found.
        CredentialsError: credentials that cannot be loaded.
        UnsupportedEventLoop: not running under asyncio.
    """
    require_asyncio()
    options = options or ClientOptions()
    scheme, host = _scheme_and_host(queue_url)
    if scheme not in {"http", "https"} or not host:
        raise InvalidEndpoint(scheme=scheme, host=host or None)
    aws_region = _aws_queue_region(host)
    region = aws_region or options.region or os.environ.get("AWS_REGION") or None
    endpoint_url = None if aws_region is not None else endpoint_origin(queue_url)
    async with _create_client(
        "sqs", options, endpoint_url=endpoint_url, region=region, session=session
    ) as client:
        yield client


@contextlib.asynccontextmanager
async def logs_client(
    options: ClientOptions | None = None,
    *,
    job_region: str | None = None,
    endpoint_url: str | None = None,
    session: AioSession | None = None,
) -> AsyncIterator[Any]:
    """Create a CloudWatch Logs client for training logs, closed on exit.

    Training logs live in the jobs' region: *options*' region, else
    *job_region* (the SageMaker client's), else the chain's. The endpoint is
    the chain's (``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``, ``AWS_ENDPOINT_URL``,
    else AWS's) unless *endpoint_url* names one; the profile, credentials,
    ``verify`` and botocore config come from *options* as for SageMaker.

    Raises as ``sqs_client`` does.
    """
    require_asyncio()
    options = options or ClientOptions()
    region = options.region or job_region or os.environ.get("AWS_REGION") or None
    async with _create_client(
        "logs", options, endpoint_url=endpoint_url, region=region, session=session
    ) as client:
        yield client


def _aws_queue_region(host: str) -> str | None:
    """The region of an AWS SQS host (``sqs.<region>.amazonaws.com``), else ``None``."""
    if (match := _AWS_SQS_HOST.fullmatch(host.lower())) is not None:
        return match["region"] or match["legacy"]
    return None


@contextlib.asynccontextmanager
async def _create_client(
    service: str,
    options: ClientOptions,
    *,
    endpoint_url: str | None,
    region: str | None,
    session: AioSession | None,
) -> AsyncIterator[Any]:
    """Create a *service* client with our config, closed on exit."""
    if endpoint_url is not None:
        _check_endpoint(endpoint_url)
    session = session if session is not None else get_session()
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=_utc_timestamp
    )
    if options.profile is not None:
        session.set_config_variable("profile", options.profile)
    async with contextlib.AsyncExitStack() as stack:
        try:
            client = await stack.enter_async_context(
                session.create_client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=endpoint_url,
                    verify=options.verify,
                    config=client_config(options.botocore_config),
                )
            )
        except (botocore.exceptions.BotoCoreError, ValueError, TypeError) as error:
            raise _setup_error(error, endpoint_url) from error
        # An endpoint from the environment or the config files is checked too.
        _check_endpoint(client.meta.endpoint_url)
        yield client


def _utc_timestamp(value: object) -> dt.datetime:
    """Read a timestamp as botocore does, but epoch seconds straight to UTC.

    botocore's own parser reads every timestamp through dateutil's local time
    zone, about 40 % of the CPU of a large ``DescribeTrainingJob`` answer. The
    JSON answers carry epoch seconds: each becomes the same instant,
    timezone-aware UTC. Any other value (a string, a number out of range, NaN)
    goes to botocore's parser, so it reads, or fails, exactly as it did.
    """
    # Exact types (not bool), and try rather than contextlib.suppress: this runs
    # for every timestamp of every answer, hundreds per call.
    if type(value) is float or type(value) is int:
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (ValueError, OverflowError, OSError):
            pass
    # botocore hands its parser any JSON value, whatever its stubs say.
    parsed: dt.datetime = botocore.utils.parse_timestamp(value)  # type: ignore[arg-type]
    return parsed


def _setup_error(error: Exception, endpoint_url: str | None) -> Exception:  # noqa: PLR0911
    """The typed error for a client botocore could not create."""
    if isinstance(error, botocore.exceptions.NoRegionError):
        return NoRegion()
    if isinstance(error, botocore.exceptions.InvalidRegionError):
        return NoRegion(str(error.kwargs.get("region_name", "")))
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        return ProfileNotFound(str(error.kwargs.get("profile", "")))
    if (credentials := credentials_error(error, job_name=None)) is not None:
        return credentials
    if isinstance(error, TypeError):  # a botocore Config keyword it does not know
        return ConfigurationError(
            f"invalid botocore config: {one_line(str(error))}", code="InvalidConfig"
        )
    if not isinstance(error, botocore.exceptions.BotoCoreError):
        # botocore's ValueErrors here are about the endpoint, and quote it whole.
        scheme, host = _scheme_and_host(endpoint_url or "")
        return InvalidEndpoint(scheme=scheme, host=host)
    return ConfigurationError(one_line(str(error)), code=type(error).__name__)


def credentials_error(
    error: BaseException, *, job_name: str | None
) -> CredentialsError | None:
    """The ``CredentialsError`` for botocore's credential *error*, else ``None``."""
    name = type(error).__name__
    if not isinstance(error, botocore.exceptions.BotoCoreError) or not (
        {cls.__name__ for cls in type(error).__mro__} & _CREDENTIAL_ERRORS
    ):
        return None
    return CredentialsError("no usable AWS credentials", job_name=job_name, code=name)


def _scheme_and_host(url: str) -> tuple[str, str | None]:
    """The lower-case scheme and the host of *url*; ``("", None)`` if unreadable."""
    try:
        parts = urllib.parse.urlsplit(url)
        return parts.scheme.lower(), parts.hostname
    except ValueError:
        return "", None


def _check_endpoint(url: str) -> None:
    """Raise ``InvalidEndpoint`` unless *url* is http(s) with a host.

    botocore accepts ``htp://host`` and fails only when connecting, an error the
    retry policy would retry for minutes.
    """
    scheme, host = _scheme_and_host(url)
    if scheme not in {"http", "https"} or not host:
        raise InvalidEndpoint(scheme=scheme, host=host or None)


def endpoint_origin(url: object) -> str | None:
    """``scheme://host:port`` of an endpoint URL (never its user, password or path).

    ``None`` if *url* is not a URL with a host.
    """
    if not isinstance(url, str):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not parts.scheme or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    origin = f"{parts.scheme.lower()}://{host}"
    return origin if port is None else f"{origin}:{port}"


def require_asyncio() -> None:
    """Raise ``UnsupportedEventLoop`` unless the caller runs in an asyncio task.

    aiohttp (under aiobotocore) needs a running asyncio loop; under trio every call
    would fail with "no running event loop", a transport error retried for the
    whole policy. ``asyncio.current_task()`` is sniffio's own asyncio test.
    """
    try:
        in_asyncio = asyncio.current_task() is not None
    except RuntimeError:
        in_asyncio = False
    if not in_asyncio:
        raise UnsupportedEventLoop(_event_loop_name())


def _event_loop_name() -> str | None:
    """Name the running async library for a message (``sniffio`` if installed)."""
    try:
        import sniffio  # noqa: PLC0415 - optional: installed with trio, not anyio
    except ImportError:  # pragma: no cover - trio brings sniffio
        return None
    try:
        return sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return None


def one_line(text: str) -> str:
    """The first line of *text*, at most ``_MAX_MESSAGE`` characters."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"
