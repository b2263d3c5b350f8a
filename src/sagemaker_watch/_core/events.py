"""Events: past-tense facts about a training job, each serialisable to flat JSON."""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, TypeAlias

from .snapshot import _iso

if TYPE_CHECKING:
    from .._errors import SageMakerWatchError
    from .snapshot import Snapshot
    from .status import PrimaryStatus, SecondaryStatus

#: A JSON value, as ``json.dumps`` accepts it.
JSON: TypeAlias = "str | int | float | bool | list[JSON] | dict[str, JSON] | None"

_BASE_FIELDS = frozenset({"job_name", "at", "resume_token", "snapshot"})


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Event:
    """Something that happened to a training job, observed in one snapshot.

    Attributes:
        job_name: the training job's name.
        at: when the snapshot that revealed the event was observed (UTC).
        resume_token: an opaque string; pass it as ``resume=`` to a new watch to
            get exactly the events after this one (see ``ResumeCursor``).
        snapshot: the snapshot in which the event was observed. It is not part of
            equality, ``repr()`` or ``to_json()``.
    """

    #: The stable name of the event in JSON (``"event"`` key).
    kind: ClassVar[str]

    job_name: str
    at: dt.datetime
    resume_token: str
    snapshot: Snapshot = field(repr=False, compare=False)

    def __repr__(self) -> str:
        """Return a short description: the event's own fields."""
        parts = [f"job_name={self.job_name!r}"]
        parts.extend(f"{name}={_plain(value)!r}" for name, value in self._own_fields())
        return f"{type(self).__name__}({', '.join(parts)})"

    def to_json(self) -> dict[str, JSON]:
        """Return the event as a flat JSON object.

        Keys, in order: ``"event"``, ``"job_name"``, ``"at"`` (ISO 8601 UTC, like
        ``"2021-10-12T05:49:40.493000Z"``), the event's own fields, then
        ``"resume_token"``. Enum values are plain strings, datetimes ISO 8601 UTC
        strings, absent values ``null``. Non-finite numbers (final metrics can be
        NaN or infinite) are the strings the service uses: ``"NaN"``,
        ``"Infinity"``, ``"-Infinity"``, so ``json.dumps(..., allow_nan=False)``
        always works. These keys are a public contract.
        """
        result: dict[str, JSON] = {
            "event": self.kind,
            "job_name": self.job_name,
            "at": _iso(self.at),
        }
        for name, value in self._own_fields():
            result[name] = _json(value)
        result["resume_token"] = self.resume_token
        return result

    def _own_fields(self) -> list[tuple[str, object]]:
        return [
            (f.name, getattr(self, f.name))
            for f in fields(self)
            if f.name not in _BASE_FIELDS
        ]


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _json(value: object) -> JSON:
    """Return *value* as strict JSON: never fails, never emits NaN or Infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        # The strings the wire itself uses for these values.
        return "NaN" if math.isnan(value) else f"{'-' if value < 0 else ''}Infinity"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return str(value)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class JobObserved(Event):
    """The job was seen for the first time by this watcher (the first event)."""

    kind: ClassVar[str] = "job_observed"

    primary_status: PrimaryStatus
    secondary_status: SecondaryStatus | None
    job_arn: str
    creation_time: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class StatusEntered(Event):
    """The job entered a secondary status: a new ``SecondaryStatusTransitions`` entry.

    Attributes:
        status: the status entered.
        previous_status: the status of the transition before it, if any.
        message: its status message when observed (SageMaker may rewrite it later:
            see ``StatusMessageChanged``).
        started_at: when the status began, as SageMaker recorded it.
    """

    kind: ClassVar[str] = "status_entered"

    status: SecondaryStatus
    previous_status: SecondaryStatus | None
    message: str | None
    started_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Interrupted(StatusEntered):
    """Spot capacity was taken back: the job entered ``Interrupted``."""

    kind: ClassVar[str] = "interrupted"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class StatusMessageChanged(Event):
    """SageMaker rewrote the message of the current status in place.

    ``previous_message`` is ``None`` when the watch was resumed from a token (the
    token carries only a hash of the message).
    """

    kind: ClassVar[str] = "status_message_changed"

    status: SecondaryStatus
    message: str
    previous_message: str | None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class PrimaryStatusChanged(Event):
    """The primary status (``TrainingJobStatus``) moved.

    It may move before the matching transition appears (``Stopping`` while the last
    transition is still ``Training``). ``previous_status`` is ``None`` only when
    resuming from a token that could not carry an unusual previous value.
    """

    kind: ClassVar[str] = "primary_status_changed"

    status: PrimaryStatus
    previous_status: PrimaryStatus | None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ProgressChanged(Event):
    """The training container reported new ``ProgressInfo``."""

    kind: ClassVar[str] = "progress_changed"

    current_step: int | None
    total_steps_per_epoch: int | None
    current_epoch: int | None
    max_epoch: int | None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class JobEnded(Event):
    """The job reached a terminal primary status: always the last event of a job."""


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class JobCompleted(JobEnded):
    """The job Completed.

    Attributes:
        training_time_seconds: ``TrainingTimeInSeconds``.
        billable_time_seconds: ``BillableTimeInSeconds`` (lower with spot).
        model_artifacts: the S3 URI of the model, if any.
        final_metrics: metric name to its final value (read-only).
    """

    kind: ClassVar[str] = "job_completed"

    training_time_seconds: int | None
    billable_time_seconds: int | None
    model_artifacts: str | None
    final_metrics: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class JobFailed(JobEnded):
    """The job Failed; ``failure_reason`` is SageMaker's ``FailureReason``."""

    kind: ClassVar[str] = "job_failed"

    failure_reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class JobStopped(JobEnded):
    """The job was Stopped; ``reason`` is the secondary status that ended it.

    ``Stopped`` for a user stop, ``MaxRuntimeExceeded`` or ``MaxWaitTimeExceeded``
    for a stopping condition, or a value the service added later.
    """

    kind: ClassVar[str] = "job_stopped"

    reason: SecondaryStatus


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class JobLost(Event):
    """A ``FleetWatcher`` stopped watching a job because of an error; the fleet goes on.

    Always the job's last item in the fleet's stream.

    Attributes:
        error: the error the job's waiters raise (``TrainingJobNotFound``,
            ``JobReplaced``, ``ServiceError`` or ``RetriesExhausted``).
        resume_token: the token of the last event reported for the job (or the
            one it was added with), ``None`` if there was none: pass it as
            ``resume=`` to watch the job again without repeating anything.
        snapshot: the last snapshot of the job, ``None`` if it was never seen.
    """

    kind: ClassVar[str] = "job_lost"

    resume_token: str | None  # type: ignore[assignment]
    snapshot: Snapshot | None = field(repr=False, compare=False)  # type: ignore[assignment]
    error: SageMakerWatchError = field(compare=False)

    def __repr__(self) -> str:
        """Return a short description: the job and the error's class."""
        return f"JobLost(job_name={self.job_name!r}, error={type(self.error).__name__})"

    def to_json(self) -> dict[str, JSON]:
        """Return a flat JSON object like every event's.

        Keys, in order: ``"event"`` (``"job_lost"``), ``"job_name"``, ``"at"``,
        ``"error"`` (the exception's class name), ``"message"``, then
        ``"resume_token"`` (``null`` if no event was reported).
        """
        return {
            "event": self.kind,
            "job_name": self.job_name,
            "at": _iso(self.at),
            "error": type(self.error).__name__,
            "message": str(self.error),
            "resume_token": self.resume_token,
        }
