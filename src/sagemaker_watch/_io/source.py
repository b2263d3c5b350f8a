"""The only module that calls AWS: describe and list jobs, one attempt each.

Everything that comes back from the wire is either read (a ``Snapshot``, a
``ListPage``) or classified by ``failures``: an answer botocore's own parser fails
on, or a 2xx answer that is not JSON, is raised here as ``MalformedResponse``,
retried like any transient error. No raw third-party exception leaves this module,
every attempt has a total time bound (``RetryPolicy.attempt_timeout``), and no
message quotes a response body.

Each call is one attempt: the drivers feed its outcome to a ``JobTracker``, the one
place where retries are decided. A failure comes back as a ``CallFailed`` holding
its kind and the typed error to raise on giving up (``CredentialsRejected``,
``AccessDenied``, ``EndpointUnreachable``, ``NotSageMaker``, ...), decided by
``failures`` when the failure is classified. Clients created here
(``_io/client.py``) have botocore's own retries off (``total_max_attempts=1``): its
default "legacy" mode has no cap on its backoff, and stacking its attempts under
ours would multiply them. A caller-owned client keeps its own configuration; then
botocore's attempts happen inside each of ours, and callers who want only our
policy pass ``Config(retries={"total_max_attempts": 1})``.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import TYPE_CHECKING, Any

from aiobotocore.client import AioBaseClient
from aiobotocore.session import AioSession, get_session

from .._core.snapshot import Snapshot, _time
from .._core.status import PrimaryStatus, SecondaryStatus
from .._core.tracker import ErrorKind
from .._errors import (
    ConfigurationError,
    CredentialsError,
    InvalidClient,
    MalformedResponse,
    SageMakerWatchError,
)
from .client import (
    ClientOptions,
    default_client,
    endpoint_origin,
    require_asyncio,
)
from .clock import Clock, SystemClock
from .failures import (
    PARSER_ERRORS,
    call_errors,
    check_content_type,
    classify,
    give_up_error,
    is_parser_failure,
)
from .retry import RetryPolicy, call_within

if TYPE_CHECKING:
    import datetime as dt

    from types_aiobotocore_sagemaker import SageMakerClient
else:
    SageMakerClient = Any

__all__ = [
    "AioBotocoreSource",
    "CallFailed",
    "JobSummary",
    "ListPage",
    "SourceStatistics",
]


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
        except call_errors() as error:
            return self._failed(error, job_name)

    async def list_changed(
        self,
        *,
        modified_after: dt.datetime | None,
        created_after: dt.datetime | None = None,
        next_token: str | None = None,
        page_size: int = 100,
    ) -> ListPage | CallFailed:
        """List one page of jobs modified after *modified_after*, newest first.

        One ``ListTrainingJobs`` call, no retry (``SortBy=CreationTime``,
        descending, so paging is stable while jobs change); never raises its errors.

        Args:
            modified_after: only jobs whose ``LastModifiedTime`` is later, or
                ``None`` for any (a census).
            created_after: only jobs created later, or ``None`` for any.
            next_token: the previous page's token, or ``None`` for the first page.
            page_size: ``MaxResults``, 1 to 100.

        Raises:
            UnsupportedEventLoop: not running under asyncio (raised at once).
        """
        require_asyncio()
        self._calls += 1
        request: dict[str, Any] = {
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": page_size,
        }
        if modified_after is not None:
            request["LastModifiedTimeAfter"] = modified_after
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
        except call_errors() as error:
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
        except PARSER_ERRORS as error:
            # Only botocore's parser failing on the answer is the answer's
            # fault; anything else of these types is a bug and goes up as is.
            if not is_parser_failure(error):
                raise
            msg = (
                f"botocore could not parse the {_operation_name(operation)} answer "
                f"({type(error).__name__})"
            )
            raise MalformedResponse(msg) from error
        check_content_type(response)
        return response

    def _failed(self, error: BaseException, job_name: str | None) -> CallFailed:
        if isinstance(error, ConfigurationError | CredentialsError):
            # A client opened for this call could not be set up: final.
            return CallFailed(kind=ErrorKind.FATAL, error=error)
        kind = classify(error)
        if kind is ErrorKind.THROTTLED:
            self._throttles += 1
        mapped = give_up_error(error, kind, job_name=job_name, endpoint=self._endpoint)
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


def _operation_name(operation: str) -> str:
    """``describe_training_job`` -> ``DescribeTrainingJob``."""
    return "".join(part.title() for part in operation.split("_"))
