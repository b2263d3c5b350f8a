"""The only module that talks to AWS: describe a job, classify errors, retry.

Retries live in exactly one place. Clients created here are built with botocore's
own retries switched off (``total_max_attempts=1``), and ``RetryPolicy`` decides
everything: botocore's default "legacy" mode has no cap on its backoff, and stacking
its attempts under ours would multiply them. A caller-owned client keeps its own
configuration; then botocore's attempts happen inside each of ours, and callers who
want only our policy pass ``Config(retries={"total_max_attempts": 1})``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
from collections.abc import AsyncIterator, Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session

from ._clock import Clock, SystemClock
from ._errors import (
    MalformedResponse,
    RetriesExhausted,
    ServiceError,
    TrainingJobNotFound,
)
from ._logging import JOB_NOT_FOUND_YET, POLL_RETRY_SCHEDULED, logger
from ._retry import RetryDetails, RetryPolicy, call_with_retries
from ._snapshot import Snapshot

if TYPE_CHECKING:
    from types_aiobotocore_sagemaker import SageMakerClient
else:
    SageMakerClient = Any

_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)
_TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    }
)
_NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ResourceNotFoundException"})
_NOT_FOUND_MESSAGE = "requested resource not found"


class ErrorKind(Enum):
    """How a failed describe call is handled."""

    THROTTLED = "throttled"
    TRANSIENT = "transient"
    NOT_FOUND = "not_found"
    FATAL = "fatal"


def classify(error: BaseException) -> ErrorKind:
    """Sort an exception raised by a describe call into an ``ErrorKind``."""
    if isinstance(error, botocore.exceptions.ClientError):
        err = error.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if code in _THROTTLING_CODES or status == 429:  # noqa: PLR2004
            return ErrorKind.THROTTLED
        if code in _NOT_FOUND_CODES or (
            code == "ValidationException" and _NOT_FOUND_MESSAGE in message.lower()
        ):
            return ErrorKind.NOT_FOUND
        if code in _TRANSIENT_CODES or status >= 500:  # noqa: PLR2004
            return ErrorKind.TRANSIENT
        return ErrorKind.FATAL
    if isinstance(
        error,
        (
            MalformedResponse,
            botocore.exceptions.HTTPClientError,
            botocore.exceptions.ConnectionError,
            botocore.exceptions.ReadTimeoutError,
            aiohttp.ClientError,
            TimeoutError,
        ),
    ):
        return ErrorKind.TRANSIENT
    return ErrorKind.FATAL


class DescribeSource(Protocol):
    """Where snapshots come from: one call, errors classified, retries done."""

    async def describe(self, job_name: str, *, seen: bool) -> Snapshot:
        """Return a fresh snapshot of *job_name*.

        *seen* says whether this job was observed before: only a job never seen
        gets the "not found" grace period.
        """
        ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceStatistics:
    """Counters of one source: calls made, retries, throttles seen."""

    calls: int
    retries: int
    throttles: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions:
    """Settings for a client we create; ``None`` leaves each to botocore's chain."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


class AioBotocoreSource:
    """A ``DescribeSource`` over an aiobotocore SageMaker client.

    With a *client* (never closed here) every call goes through it; with ``None``,
    each call opens a client from *client_options* and closes it before returning,
    so nothing stays open between polls.
    """

    def __init__(
        self,
        client: SageMakerClient | None,
        *,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        client_options: ClientOptions | None = None,
    ) -> None:
        """Wrap *client*, or prepare to open one per call."""
        self.client = client
        self._client_options = client_options or ClientOptions()
        self._session: AioSession | None = None
        self._retry = retry if retry is not None else RetryPolicy()
        self._clock = clock if clock is not None else SystemClock()
        self._rng = rng if rng is not None else random.Random()  # noqa: S311
        self._calls = 0
        self._retries = 0
        self._throttles = 0
        self._throttled_since_read = False

    def __repr__(self) -> str:
        """Return a short description."""
        return f"AioBotocoreSource(calls={self._calls}, retries={self._retries})"

    def statistics(self) -> SourceStatistics:
        """Return the counters so far."""
        return SourceStatistics(
            calls=self._calls, retries=self._retries, throttles=self._throttles
        )

    def take_throttled(self) -> bool:
        """Return whether a throttle was seen since the last call, and reset it."""
        throttled, self._throttled_since_read = self._throttled_since_read, False
        return throttled

    async def describe(self, job_name: str, *, seen: bool) -> Snapshot:
        """Describe *job_name*, retrying transient errors by the policy.

        Raises:
            TrainingJobNotFound: no such job (after the grace period if never seen).
            RetriesExhausted: transient errors outlasted the retry policy.
            ServiceError: a fatal error such as access denied.
        """
        grace = 0.0 if seen else self._retry.not_found_grace

        async def attempt() -> Snapshot:
            self._calls += 1
            if self.client is not None:
                response = await self.client.describe_training_job(
                    TrainingJobName=job_name
                )
            else:
                if self._session is None:
                    # One session for all polls: credentials and the service
                    # model are resolved once, not on every call.
                    self._session = get_session()
                async with default_client(
                    self._client_options, session=self._session
                ) as client:
                    response = await client.describe_training_job(
                        TrainingJobName=job_name
                    )
            return Snapshot.from_response(response, observed_at=self._clock.now())

        def should_retry(error: BaseException, elapsed: float) -> bool:
            kind = classify(error)
            if kind is ErrorKind.THROTTLED:
                self._throttles += 1
                self._throttled_since_read = True
            if kind is ErrorKind.NOT_FOUND:
                return elapsed < grace
            return kind in {ErrorKind.THROTTLED, ErrorKind.TRANSIENT}

        def on_retry(details: RetryDetails) -> None:
            self._retries += 1
            kind = classify(details.error)
            logger.info(
                JOB_NOT_FOUND_YET if kind is ErrorKind.NOT_FOUND else POLL_RETRY_SCHEDULED,
                job_name=job_name,
                attempt=details.attempt,
                delay=round(details.delay, 3),
                error=_describe_error(details.error),
            )

        with _map_errors(job_name):
            return await call_with_retries(
                attempt,
                policy=self._retry,
                clock=self._clock,
                rng=self._rng,
                should_retry=should_retry,
                on_retry=on_retry,
            )


def _describe_error(error: BaseException) -> str:
    """Name an error in a log line without its body: the code or the type."""
    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


@contextlib.contextmanager
def _map_errors(job_name: str) -> Iterator[None]:
    """Turn whatever a describe call raised into this library's errors."""
    try:
        yield
    except (MalformedResponse, *_botocore_and_transport_errors()) as error:
        kind = classify(error)
        if kind is ErrorKind.NOT_FOUND:
            raise TrainingJobNotFound(job_name) from error
        code = _describe_error(error)
        message = (
            str(error.response.get("Error", {}).get("Message", ""))
            if isinstance(error, botocore.exceptions.ClientError)
            else str(error)
        )
        if kind is ErrorKind.FATAL:
            raise ServiceError(message, job_name=job_name, code=code) from error
        raise RetriesExhausted(
            f"gave up after retries: {message}", job_name=job_name, code=code
        ) from error


def _botocore_and_transport_errors() -> tuple[type[BaseException], ...]:
    return (
        botocore.exceptions.BotoCoreError,
        botocore.exceptions.ClientError,
        aiohttp.ClientError,
        TimeoutError,
    )


def client_config() -> AioConfig:
    """Return the botocore config of clients we create: botocore retries off."""
    return AioConfig(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=10,
        read_timeout=30,
        user_agent_extra="sagemaker-watch",
    )


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

    Args:
        region: the AWS region; ``None`` for the chain's.
        profile: the AWS profile; ``None`` for the chain's.
        endpoint_url: the SageMaker endpoint; ``None`` for the chain's.

    Yields:
        The client, owned by this block.
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
    every other setting botocore reads.
    """
    options = options or ClientOptions()
    session = session if session is not None else get_session()
    if options.profile is not None:
        session.set_config_variable("profile", options.profile)
    region = options.region or os.environ.get("AWS_REGION") or None
    async with session.create_client(
        "sagemaker",
        region_name=region,
        endpoint_url=options.endpoint_url,
        config=client_config(),
    ) as client:
        yield client
