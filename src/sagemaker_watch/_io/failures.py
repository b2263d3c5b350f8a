"""What a failed AWS call means: its kind, and the typed error to give up with.

``classify`` sorts every failure of a call into an ``ErrorKind`` (throttled, not
found, transient, fatal), and ``give_up_error`` names the typed error to raise on
giving up (``TrainingJobNotFound``, ``CredentialsRejected``, ``AccessDenied``,
``EndpointUnreachable``, ``NotSageMaker``, ...). botocore's own parser fails on some
answers before we see them (timestamps it cannot convert, members of the wrong JSON
type, gzip bytes): ``is_parser_failure`` tells those from bugs, and the source raises
them as ``MalformedResponse``, retried like any transient error, as it does a 2xx
answer that is not JSON (``check_content_type``). No message quotes a response body
(``error_code`` names a failure by its code or type alone). Nothing here makes a
call: the source (``source``) does, and imports this module, never the reverse.
"""

from __future__ import annotations

import traceback

import aiohttp
import botocore.exceptions

from .._core.tracker import ErrorKind
from .._errors import (
    AccessDenied,
    ConfigurationError,
    CredentialsError,
    CredentialsRejected,
    EndpointUnreachable,
    MalformedResponse,
    NotSageMaker,
    RetriesExhausted,
    SageMakerWatchError,
    ServiceError,
    TrainingJobNotFound,
)
from .client import credentials_error, one_line

__all__ = [
    "PARSER_ERRORS",
    "call_errors",
    "check_content_type",
    "classify",
    "error_code",
    "give_up_error",
    "is_parser_failure",
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
        # SQS: throttled requests, its KMS key throttled, too many messages in
        # flight (ReceiveMessage's OverLimit clears as messages are deleted).
        "RequestThrottled",
        "KmsThrottled",
        "OverLimit",
    }
)
_TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "InternalError",
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
#: Refusals: IAM's, and SQS's for a queue whose KMS key the caller may not use.
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "KmsAccessDenied"})
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
#: is the answer's fault (see ``is_parser_failure``).
_PARSER_MODULES = frozenset({"botocore.parsers", "aiobotocore.parsers"})
_ENDPOINT_MODULES = frozenset({"botocore.endpoint", "aiobotocore.endpoint"})
#: What botocore's parser raises on answers it cannot read: ValueError (a
#: timestamp out of range or NaN, UnicodeDecodeError on gzip bytes),
#: RuntimeError and OverflowError (timestamps), AttributeError and TypeError (a
#: member of the wrong JSON type), LookupError (a shape it cannot walk).
PARSER_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    AttributeError,
    RuntimeError,
    OverflowError,
    LookupError,
)


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
            # SQS's client checks each body's MD5: a mismatch is a garbled answer.
            botocore.exceptions.ChecksumError,
            botocore.exceptions.HTTPClientError,
            botocore.exceptions.ConnectionError,
            botocore.exceptions.ReadTimeoutError,
            aiohttp.ClientError,
            TimeoutError,
        ),
    ):
        return ErrorKind.TRANSIENT
    return ErrorKind.FATAL


def is_parser_failure(error: BaseException) -> bool:
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


def check_content_type(response: object) -> None:
    """Raise ``MalformedResponse`` for a 2xx answer that is not JSON (HTML, ...)."""
    foreign = _foreign(response)
    if foreign is not None:
        status, media = foreign
        raise _ForeignAnswer(
            _complaint(status, media), http_status=status or 200, content_type=media
        )


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


def give_up_error(  # noqa: PLR0911 - one typed error per kind of failure
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
            prefix + one_line(str(error)),
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
        return one_line(str(error.response.get("Error", {}).get("Message", "")))
    return one_line(str(error))


def call_errors() -> tuple[type[BaseException], ...]:
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
