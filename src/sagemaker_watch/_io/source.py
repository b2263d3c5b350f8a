"""The only module that talks to AWS: describe and list jobs, classify errors, retry.

Everything that comes back from the wire is either read (a ``Snapshot``, a
``ListPage``) or classified: botocore's own parser fails on some answers before we
see them (timestamps it cannot convert, members of the wrong JSON type, gzip bytes),
and those failures become ``MalformedResponse``, retried like any transient error.
No raw third-party exception leaves this module, every attempt has a total time
bound (``RetryPolicy.attempt_timeout``), and no message quotes a response body.

Retries live in exactly one place. Clients created here are built with botocore's
own retries switched off (``total_max_attempts=1``), and ``RetryPolicy`` decides
everything: botocore's default "legacy" mode has no cap on its backoff, and stacking
its attempts under ours would multiply them. A caller-owned client keeps its own
configuration; then botocore's attempts happen inside each of ours, and callers who
want only our policy pass ``Config(retries={"total_max_attempts": 1})``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import os
import random
import traceback
import urllib.parse
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import botocore.exceptions
from aiobotocore.client import AioBaseClient
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session

from .._core.snapshot import Snapshot, _time
from .._core.status import PrimaryStatus, SecondaryStatus
from .._core.tracker import ErrorKind, retryable
from .._errors import (
    InvalidClient,
    MalformedResponse,
    RetriesExhausted,
    SageMakerWatchError,
    ServiceError,
    TrainingJobNotFound,
    UnsupportedEventLoop,
)
from .clock import Clock, SystemClock
from .logging import JOB_NOT_FOUND_YET, POLL_RETRY_SCHEDULED, logger
from .retry import RetryDetails, RetryPolicy, call_with_retries, call_within

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import AsyncIterator, Iterator

    from types_aiobotocore_sagemaker import SageMakerClient
else:
    SageMakerClient = Any

__all__ = [
    "AioBotocoreSource",
    "CallFailed",
    "ClientOptions",
    "DescribeSource",
    "ErrorKind",
    "JobSummary",
    "ListPage",
    "SourceStatistics",
    "classify",
    "client_config",
    "default_client",
    "error_code",
    "sagemaker_client",
]

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
#: How a ValidationException says "no such job": the service writes "Requested
#: resource not found.", moto "Could not find training job '...'".
_NOT_FOUND_PHRASES = ("could not find", "not found", "does not exist")
#: Where botocore turns an answer into a dict: an error raised under these frames
#: is the answer's fault (see ``_is_parser_failure``).
_PARSER_MODULES = frozenset({"botocore.parsers", "aiobotocore.parsers"})
_ENDPOINT_MODULES = frozenset({"botocore.endpoint", "aiobotocore.endpoint"})
#: What botocore's parser raises on answers it cannot read: ValueError (a
#: timestamp out of range or NaN, UnicodeDecodeError on gzip bytes),
#: RuntimeError and OverflowError (timestamps), AttributeError and TypeError (a
#: member of the wrong JSON type), LookupError (a shape it cannot walk).
_PARSER_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    AttributeError,
    RuntimeError,
    OverflowError,
    LookupError,
)
_MAX_MESSAGE = 200


def classify(error: BaseException) -> ErrorKind:
    """Sort an exception raised by a describe call into an ``ErrorKind``."""
    if isinstance(error, botocore.exceptions.ClientError):
        err = error.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", ""))
        status = int(
            error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        )
        if code in _THROTTLING_CODES or status == 429:  # noqa: PLR2004
            return ErrorKind.THROTTLED
        if code in _NOT_FOUND_CODES or (
            code == "ValidationException"
            and any(phrase in message.lower() for phrase in _NOT_FOUND_PHRASES)
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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CallFailed:
    """One call that failed, classified; nothing was retried.

    Attributes:
        kind: how to handle it (retry later, give up, ...).
        error: what to raise if giving up: ``TrainingJobNotFound``,
            ``ServiceError``, or ``RetriesExhausted`` for throttled and transient
            errors. The botocore or transport error is its ``__cause__``.
    """

    kind: ErrorKind
    error: SageMakerWatchError


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobSummary:
    """One ``TrainingJobSummaries`` entry of ``ListTrainingJobs``."""

    job_name: str
    creation_time: dt.datetime | None
    last_modified_time: dt.datetime | None
    primary_status: PrimaryStatus | None
    secondary_status: SecondaryStatus | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ListPage:
    """One page of ``ListTrainingJobs``: its summaries and the token of the next."""

    summaries: tuple[JobSummary, ...]
    next_token: str | None


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
        """Wrap *client*, or prepare to open one per call.

        Raises:
            InvalidClient: *client* is not an aiobotocore client (a boto3 or
                botocore one, whose calls cannot be awaited).
        """
        if client is not None and not _is_async_client(client):
            raise InvalidClient(client)
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
            RetriesExhausted: transient errors (throttling, 5xx, timeouts, answers
                that cannot be read) outlasted the retry policy.
            ServiceError: a fatal error such as access denied.
            UnsupportedEventLoop: not running under asyncio (raised at once).
        """
        _require_asyncio()

        async def attempt() -> Snapshot:
            self._calls += 1
            response = await self._call(
                "describe_training_job", {"TrainingJobName": job_name}
            )
            return Snapshot.from_response(response, observed_at=self._clock.now())

        def should_retry(error: BaseException, elapsed: float) -> bool:
            kind = classify(error)
            if kind is ErrorKind.THROTTLED:
                self._throttles += 1
                self._throttled_since_read = True
            return retryable(self._retry, kind, seen=seen, elapsed=elapsed)

        def on_retry(details: RetryDetails) -> None:
            self._retries += 1
            kind = classify(details.error)
            logger.info(
                JOB_NOT_FOUND_YET
                if kind is ErrorKind.NOT_FOUND
                else POLL_RETRY_SCHEDULED,
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

    async def describe_once(self, job_name: str) -> Snapshot | CallFailed:
        """Describe *job_name* with one attempt and no retry; never raise its errors.

        For callers that schedule their own retries (the fleet): the failure is
        returned classified, with the error to raise if giving up. The attempt is
        bounded by the policy's ``attempt_timeout``.

        Raises:
            UnsupportedEventLoop: not running under asyncio (raised at once).
        """
        _require_asyncio()
        self._calls += 1
        try:
            response = await call_within(
                lambda: self._call(
                    "describe_training_job", {"TrainingJobName": job_name}
                ),
                seconds=self._retry.attempt_timeout,
            )
            return Snapshot.from_response(response, observed_at=self._clock.now())
        except _call_errors() as error:
            return self._failed(error, job_name)

    async def list_changed(
        self,
        *,
        modified_after: dt.datetime,
        created_after: dt.datetime | None = None,
        next_token: str | None = None,
        page_size: int = 100,
    ) -> ListPage | CallFailed:
        """List one page of jobs modified after *modified_after*, newest first.

        One ``ListTrainingJobs`` call, no retry (``SortBy=CreationTime``,
        descending, so paging is stable while jobs change); never raises its errors.

        Args:
            modified_after: only jobs whose ``LastModifiedTime`` is later.
            created_after: only jobs created later, or ``None`` for any.
            next_token: the previous page's token, or ``None`` for the first page.
            page_size: ``MaxResults``, 1 to 100.

        Raises:
            UnsupportedEventLoop: not running under asyncio (raised at once).
        """
        _require_asyncio()
        self._calls += 1
        request: dict[str, Any] = {
            "LastModifiedTimeAfter": modified_after,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": page_size,
        }
        if created_after is not None:
            request["CreationTimeAfter"] = created_after
        if next_token is not None:
            request["NextToken"] = next_token
        try:
            response = await call_within(
                lambda: self._call("list_training_jobs", request),
                seconds=self._retry.attempt_timeout,
            )
            return _list_page(response)
        except _call_errors() as error:
            return self._failed(error, None)

    async def _call(self, operation: str, request: dict[str, Any]) -> Any:  # noqa: ANN401 - botocore answers are untyped dicts
        """Make one call; raise ``MalformedResponse`` for an answer we cannot read."""
        try:
            if self.client is not None:
                response = await getattr(self.client, operation)(**request)
            else:
                if self._session is None:
                    # One session for all polls: credentials and the service
                    # model are resolved once, not on every call.
                    self._session = get_session()
                async with default_client(
                    self._client_options, session=self._session
                ) as client:
                    response = await getattr(client, operation)(**request)
        except _PARSER_ERRORS as error:
            # Only botocore's parser failing on the answer is the answer's
            # fault; anything else of these types is a bug and goes up as is.
            if not _is_parser_failure(error):
                raise
            msg = (
                f"botocore could not parse the {_operation_name(operation)} answer "
                f"({type(error).__name__})"
            )
            raise MalformedResponse(msg) from error
        _check_content_type(response)
        return response

    def _failed(self, error: BaseException, job_name: str | None) -> CallFailed:
        kind = classify(error)
        if kind is ErrorKind.THROTTLED:
            self._throttles += 1
            self._throttled_since_read = True
        try:
            with _map_errors(job_name):
                raise error
        except SageMakerWatchError as mapped:
            return CallFailed(kind=kind, error=mapped)


def _list_page(response: Any) -> ListPage:  # noqa: ANN401 - botocore answers are untyped dicts
    """Read a ``ListTrainingJobs`` answer; raise ``MalformedResponse`` if unreadable."""
    rows = response.get("TrainingJobSummaries") if isinstance(response, dict) else None
    if not isinstance(rows, list):
        msg = "ListTrainingJobs answer without TrainingJobSummaries"
        raise MalformedResponse(msg)
    summaries = []
    for row in rows:
        name = row.get("TrainingJobName") if isinstance(row, dict) else None
        if not isinstance(name, str):
            continue
        primary = row.get("TrainingJobStatus")
        secondary = row.get("SecondaryStatus")
        summaries.append(
            JobSummary(
                job_name=name,
                creation_time=_time(row.get("CreationTime")),
                last_modified_time=_time(row.get("LastModifiedTime")),
                primary_status=PrimaryStatus(primary)
                if isinstance(primary, str)
                else None,
                secondary_status=SecondaryStatus(secondary)
                if isinstance(secondary, str)
                else None,
            )
        )
    token = response.get("NextToken")
    return ListPage(
        summaries=tuple(summaries),
        next_token=token if isinstance(token, str) and token else None,
    )


def _is_async_client(client: object) -> bool:
    """Whether *client*'s calls can be awaited: aiobotocore's, or async methods.

    aiobotocore reuses botocore's plain ``_api_call`` (which returns a coroutine),
    so its methods are not coroutine functions: its class tells it apart.
    """
    if isinstance(client, AioBaseClient):
        return True
    return inspect.iscoroutinefunction(getattr(client, "describe_training_job", None))


def _require_asyncio() -> None:
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


def _is_parser_failure(error: BaseException) -> bool:
    """Whether *error* was raised while botocore turned an answer into a dict.

    True when the traceback passes through botocore's parsers (bad timestamps,
    wrong JSON types, undecodable bytes), or ends in the endpoint code that merges
    the parsed answer (a body of JSON ``null`` fails there).
    """
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    modules = [frame.f_globals.get("__name__") for frame in frames]
    if any(module in _PARSER_MODULES for module in modules):
        return True
    return bool(modules) and modules[-1] in _ENDPOINT_MODULES


def _operation_name(operation: str) -> str:
    """``describe_training_job`` -> ``DescribeTrainingJob``."""
    return "".join(part.title() for part in operation.split("_"))


def _foreign_content_type(response: object) -> str | None:
    """The one-line complaint about an answer that is not JSON, or ``None``."""
    meta = response.get("ResponseMetadata") if isinstance(response, dict) else None
    if not isinstance(meta, dict):
        return None
    headers = meta.get("HTTPHeaders")
    content_type = headers.get("content-type") if isinstance(headers, dict) else None
    if not isinstance(content_type, str) or not content_type:
        return None
    media = content_type.partition(";")[0].strip().lower()
    if "json" in media:
        return None
    shown = "".join(c for c in media[:60] if c.isprintable()) or "an empty type"
    return (
        f"the endpoint answered {shown}, not SageMaker JSON "
        f"(HTTP {meta.get('HTTPStatusCode', '?')})"
    )


def _check_content_type(response: object) -> None:
    """Raise ``MalformedResponse`` for a 2xx answer that is not JSON (HTML, ...)."""
    complaint = _foreign_content_type(response)
    if complaint is not None:
        raise MalformedResponse(complaint)


def _one_line(text: str) -> str:
    """The first line of *text*, at most ``_MAX_MESSAGE`` characters."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def error_code(error: BaseException) -> str:
    """Name a failure in a log line without its body: the AWS code or the type.

    For one of this library's errors, the botocore or transport error it was
    raised from is named.
    """
    if isinstance(error, SageMakerWatchError) and error.__cause__ is not None:
        error = error.__cause__
    return _describe_error(error)


def _describe_error(error: BaseException) -> str:
    """Name an error in a log line without its body: the code or the type."""
    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


@contextlib.contextmanager
def _map_errors(job_name: str | None) -> Iterator[None]:
    """Turn whatever a call raised into this library's errors."""
    try:
        yield
    except _call_errors() as error:
        kind = classify(error)
        if kind is ErrorKind.NOT_FOUND and job_name is not None:
            raise TrainingJobNotFound(job_name) from error
        code = _describe_error(error)
        message = _error_message(error)
        if kind in {ErrorKind.FATAL, ErrorKind.NOT_FOUND}:
            raise ServiceError(message, job_name=job_name, code=code) from error
        raise RetriesExhausted(
            f"gave up after retries: {message}", job_name=job_name, code=code
        ) from error


def _error_message(error: BaseException) -> str:
    """One short line about *error*; never the body of a non-JSON answer."""
    if isinstance(error, botocore.exceptions.ClientError):
        complaint = _foreign_content_type(error.response)
        if complaint is not None:
            return complaint
        return _one_line(str(error.response.get("Error", {}).get("Message", "")))
    return _one_line(str(error))


def _call_errors() -> tuple[type[BaseException], ...]:
    """Every error a call may raise that ``classify`` knows how to sort."""
    return (
        MalformedResponse,
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

    Raises:
        ServiceError: the client cannot be set up (no region, an unknown profile);
            botocore's error is chained. An endpoint URL that is not http or
            https with a host has code ``InvalidEndpoint``.
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
    """
    _require_asyncio()
    options = options or ClientOptions()
    if options.endpoint_url is not None:
        _check_endpoint(options.endpoint_url)
    session = session if session is not None else get_session()
    if options.profile is not None:
        session.set_config_variable("profile", options.profile)
    region = options.region or os.environ.get("AWS_REGION") or None
    async with contextlib.AsyncExitStack() as stack:
        try:
            client = await stack.enter_async_context(
                session.create_client(
                    "sagemaker",
                    region_name=region,
                    endpoint_url=options.endpoint_url,
                    config=client_config(),
                )
            )
        except (botocore.exceptions.BotoCoreError, ValueError) as error:
            # No region, an unknown profile, a malformed endpoint URL: typed,
            # with botocore's error chained, like every other AWS failure.
            raise ServiceError(
                str(error), job_name=None, code=type(error).__name__
            ) from error
        # An endpoint from the environment or the config files is checked too.
        _check_endpoint(client.meta.endpoint_url)
        yield client


def _check_endpoint(url: str) -> None:
    """Raise ``ServiceError`` (``InvalidEndpoint``) unless *url* is http(s) with a host.

    botocore accepts ``htp://host`` and fails only when connecting, an error the
    retry policy would retry for minutes.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError:
        scheme, host = "", None
    if scheme not in {"http", "https"} or not host:
        # Name the scheme and host only: a URL may carry user:password@.
        msg = (
            "the endpoint URL must be http or https with a host "
            f"(scheme {scheme!r}, host {host!r})"
        )
        raise ServiceError(msg, job_name=None, code="InvalidEndpoint")
