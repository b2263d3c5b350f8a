"""The exception hierarchy: every error this library raises, typed and carrying context.

::

    SageMakerWatchError
    ├── InvalidJobName                (ValueError) bad name, raised before any request
    ├── InvalidResumeToken            (ValueError) a resume token we cannot read
    ├── InvalidClient                 (TypeError) not an aiobotocore client, at once
    ├── UnsupportedEventLoop          (RuntimeError) not asyncio, before any request
    ├── MalformedResponse             an answer botocore or the parser cannot read
    ├── TrainingJobNotFound           no job of that name (after the grace period)
    ├── JobReplaced                   the name now belongs to another job
    ├── ServiceError                  a fatal AWS error: access, validation, ...
    │   └── RetriesExhausted          transient errors outlasted the retry policy
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


class InvalidJobName(SageMakerWatchError, ValueError):
    """A training job name that SageMaker would reject; raised before any request."""

    def __init__(self, job_name: object) -> None:
        """Build the error for *job_name*."""
        self.job_name = job_name
        super().__init__(
            f"invalid training job name {job_name!r}: 1-63 characters, letters, "
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
