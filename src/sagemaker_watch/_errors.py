"""The exception hierarchy: every error this library raises, typed and carrying context.

::

    SageMakerWatchError
    ├── InvalidJobName                (ValueError) bad name or ARN (or an ARN of
    │                                 another region), raised before any request
    ├── InvalidResumeToken            (ValueError) a resume token we cannot read
    ├── InvalidClient                 (TypeError) not an aiobotocore client, at once
    ├── UnsupportedEventLoop          (RuntimeError) not asyncio, before any request
    ├── UsageError                    (RuntimeError) watch() outside async with, entered
    │                                 twice, raise_for_outcome() on a running job
    ├── MalformedResponse             an answer botocore or the parser cannot read
    ├── TrainingJobNotFound           no job of that name (after the grace period)
    ├── JobReplaced                   the name now belongs to another job
    ├── ServiceError                  a fatal AWS error: access, validation, ...
    │   ├── ConfigurationError        (ValueError) local set-up, before any request
    │   │   ├── NoRegion              no region configured, or an invalid one
    │   │   ├── ProfileNotFound       the named profile is in no config file
    │   │   └── InvalidEndpoint       not http(s) with a host
    │   ├── CredentialsError          no usable credentials (none, partial, SSO)
    │   │   └── CredentialsRejected   AWS rejected them (unknown, bad, expired)
    │   ├── AccessDenied              the credentials may not call the operation
    │   └── RetriesExhausted          transient errors outlasted the retry policy
    │       ├── EndpointUnreachable   the endpoint could not be reached
    │       └── NotSageMaker          the endpoint answers, but not SageMaker JSON
    ├── WaitTimeout                   (TimeoutError) a waiter's timeout= ran out
    ├── JobRemoved                    (LookupError) removed from the fleet meanwhile
    └── TrainingJobEnded              the job ended other than Completed
        ├── TrainingJobFailed         primary status Failed, with failure_reason
        ├── TrainingJobStopped        primary status Stopped, with reason
        └── StatusNotReached          Completed without entering an awaited status
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._core.snapshot import Snapshot


class SageMakerWatchError(Exception):
    """Base class of every error raised by sagemaker-watch."""


class UsageError(SageMakerWatchError, RuntimeError):
    """The API was used in a way that cannot work, found before any request.

    A ``watch()`` that opens its own client iterated outside ``async with``, a
    watch entered twice, ``Snapshot.raise_for_outcome()`` on a job still running.
    A ``RuntimeError`` too, so ``except RuntimeError`` keeps catching it.
    """


class InvalidJobName(SageMakerWatchError, ValueError):
    """A job name or ARN SageMaker would reject (or an ARN of another region).

    Raised before any request.
    """

    def __init__(self, job_name: object, *, reason: str | None = None) -> None:
        """Build the error for *job_name*; *reason*, if given, is the whole message."""
        self.job_name = job_name
        super().__init__(
            reason
            or f"invalid training job name {job_name!r}: 1-63 characters, letters, "
            "digits and hyphens, starting and ending with a letter or digit"
        )


class InvalidResumeToken(SageMakerWatchError, ValueError):
    """A resume token that this version cannot read or that belongs to another job."""


class InvalidClient(SageMakerWatchError, TypeError):
    """A *client* that is not an aiobotocore SageMaker client (a boto3 one, say)."""

    def __init__(self, client: object) -> None:
        """Build the error for *client*."""
        super().__init__(
            f"client= needs an aiobotocore SageMaker client (whose calls are "
            f"awaited), not {type(client).__module__}.{type(client).__qualname__}; "
            "open one with sagemaker_watch.sagemaker_client() or "
            "aiobotocore.session.get_session().create_client('sagemaker')"
        )


class UnsupportedEventLoop(SageMakerWatchError, RuntimeError):
    """Called outside asyncio (under trio, say): aiobotocore runs on asyncio only."""

    def __init__(self, library: str | None) -> None:
        """Build the error for the event loop *library* found (``None``: unknown)."""
        self.library = library
        super().__init__(
            f"sagemaker-watch needs asyncio (aiobotocore runs on asyncio only), "
            f"but this runs under {library or 'another event loop'}; "
            "under anyio use backend='asyncio'"
        )


class MalformedResponse(SageMakerWatchError):
    """An answer that cannot be read (retried): unparseable, wrong types, not JSON.

    The message names what was wrong in one short line and never quotes the body;
    the parser's own error, if any, is chained as ``__cause__``.
    """


class TrainingJobNotFound(SageMakerWatchError):
    """SageMaker says there is no training job of that name."""

    def __init__(self, job_name: str) -> None:
        """Build the error for *job_name*."""
        self.job_name = job_name
        super().__init__(f"training job {job_name!r} was not found")


class JobReplaced(SageMakerWatchError):
    """The name now refers to a different job (deleted and created again)."""

    def __init__(self, job_name: str, *, previous: str, current: str) -> None:
        """Build the error: *previous* and *current* describe the two jobs."""
        self.job_name = job_name
        self.previous = previous
        self.current = current
        super().__init__(
            f"training job {job_name!r} was replaced by another job of the same "
            f"name while it was watched ({previous} -> {current}); "
            "not splicing two histories"
        )


class ServiceError(SageMakerWatchError):
    """A fatal error from SageMaker (access denied, validation, ...), never retried.

    The botocore exception is chained as ``__cause__``.
    """

    def __init__(self, message: str, *, job_name: str | None, code: str) -> None:
        """Build the error from SageMaker's error *code* and *message*."""
        self.job_name = job_name
        self.code = code
        super().__init__(f"{code}: {message}" if message else code)


class RetriesExhausted(ServiceError):
    """Transient errors (throttling, 5xx, dropped connections) outlasted the retries."""


def _shown(text: str, limit: int = 80) -> str:
    """*text* cut to *limit* printable characters, for a one-line message."""
    printable = "".join(c for c in text if c.isprintable())
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


class ConfigurationError(ServiceError, ValueError):
    """A local set-up mistake, found before any request was sent.

    botocore's error, if any, is chained as ``__cause__``.
    """

    def __init__(self, message: str, *, code: str) -> None:
        """Build the error from a one-line *message* and botocore's error *code*."""
        super().__init__(message, job_name=None, code=code)


class NoRegion(ConfigurationError):
    """No AWS region is configured, or botocore rejected the one given.

    Attributes:
        region: the rejected region, or ``None`` when none was configured.
    """

    def __init__(self, region: str | None = None) -> None:
        """Build the error: *region* is the rejected value, ``None`` for no region."""
        self.region = region
        if region is None:
            super().__init__("no AWS region configured", code="NoRegionError")
        else:
            super().__init__(
                f"invalid AWS region {_shown(region)!r}", code="InvalidRegionError"
            )


class ProfileNotFound(ConfigurationError):
    """The AWS profile named (``profile=``, ``AWS_PROFILE``) is in no config file.

    Attributes:
        profile: the profile's name.
    """

    def __init__(self, profile: str) -> None:
        """Build the error for *profile*."""
        self.profile = profile
        super().__init__(
            f"the AWS profile {_shown(profile)!r} could not be found",
            code="ProfileNotFound",
        )


class InvalidEndpoint(ConfigurationError):
    """The endpoint URL is not http or https with a host.

    Only its scheme and host are kept: a URL may carry ``user:password@``.

    Attributes:
        scheme: the URL's scheme, lower case (``""`` if none).
        host: the URL's host, or ``None`` if none.
    """

    def __init__(self, *, scheme: str, host: str | None) -> None:
        """Build the error from the URL's *scheme* and *host*."""
        self.scheme = scheme
        self.host = host
        shown_host = None if host is None else _shown(host)
        super().__init__(
            "the endpoint URL must be http or https with a host "
            f"(scheme {_shown(scheme)!r}, host {shown_host!r})",
            code="InvalidEndpoint",
        )


class CredentialsError(ServiceError):
    """No usable AWS credentials: none found, partial, or an SSO token that failed.

    ``code`` is botocore's error (``NoCredentialsError``, ``TokenRetrievalError``,
    ...), chained as ``__cause__``.
    """


class CredentialsRejected(CredentialsError):
    """AWS rejected the credentials: unknown, badly signed, or expired.

    ``code`` is AWS's (``UnrecognizedClientException``, ``ExpiredToken``, ...);
    the message never quotes AWS's, which may echo the signed request.
    """


class AccessDenied(ServiceError):
    """The credentials are not allowed to call the operation.

    Attributes:
        operation: the operation refused, such as ``"DescribeTrainingJob"``.
    """

    def __init__(
        self, *, operation: str, job_name: str | None, code: str = "AccessDenied"
    ) -> None:
        """Build the error for *operation* (on *job_name*, if any)."""
        self.operation = operation
        on = f" on {job_name!r}" if job_name is not None else ""
        super().__init__(
            f"access denied to {operation}{on}", job_name=job_name, code=code
        )


class EndpointUnreachable(RetriesExhausted):
    """Gave up while the endpoint could not be reached (refused, DNS, timeouts).

    Attributes:
        endpoint_url: ``scheme://host:port`` of the endpoint, never more of it;
            ``None`` if unknown.
    """

    def __init__(
        self,
        message: str,
        *,
        job_name: str | None,
        code: str,
        endpoint_url: str | None,
    ) -> None:
        """Build the error; *endpoint_url* is ``scheme://host:port`` only."""
        self.endpoint_url = endpoint_url
        super().__init__(message, job_name=job_name, code=code)


class NotSageMaker(RetriesExhausted):
    """Gave up while the endpoint kept answering something other than SageMaker JSON.

    An HTML page from a proxy, a body botocore cannot parse: a wrong endpoint,
    most likely. A 4xx page is given up at once, other answers after retries.

    Attributes:
        http_status: the answer's HTTP status, or ``None`` if unknown.
        content_type: the answer's media type, or ``None`` if unknown.
        endpoint_url: ``scheme://host:port`` of the endpoint, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        job_name: str | None,
        code: str,
        http_status: int | None,
        content_type: str | None,
        endpoint_url: str | None,
    ) -> None:
        """Build the error; nothing of the answer's body is kept."""
        self.http_status = http_status
        self.content_type = content_type
        self.endpoint_url = endpoint_url
        super().__init__(message, job_name=job_name, code=code)


class WaitTimeout(SageMakerWatchError, TimeoutError):
    """A waiter's *timeout* ran out; carries the last snapshot seen (if any)."""

    def __init__(
        self, job_name: str, *, timeout: float, snapshot: Snapshot | None
    ) -> None:
        """Build the error for *job_name* after *timeout* seconds."""
        self.job_name = job_name
        self.timeout = timeout
        self.snapshot = snapshot
        status = (
            f"; last seen {snapshot.primary_status}/{snapshot.secondary_status}"
            if snapshot is not None
            else "; never observed"
        )
        super().__init__(
            f"training job {job_name!r} did not finish within {timeout:g}s{status}"
        )


class JobRemoved(SageMakerWatchError, LookupError):
    """The job was removed from a ``FleetWatcher`` while a waiter waited for it."""

    def __init__(self, job_name: str) -> None:
        """Build the error for *job_name*."""
        self.job_name = job_name
        super().__init__(f"training job {job_name!r} was removed from the fleet")


class TrainingJobEnded(SageMakerWatchError):
    """The job reached a terminal status other than Completed."""

    def __init__(self, message: str, *, snapshot: Snapshot) -> None:
        """Build the error from the final *snapshot*."""
        self.snapshot = snapshot
        self.job_name = snapshot.job_name
        super().__init__(message)


class TrainingJobFailed(TrainingJobEnded):
    """The job Failed; ``failure_reason`` says why, as SageMaker wrote it."""

    def __init__(self, snapshot: Snapshot) -> None:
        """Build the error from the final *snapshot*."""
        self.failure_reason = snapshot.failure_reason
        super().__init__(
            f"training job {snapshot.job_name!r} failed: "
            f"{snapshot.failure_reason or 'no FailureReason given'}",
            snapshot=snapshot,
        )


class TrainingJobStopped(TrainingJobEnded):
    """The job was Stopped; ``reason`` is the secondary status that ended it.

    ``"Stopped"`` for a user stop, ``"MaxRuntimeExceeded"`` or ``"MaxWaitTimeExceeded"``
    when a stopping condition ended it, or whatever new value the service sends.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        """Build the error from the final *snapshot*."""
        self.reason = str(snapshot.stop_reason)
        super().__init__(
            f"training job {snapshot.job_name!r} was stopped ({self.reason})",
            snapshot=snapshot,
        )


class StatusNotReached(TrainingJobEnded):
    """The job completed without ever entering the status that was awaited."""

    def __init__(self, snapshot: Snapshot, *, wanted: list[str]) -> None:
        """Build the error from the final *snapshot* and the *wanted* statuses."""
        self.wanted = tuple(wanted)
        super().__init__(
            f"training job {snapshot.job_name!r} ended {snapshot.primary_status} "
            f"without entering {' or '.join(self.wanted)}",
            snapshot=snapshot,
        )
