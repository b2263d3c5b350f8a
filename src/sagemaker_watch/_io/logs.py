"""The only module that calls CloudWatch Logs: list a job's streams, read one stream.

``LogsSource`` wraps a caller-owned aiobotocore ``logs`` client, in the manner of
``source`` and ``sqs``: each call is ONE attempt, bounded in time, and a failure
comes back as a ``LogsFailure`` of a ``LogsFailureKind``, never as a raw botocore
or transport exception. Retrying, backing off and giving up are the driver's
decisions (with ``_core.log_reader``'s schedule).

SageMaker writes a training job's output to the log group
``/aws/sagemaker/TrainingJobs``, one stream per host and container start, named
``JOB/algo-N-EPOCH`` (the SageMaker Developer Guide's table of the log groups and
streams SageMaker sends to CloudWatch Logs). ``list_streams`` is one
``DescribeLogStreams`` page of the streams named ``JOB/...``; ``read`` is one
``GetLogEvents`` call, ``startFromHead=True`` always (the API reference: without
it and without a token the service returns the NEWEST events, and a
``nextForwardToken`` must be sent with ``startFromHead=True``), by the request's
token or else from its start time.
At the end of a stream the service answers the token it was sent; ``read``
returns it as is, and the reader compares.

Classification: throttles (``ThrottlingException``, ``LimitExceededException``,
HTTP 429) are ``THROTTLED`` and reported to the optional ``RateBudget``; 5xx,
``ServiceUnavailableException``, timeouts and dropped connections
``TRANSIENT``; ``InvalidParameterException`` to a request that carried a token
``TOKEN_REJECTED`` (the service's text is "The specified nextToken is invalid.";
the request's other parameters are ours and valid, and were they not, the
reader's next read, by time and without a token, fails ``FATAL``);
``ResourceNotFoundException`` ``NOT_FOUND`` (normal while a job starts: the group
or the stream is not there yet); refusals of the caller or its credentials
``DENIED``, with the typed error ``failures`` gives them (``AccessDenied``,
``CredentialsRejected``, ...); an answer whose members have the wrong types
``MALFORMED``; anything else ``FATAL``.

Log lines are the training script's output and may hold secrets and control
characters: events keep their messages verbatim, and nothing here logs, keeps or
quotes an answer. A ``LogsFailure``'s code and message are cleaned to printable
text, and its message is written here, never taken from the answer.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import types
from typing import TYPE_CHECKING, Any, Final

from .._core.log_reader import RawLogEvent
from .._core.tracker import ErrorKind
from .._errors import (
    AccessDenied,
    CredentialsError,
    MalformedResponse,
    RetriesExhausted,
    SageMakerWatchError,
    ServiceError,
)
from .client import credentials_error, endpoint_origin, require_asyncio
from .failures import (
    PARSER_ERRORS,
    call_errors,
    classify,
    give_up_error,
    is_parser_failure,
)
from .retry import call_within

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._core.log_reader import StreamRead
    from .ratelimit import RateBudget

#: No stubs for aiobotocore's CloudWatch Logs client are installed
#: (types-aiobotocore[logs]).
CloudWatchLogsClient = Any

__all__ = [
    "LOG_GROUP",
    "EventsPage",
    "LogsFailure",
    "LogsFailureKind",
    "LogsSource",
    "LogsSourceStatistics",
    "StreamsPage",
]

#: The log group SageMaker writes every training job's output to.
LOG_GROUP: Final = "/aws/sagemaker/TrainingJobs"
#: The most events one ``GetLogEvents`` answer holds (its ``limit``).
MAX_EVENTS: Final = 10_000
#: The budget's operation names, as the service names them.
GET_LOG_EVENTS: Final = "GetLogEvents"
DESCRIBE_LOG_STREAMS: Final = "DescribeLogStreams"
#: The latest time an event may carry, in ms (the end of year 9999): later ones
#: cannot be a ``datetime``.
_MAX_MILLISECONDS: Final = 253_402_300_799_999
#: The longest code or detail shown in a failure.
_MAX_SHOWN: Final = 80
#: CloudWatch Logs' codes beyond those ``failures`` knows, by kind. The
#: service documents ``LimitExceededException`` for resource quotas, which reads
#: do not create; were a read to get it, waiting is the only remedy: a throttle.
_THROTTLED_CODES = frozenset({"LimitExceededException"})
_TRANSIENT_CODES = frozenset({"ServiceUnavailableException"})
_TOKEN_CODES = frozenset({"InvalidParameterException"})


class LogsFailureKind(enum.StrEnum):
    """What a failed CloudWatch Logs call means to the driver."""

    #: The service's rate limit: slow down (the budget was told), retry later.
    THROTTLED = "throttled"
    #: 5xx, a timeout, a dropped connection: retry later.
    TRANSIENT = "transient"
    #: The request's token was refused (expired or invalid): read by time instead.
    TOKEN_REJECTED = "token_rejected"  # noqa: S105 - a kind, not a secret
    #: No such log group or stream (yet): retry later.
    NOT_FOUND = "not_found"
    #: An answer whose members have the wrong types, or no answer at all: retry.
    MALFORMED = "malformed"
    #: The caller or its credentials were refused: raise ``LogsFailure.error``.
    DENIED = "denied"
    #: Anything else: raise ``LogsFailure.error``.
    FATAL = "fatal"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StreamsPage:
    """One ``DescribeLogStreams`` page: a job's stream names, the next page's token.

    Attributes:
        names: the streams named ``JOB/...``, in the service's order.
        next_token: the token of the next page, or ``None`` after the last.
    """

    names: tuple[str, ...]
    next_token: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class EventsPage:
    """One ``GetLogEvents`` answer.

    Attributes:
        events: the events, in the service's order (by timestamp), each kept.
        next_token: the service's ``nextForwardToken`` as answered (the token
            sent, at the end of the stream), or ``None`` if it sent none.
    """

    events: tuple[RawLogEvent, ...]
    next_token: str | None

    def __repr__(self) -> str:
        """Return a short description: how many events, never their messages."""
        return f"EventsPage(events={len(self.events)}, next_token={self.next_token!r})"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LogsFailure:
    """One CloudWatch Logs call that failed, classified; nothing was retried.

    Attributes:
        kind: how the driver handles it.
        code: the service's error code (printable, cut short), or ``None`` for a
            failure that is not the service's answer (a timeout, a malformed answer).
        message: one line written here (the operation, what went wrong, the
            code or the exception's type); never the answer's text.
        error: the typed error to raise on giving up (``AccessDenied``,
            ``CredentialsRejected``, ``EndpointUnreachable``, ``RetriesExhausted``,
            ``ServiceError``), with the botocore or transport error as its cause.
    """

    kind: LogsFailureKind
    code: str | None
    message: str
    error: SageMakerWatchError | None = dataclasses.field(
        default=None, repr=False, compare=False
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LogsSourceStatistics:
    """Counters of one ``LogsSource``; nothing of any log line.

    Attributes:
        calls: ``DescribeLogStreams`` and ``GetLogEvents`` calls made, failed
            ones included.
        events: events returned.
        throttles: calls the service throttled.
        errors: calls that failed otherwise, by the service's code or the
            exception's type (``MalformedResponse`` for a malformed answer).
    """

    calls: int
    events: int
    throttles: int
    errors: Mapping[str, int]


class _Malformed(MalformedResponse):
    """An answer we cannot read; its message is ours, never the answer's."""


class LogsSource:
    """CloudWatch Logs calls over an aiobotocore ``logs`` client (never closed here).

    Example::

        source = LogsSource(client)
        page = await source.list_streams("my-job", token=None)
        if isinstance(page, StreamsPage):
            for name in page.names:
                read = StreamRead(stream=name, token=None, start_time=None)
                events = await source.read(read)
    """

    def __init__(
        self,
        client: CloudWatchLogsClient,
        *,
        timeout: float = 30.0,
        budget: RateBudget | None = None,
        log_group: str = LOG_GROUP,
    ) -> None:
        """Call CloudWatch Logs through *client*.

        Args:
            client: an aiobotocore ``logs`` client, owned by the caller.
            timeout: the real-time bound of one call, in seconds; a call still
                running then is abandoned as ``TRANSIENT``.
            budget: a ``RateBudget`` to take a token from before each call
                (operations ``"GetLogEvents"`` and ``"DescribeLogStreams"``), and
                to tell of throttles and clean answers; ``None``: no pacing here.
            log_group: the log group (SageMaker's, unless testing).

        Raises:
            ValueError: *timeout* is not positive.
        """
        if not timeout > 0:
            msg = "LogsSource timeout must be positive"
            raise ValueError(msg)
        self.client = client
        self.timeout = float(timeout)
        self.budget = budget
        self.log_group = log_group
        self._calls = 0
        self._events = 0
        self._throttles = 0
        self._errors: collections.Counter[str] = collections.Counter()

    def __repr__(self) -> str:
        """Return a short description."""
        return (
            f"LogsSource(calls={self._calls}, events={self._events}, "
            f"throttles={self._throttles})"
        )

    def statistics(self) -> LogsSourceStatistics:
        """Return the counters so far."""
        return LogsSourceStatistics(
            calls=self._calls,
            events=self._events,
            throttles=self._throttles,
            errors=types.MappingProxyType(dict(self._errors)),
        )

    async def list_streams(
        self, job_name: str, *, token: str | None
    ) -> StreamsPage | LogsFailure:
        """List one page of *job_name*'s streams (waits for the budget, then calls).

        One ``DescribeLogStreams`` (``logStreamNamePrefix`` ``"JOB/"``, the
        service's order by name, up to 50 a page), no retry; never raises its
        errors. Names outside the prefix are left out. Paging is the caller's
        loop: a token that repeats or never ends is its to cap.

        Args:
            job_name: the training job.
            token: the previous page's ``next_token``, or ``None`` for the first.

        Raises:
            UnsupportedEventLoop: not running under asyncio (raised at once).
        """
        require_asyncio()
        prefix = f"{job_name}/"
        request: dict[str, Any] = {
            "logGroupName": self.log_group,
            "logStreamNamePrefix": prefix,
        }
        if token is not None:
            request["nextToken"] = token
        response = await self._call(
            DESCRIBE_LOG_STREAMS, request, job_name=job_name, sent_token=token
        )
        if isinstance(response, LogsFailure):
            return response
        try:
            return _streams_page(response, prefix)
        except _Malformed as error:
            return self._failed(
                DESCRIBE_LOG_STREAMS, error, job_name=job_name, sent_token=token
            )

    async def read(
        self, request: StreamRead, *, limit: int = MAX_EVENTS
    ) -> EventsPage | LogsFailure:
        """Read one page of a stream, oldest first (waits for the budget, then calls).

        One ``GetLogEvents`` (``startFromHead=True``; ``nextToken`` if the
        request has one, else ``startTime`` if it has one, else the stream's
        head), no retry; never raises its errors.

        Args:
            request: the stream and where to read from.
            limit: the most events to return, 1 to 10,000 (the service may
                return fewer, even none, with more to come).

        Raises:
            ValueError: *limit* out of range (raised at once).
            UnsupportedEventLoop: not running under asyncio (raised at once).
        """
        if not 1 <= limit <= MAX_EVENTS:
            msg = f"GetLogEvents limit must be 1 to {MAX_EVENTS}, not {limit}"
            raise ValueError(msg)
        require_asyncio()
        call: dict[str, Any] = {
            "logGroupName": self.log_group,
            "logStreamName": request.stream,
            "startFromHead": True,
            "limit": limit,
        }
        if request.token is not None:
            call["nextToken"] = request.token
        elif request.start_time is not None:
            call["startTime"] = request.start_time
        job_name = request.stream.partition("/")[0]
        response = await self._call(
            GET_LOG_EVENTS, call, job_name=job_name, sent_token=request.token
        )
        if isinstance(response, LogsFailure):
            return response
        try:
            page = _events_page(response)
        except _Malformed as error:
            return self._failed(
                GET_LOG_EVENTS, error, job_name=job_name, sent_token=request.token
            )
        self._events += len(page.events)
        return page

    async def _call(
        self,
        operation: str,
        request: dict[str, Any],
        *,
        job_name: str,
        sent_token: str | None,
    ) -> dict[str, Any] | LogsFailure:
        """Take the budget's token, make one call, classify what went wrong."""
        if self.budget is not None:
            await self.budget.acquire(operation)
        self._calls += 1
        try:
            response = await call_within(
                lambda: self._send(operation, request), seconds=self.timeout
            )
        except call_errors() as error:
            return self._failed(
                operation, error, job_name=job_name, sent_token=sent_token
            )
        if self.budget is not None:
            self.budget.succeeded(operation)
        return response

    async def _send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request; raise ``_Malformed`` for an answer botocore cannot read.

        The answer's content type is not checked (as ``source`` does): moto's
        logs answers ``text/html``. An answer that is not JSON parses without
        the members, and is malformed for that.
        """
        method = (
            "get_log_events" if operation == GET_LOG_EVENTS else "describe_log_streams"
        )
        try:
            response: dict[str, Any] = await getattr(self.client, method)(**request)
        except PARSER_ERRORS as error:
            # Only botocore's parser failing on the answer is the answer's
            # fault; anything else of these types is a bug and goes up as is.
            if not is_parser_failure(error):
                raise
            msg = f"botocore could not parse the answer ({type(error).__name__})"
            raise _Malformed(msg) from error
        return response

    def _failed(
        self,
        operation: str,
        error: BaseException,
        *,
        job_name: str,
        sent_token: str | None,
    ) -> LogsFailure:
        """Classify *error*, count it, and tell the budget of a throttle."""
        kind = _kind(error, sent_token=sent_token)
        code = _code(error)
        if kind is LogsFailureKind.THROTTLED:
            self._throttles += 1
            if self.budget is not None:
                self.budget.throttled(operation)
        else:
            self._errors[code or _type_name(error)] += 1
        message = f"{operation} {_PHRASES[kind]} ({code or _detail(error)})"
        endpoint = endpoint_origin(
            getattr(getattr(self.client, "meta", None), "endpoint_url", None)
        )
        mapped = _give_up(
            error,
            kind,
            code=code or _type_name(error),
            message=f"{operation} {_PHRASES[kind]}",
            job_name=job_name,
            endpoint=endpoint,
        )
        mapped.__cause__, mapped.__suppress_context__ = error, True
        return LogsFailure(kind=kind, code=code, message=message, error=mapped)


_PHRASES: Final = {
    LogsFailureKind.THROTTLED: "was throttled",
    LogsFailureKind.TRANSIENT: "failed for now",
    LogsFailureKind.TOKEN_REJECTED: "refused the token",
    LogsFailureKind.NOT_FOUND: "found no such log group or stream",
    LogsFailureKind.MALFORMED: "answered something unreadable",
    LogsFailureKind.DENIED: "was refused",
    LogsFailureKind.FATAL: "failed",
}


def _kind(error: BaseException, *, sent_token: str | None) -> LogsFailureKind:  # noqa: PLR0911 - one kind per case
    """Sort a failed call's exception into a ``LogsFailureKind``."""
    if isinstance(error, MalformedResponse):
        return LogsFailureKind.MALFORMED
    code = _code(error)
    if code in _TOKEN_CODES and sent_token is not None:
        return LogsFailureKind.TOKEN_REJECTED
    if code in _THROTTLED_CODES:
        return LogsFailureKind.THROTTLED
    if code in _TRANSIENT_CODES:
        return LogsFailureKind.TRANSIENT
    base = classify(error)
    if base is ErrorKind.THROTTLED:
        return LogsFailureKind.THROTTLED
    if base is ErrorKind.TRANSIENT:
        return LogsFailureKind.TRANSIENT
    if base is ErrorKind.NOT_FOUND:
        return LogsFailureKind.NOT_FOUND
    if _refusal(error) is not None:
        return LogsFailureKind.DENIED
    return LogsFailureKind.FATAL


def _refusal(
    error: BaseException, *, job_name: str | None = None, endpoint: str | None = None
) -> SageMakerWatchError | None:
    """The typed error of a refusal (``AccessDenied``, credentials), or ``None``."""
    if _answer_error(error) is not None:
        mapped = give_up_error(
            error, ErrorKind.FATAL, job_name=job_name, endpoint=endpoint
        )
        return mapped if isinstance(mapped, AccessDenied | CredentialsError) else None
    return credentials_error(error, job_name=job_name)


def _give_up(
    error: BaseException,
    kind: LogsFailureKind,
    *,
    code: str,
    message: str,
    job_name: str,
    endpoint: str | None,
) -> SageMakerWatchError:
    """The typed error to raise if the driver gives up on *error*.

    Refusals and transport failures get ``failures``' typed errors
    (``AccessDenied``, ``CredentialsRejected``, ``EndpointUnreachable``, ...);
    the rest a ``RetriesExhausted`` (kinds worth retrying) or a ``ServiceError``
    with *message*, never the answer's text.
    """
    refusal = _refusal(error, job_name=job_name, endpoint=endpoint)
    if refusal is not None:
        return refusal
    if kind is LogsFailureKind.TRANSIENT and _answer_error(error) is None:
        return give_up_error(
            error, ErrorKind.TRANSIENT, job_name=job_name, endpoint=endpoint
        )
    if kind in {
        LogsFailureKind.THROTTLED,
        LogsFailureKind.TRANSIENT,
        LogsFailureKind.MALFORMED,
    }:
        return RetriesExhausted(
            f"gave up after retries: {message}", job_name=job_name, code=code
        )
    return ServiceError(message, job_name=job_name, code=code)


def _answer_error(error: BaseException) -> dict[str, Any] | None:
    """The ``Error`` of the service's error answer (a botocore ``ClientError``).

    Read off the exception, so that only ``client`` and ``failures`` import
    botocore.
    """
    response = getattr(error, "response", None)
    answer = response.get("Error") if isinstance(response, dict) else None
    return answer if isinstance(answer, dict) else None


def _code(error: BaseException) -> str | None:
    """The service's error code of *error*, cleaned, or ``None``."""
    answer = _answer_error(error)
    code = None if answer is None else answer.get("Code")
    return _printable(code) if isinstance(code, str) and code else None


def _type_name(error: BaseException) -> str:
    """Name a failure that is not the service's by its type."""
    if isinstance(error, MalformedResponse):
        return "MalformedResponse"
    return type(error).__name__


def _detail(error: BaseException) -> str:
    """What went wrong, in words written here: a malformed answer's, or the type."""
    if isinstance(error, _Malformed):
        return _printable(str(error))
    return _type_name(error)


def _printable(text: str) -> str:
    """*text* without control characters, cut to ``_MAX_SHOWN`` characters."""
    shown = "".join(c for c in text if c.isprintable())
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 1] + "…"


def _token(value: object, what: str) -> str | None:
    """A pagination token of an answer: a printable string, or ``None`` if absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.isprintable():
        msg = f"{what} is not a printable string"
        raise _Malformed(msg)
    return value


def _milliseconds(value: object, what: str) -> int:
    """A time of an answer: an int of epoch milliseconds a datetime can hold."""
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not 0 <= value <= _MAX_MILLISECONDS
    ):
        msg = f"an event's {what} is not epoch milliseconds"
        raise _Malformed(msg)
    return value


def _events_page(response: dict[str, Any]) -> EventsPage:
    """Read a ``GetLogEvents`` answer; raise ``_Malformed`` if unreadable."""
    rows = response.get("events")
    if not isinstance(rows, list):
        msg = "events is not a list"
        raise _Malformed(msg)
    events = []
    for row in rows:
        if not isinstance(row, dict):
            msg = "an event is not an object"
            raise _Malformed(msg)
        message = row.get("message")
        if not isinstance(message, str):
            msg = "an event's message is not a string"
            raise _Malformed(msg)
        events.append(
            RawLogEvent(
                timestamp=_milliseconds(row.get("timestamp"), "timestamp"),
                ingestion_time=_milliseconds(row.get("ingestionTime"), "ingestionTime"),
                message=message,
            )
        )
    return EventsPage(
        events=tuple(events),
        next_token=_token(response.get("nextForwardToken"), "nextForwardToken"),
    )


def _streams_page(response: dict[str, Any], prefix: str) -> StreamsPage:
    """Read a ``DescribeLogStreams`` answer; raise ``_Malformed`` if unreadable."""
    rows = response.get("logStreams")
    if not isinstance(rows, list):
        msg = "logStreams is not a list"
        raise _Malformed(msg)
    names = []
    for row in rows:
        name = row.get("logStreamName") if isinstance(row, dict) else None
        if not isinstance(name, str) or not name.isprintable():
            msg = "a stream's logStreamName is not a printable string"
            raise _Malformed(msg)
        if name.startswith(prefix):
            names.append(name)
    return StreamsPage(
        names=tuple(names), next_token=_token(response.get("nextToken"), "nextToken")
    )
