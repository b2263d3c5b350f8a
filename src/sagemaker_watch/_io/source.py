"""The only module that calls AWS: describe and list jobs, and classify what fails.

Everything that comes back from the wire is either read (a ``Snapshot``, a
``ListPage``) or classified: botocore's own parser fails on some answers before we
see them (timestamps it cannot convert, members of the wrong JSON type, gzip bytes),
and those failures become ``MalformedResponse``, retried like any transient error.
No raw third-party exception leaves this module, every attempt has a total time
bound (``RetryPolicy.attempt_timeout``), and no message quotes a response body.

Each call is one attempt: the drivers feed its outcome to a ``JobTracker``, the one
place where retries are decided. A failure comes back as a ``CallFailed`` holding
its kind and the typed error to raise on giving up (``CredentialsRejected``,
``AccessDenied``, ``EndpointUnreachable``, ``NotSageMaker``, ...), decided here,
when the failure is classified. Clients created here (``_io/client.py``) have
botocore's own retries off (``total_max_attempts=1``): its default "legacy" mode
has no cap on its backoff, and stacking its attempts under ours would multiply
them. A caller-owned client keeps its own configuration; then botocore's attempts
happen inside each of ours, and callers who want only our policy pass
``Config(retries={"total_max_attempts": 1})``.
"""

from __future__ import annotations

import dataclasses
import inspect
import traceback
from typing import TYPE_CHECKING, Any

import aiohttp
import botocore.exceptions
from aiobotocore.client import AioBaseClient
from aiobotocore.session import AioSession, get_session

from .._core.snapshot import Snapshot, _time
from .._core.status import PrimaryStatus, SecondaryStatus
from .._core.tracker import ErrorKind
from .._errors import (
    AccessDenied,
    ConfigurationError,
    CredentialsError,
    CredentialsRejected,
    EndpointUnreachable,
    InvalidClient,
    MalformedResponse,
    NotSageMaker,
    RetriesExhausted,
    SageMakerWatchError,
    ServiceError,
    TrainingJobNotFound,
)
from .client import (
    ClientOptions,
    client_config,
    credentials_error,
    default_client,
    endpoint_origin,
    require_asyncio,
    sagemaker_client,
)
from .clock import Clock, SystemClock
from .retry import RetryPolicy, call_within

if TYPE_CHECKING:
    import datetime as dt

    from types_aiobotocore_sagemaker import SageMakerClient
else:
    SageMakerClient = Any

__all__ = [
    "AioBotocoreSource",
    "CallFailed",
    "ClientOptions",
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
#: AWS's codes for credentials it does not accept (unknown, badly signed,
#: expired): ``CredentialsRejected``. The expired ones are retried first, since
#: refreshable credentials renew themselves.
_REJECTED_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    }
)
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})
#: Failures to reach the endpoint at all: ``EndpointUnreachable`` on giving up.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
    aiohttp.ClientConnectionError,
    TimeoutError,
)
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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceStatistics:
    """Counters of one source: calls made, throttles seen."""

    calls: int
    throttles: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CallFailed:
    """One call that failed, classified; nothing was retried.

    Attributes:
        kind: how to handle it (retry later, give up, ...).
        error: what to raise if giving up: ``TrainingJobNotFound``, a
            ``ServiceError`` (``CredentialsError``, ``AccessDenied``, ...) for
            fatal errors, or a ``RetriesExhausted`` (``EndpointUnreachable``,
            ``NotSageMaker``, ...) for throttled and transient ones. The botocore
            or transport error is its ``__cause__``.
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
    """Calls over an aiobotocore SageMaker client, one attempt each, classified.

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
        client_options: ClientOptions | None = None,
    ) -> None:
        """Wrap *client*, or prepare to open one per call.

        Only *retry*'s ``attempt_timeout`` is used here (the tracker retries).

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
        self._endpoint: str | None = None
        self._calls = 0
        self._throttles = 0

    def __repr__(self) -> str:
        """Return a short description."""
        return f"AioBotocoreSource(calls={self._calls}, throttles={self._throttles})"

    def statistics(self) -> SourceStatistics:
        """Return the counters so far."""
        return SourceStatistics(calls=self._calls, throttles=self._throttles)

    async def describe_once(self, job_name: str) -> Snapshot | CallFailed:
        """Describe *job_name* with one attempt and no retry; never raise its errors.

        The failure is returned classified, with the error to raise if giving up;
        the caller (a ``JobTracker``'s driver) decides whether to retry. The
        attempt is bounded by the policy's ``attempt_timeout``.

        Raises:
            UnsupportedEventLoop: not running under asyncio (raised at once).
        """
        require_asyncio()
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
        require_asyncio()
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
                self._endpoint = _endpoint_of(self.client)
                response = await getattr(self.client, operation)(**request)
            else:
                if self._session is None:
                    # One session for all polls: credentials and the service
                    # model are resolved once, not on every call.
                    self._session = get_session()
                async with default_client(
                    self._client_options, session=self._session
                ) as client:
                    self._endpoint = _endpoint_of(client)
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
        if isinstance(error, ConfigurationError | CredentialsError):
            # A client opened for this call could not be set up: final.
            return CallFailed(kind=ErrorKind.FATAL, error=error)
        kind = classify(error)
        if kind is ErrorKind.THROTTLED:
            self._throttles += 1
        mapped = _give_up_error(error, kind, job_name=job_name, endpoint=self._endpoint)
        mapped.__cause__, mapped.__suppress_context__ = error, True
        return CallFailed(kind=kind, error=mapped)


def _endpoint_of(client: object) -> str | None:
    """``scheme://host:port`` of *client*'s endpoint, if it says."""
    return endpoint_origin(getattr(getattr(client, "meta", None), "endpoint_url", None))


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


class _ForeignAnswer(MalformedResponse):
    """A 2xx answer that is not JSON: what it was, for ``NotSageMaker``."""

    def __init__(self, message: str, *, http_status: int, content_type: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.content_type = content_type


def _foreign(response: object) -> tuple[int | None, str] | None:
    """The HTTP status and media type of an answer that is not JSON, or ``None``."""
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
    status = meta.get("HTTPStatusCode")
    shown = "".join(c for c in media[:60] if c.isprintable())
    return (status if isinstance(status, int) else None), shown


def _complaint(status: int | None, media: str) -> str:
    """The one-line complaint about an answer of *media* type that is not JSON."""
    return (
        f"the endpoint answered {media or 'an empty type'}, not SageMaker JSON "
        f"(HTTP {'?' if status is None else status})"
    )


def _check_content_type(response: object) -> None:
    """Raise ``MalformedResponse`` for a 2xx answer that is not JSON (HTML, ...)."""
    foreign = _foreign(response)
    if foreign is not None:
        status, media = foreign
        raise _ForeignAnswer(
            _complaint(status, media), http_status=status or 200, content_type=media
        )


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
    if isinstance(error, MalformedResponse):
        return "MalformedResponse"
    return type(error).__name__


def _give_up_error(  # noqa: PLR0911 - one typed error per kind of failure
    error: BaseException,
    kind: ErrorKind,
    *,
    job_name: str | None,
    endpoint: str | None,
) -> SageMakerWatchError:
    """The typed error to raise if the caller gives up on *error* (of *kind*)."""
    if kind is ErrorKind.NOT_FOUND and job_name is not None:
        return TrainingJobNotFound(job_name)
    code = _describe_error(error)
    fatal = kind in {ErrorKind.FATAL, ErrorKind.NOT_FOUND}
    prefix = "" if fatal else "gave up after retries: "
    if (foreign := _not_sagemaker(error)) is not None:
        status, media = foreign
        return NotSageMaker(
            prefix + _complaint(status, media),
            job_name=job_name,
            code=code,
            http_status=status,
            content_type=media,
            endpoint_url=endpoint,
        )
    if isinstance(error, MalformedResponse):
        return NotSageMaker(
            prefix + _one_line(str(error)),
            job_name=job_name,
            code=code,
            http_status=None,
            content_type=None,
            endpoint_url=endpoint,
        )
    if code in _REJECTED_CODES:
        return CredentialsRejected(
            "AWS rejected the credentials", job_name=job_name, code=code
        )
    if code in _DENIED_CODES and isinstance(error, botocore.exceptions.ClientError):
        return AccessDenied(
            operation=error.operation_name, job_name=job_name, code=code
        )
    if (credentials := credentials_error(error, job_name=job_name)) is not None:
        return credentials
    if isinstance(error, _UNREACHABLE):
        return EndpointUnreachable(
            f"{prefix}cannot reach {endpoint or 'the endpoint'} ({code})",
            job_name=job_name,
            code=code,
            endpoint_url=endpoint,
        )
    message = _error_message(error)
    if fatal:
        return ServiceError(message, job_name=job_name, code=code)
    return RetriesExhausted(prefix + message, job_name=job_name, code=code)


def _not_sagemaker(error: BaseException) -> tuple[int | None, str] | None:
    """Status and media type if *error* is an answer that is not JSON, else ``None``."""
    if isinstance(error, _ForeignAnswer):
        return error.http_status, error.content_type
    if isinstance(error, botocore.exceptions.ClientError):
        return _foreign(error.response)
    return None


def _error_message(error: BaseException) -> str:
    """One short line about *error*; never the body of a non-JSON answer."""
    if isinstance(error, botocore.exceptions.ClientError):
        return _one_line(str(error.response.get("Error", {}).get("Message", "")))
    return _one_line(str(error))


def _call_errors() -> tuple[type[BaseException], ...]:
    """Every error a call may raise that ``classify`` knows how to sort."""
    return (
        MalformedResponse,
        ConfigurationError,
        CredentialsError,
        botocore.exceptions.BotoCoreError,
        botocore.exceptions.ClientError,
        aiohttp.ClientError,
        TimeoutError,
    )
