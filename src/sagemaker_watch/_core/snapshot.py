"""Snapshot: an immutable, typed view of one DescribeTrainingJob response."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, TypeVar

from .._errors import (
    MalformedResponse,
    TrainingJobFailed,
    TrainingJobStopped,
    UsageError,
)
from .parse_memo import MEMO, Memo, Parsed, Rows, RowSpec, reuse
from .status import (
    INTERRUPTION_STATUSES,
    SECONDARY_OUTCOMES,
    STOP_REASONS,
    TERMINAL_STATUSES,
    PrimaryStatus,
    SecondaryStatus,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """One entry of ``SecondaryStatusTransitions``.

    SageMaker rewrites ``message`` in place while the status lasts, and sets
    ``ended_at`` when the next status begins.
    """

    status: SecondaryStatus
    started_at: dt.datetime
    ended_at: dt.datetime | None
    message: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One entry of ``FinalMetricDataList``: a metric's last value."""

    name: str
    value: float
    timestamp: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """``ProgressInfo``: where training is, as reported by the training container."""

    current_step: int | None
    total_steps_per_epoch: int | None
    current_epoch: int | None
    max_epoch: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobIdentity:
    """What tells two jobs of the same name apart: the ARN and the creation time."""

    job_arn: str
    creation_time: dt.datetime

    def __str__(self) -> str:
        """Return a short human description."""
        return f"{self.job_arn} created {_iso(self.creation_time)}"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Snapshot:
    """One observation of a training job, parsed from a DescribeTrainingJob response.

    Build it with ``Snapshot.from_response``. ``raw`` is the response as received,
    read-only; it holds ``Environment`` and ``HyperParameters``, which may carry
    secrets, so it is left out of ``repr()``, equality and every event: do not log
    it. All datetimes are timezone-aware UTC. ``max_runtime_seconds`` and
    ``max_wait_seconds`` are the job's ``StoppingCondition`` (``None`` when absent
    or not a positive whole number): the poll schedule is polling when they stop it.
    """

    job_name: str
    job_arn: str
    creation_time: dt.datetime
    primary_status: PrimaryStatus
    secondary_status: SecondaryStatus | None
    failure_reason: str | None
    transitions: tuple[Transition, ...]
    last_modified_time: dt.datetime | None
    training_start_time: dt.datetime | None
    training_end_time: dt.datetime | None
    training_time_seconds: int | None
    billable_time_seconds: int | None
    model_artifacts: str | None
    final_metrics: tuple[Metric, ...]
    progress: Progress | None
    warm_pool_status: str | None
    managed_spot: bool
    observed_at: dt.datetime
    max_runtime_seconds: int | None = None
    max_wait_seconds: int | None = None
    raw: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    def __repr__(self) -> str:
        """Return a short description, never the raw response."""
        secondary = (
            None if self.secondary_status is None else str(self.secondary_status)
        )
        return (
            f"Snapshot(job_name={self.job_name!r}, "
            f"primary_status={str(self.primary_status)!r}, "
            f"secondary_status={secondary!r}, transitions={len(self.transitions)})"
        )

    @classmethod
    def from_response(
        cls, raw: Mapping[str, object], *, observed_at: dt.datetime
    ) -> Snapshot:
        """Parse one DescribeTrainingJob response.

        Timestamps may be ``datetime`` objects (the wire format, through
        aiobotocore), epoch seconds (raw JSON) or ISO 8601 strings (SDK dumps);
        naive ones are taken as UTC. Members other than the four required ones may
        be absent or ``null``; an optional member of the wrong type is read as
        absent. A missing ``SecondaryStatus`` is taken from the last transition
        (``None`` when there is none).

        Args:
            raw: the response, as a mapping.
            observed_at: when the response was received; the parser reads no clock.

        The history and the metrics are read once per change: from a job's
        second answer on, the rows of its last answer (for the 1,024 jobs parsed
        most recently in the process) and what they gave are kept, and rows
        equal to them are not read again. The snapshot is the same either way.

        Returns:
            The snapshot; ``raw`` keeps a read-only shallow copy of the response.

        Raises:
            MalformedResponse: if ``TrainingJobName``, ``TrainingJobArn``,
                ``TrainingJobStatus`` or ``CreationTime`` is missing or of the
                wrong type, or if a transition lacks its ``Status`` or
                ``StartTime``.
        """
        return _parse(cls, raw, observed_at=observed_at, memo=MEMO)

    @property
    def identity(self) -> JobIdentity:
        """The job's identity: the same name can be reused after a deletion."""
        return JobIdentity(job_arn=self.job_arn, creation_time=self.creation_time)

    @property
    def outcome(self) -> PrimaryStatus | None:
        """How the job ended: Completed, Failed or Stopped; ``None`` while it runs.

        The primary status when it is one of the three. When the primary status is
        a value this version does not know (``completed``, or one the service adds
        later), the outcome its secondary status implies: ``Completed`` ->
        Completed, ``Failed`` -> Failed, ``Stopped``, ``MaxRuntimeExceeded`` or
        ``MaxWaitTimeExceeded`` -> Stopped (see ``SECONDARY_OUTCOMES``), so a job
        that plainly ended is never watched forever. A known non-terminal primary
        status (``InProgress``, ``Stopping``) always means ``None``. The result is
        always a known member.
        """
        if self.primary_status in TERMINAL_STATUSES:
            return self.primary_status
        if self.primary_status.is_known or self.secondary_status is None:
            return None
        return SECONDARY_OUTCOMES.get(self.secondary_status)

    @property
    def is_terminal(self) -> bool:
        """Whether the job ended: ``outcome`` is not ``None``."""
        return self.outcome is not None

    @property
    def interruptions(self) -> int:
        """How many times spot capacity was taken back (``Interrupted`` entries)."""
        return sum(t.status in INTERRUPTION_STATUSES for t in self.transitions)

    @property
    def stop_reason(self) -> SecondaryStatus | None:
        """Why a Stopped job stopped; ``None`` unless ``outcome`` is Stopped.

        The latest transition among ``Stopped``, ``MaxRuntimeExceeded`` and
        ``MaxWaitTimeExceeded``; failing that the secondary status (which may be a
        value the service added later); failing that ``Stopped``.
        """
        if self.outcome != PrimaryStatus.STOPPED:
            return None
        for transition in reversed(self.transitions):
            if transition.status in STOP_REASONS:
                return transition.status
        if self.secondary_status is not None:
            return self.secondary_status
        return SecondaryStatus.STOPPED

    def raise_for_outcome(self) -> Snapshot:
        """Return this snapshot if the job Completed; raise if it ended otherwise.

        Judged by ``outcome``, so an unknown primary status (``failed``) with a
        terminal secondary status counts as what that status says. Chains::

            snapshot = (await sw.wait_until_terminal("my-job")).raise_for_outcome()

        Returns:
            This snapshot, whose ``outcome`` is Completed.

        Raises:
            TrainingJobFailed: the job failed; ``.failure_reason`` says why.
            TrainingJobStopped: the job was stopped; ``.reason`` says how.
            UsageError: the job has no outcome yet (it is still running), so
                returning would wrongly say it completed.
        """
        outcome = self.outcome
        if outcome == PrimaryStatus.FAILED:
            raise TrainingJobFailed(self)
        if outcome == PrimaryStatus.STOPPED:
            raise TrainingJobStopped(self)
        if outcome is None:
            msg = (
                f"training job {self.job_name!r} has not ended "
                f"({self.primary_status}/{self.secondary_status}): "
                "raise_for_outcome() needs a terminal snapshot, such as "
                "wait_until_terminal() returns"
            )
            raise UsageError(msg)
        return self


def _iso(moment: dt.datetime) -> str:
    """Format a UTC datetime as ``2021-10-12T05:49:40.493000Z``."""
    naive = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "Z"


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


_S = TypeVar("_S", bound=Snapshot)
_R = TypeVar("_R")


def _parse(
    cls: type[_S],
    raw: Mapping[str, object],
    *,
    observed_at: dt.datetime,
    memo: Memo | None,
) -> _S:
    """``Snapshot.from_response``, reusing what *memo* kept (``None``: read all).

    The members are read in the order the checks have always run, so a response
    with several faults raises the error it always raised.
    """
    received: object = raw  # callers may pass anything at run time
    if not isinstance(received, Mapping):
        msg = f"expected a mapping, got {type(received).__name__}"
        raise MalformedResponse(msg)
    job_name = _required_str(raw, "TrainingJobName")
    job_arn = _required_str(raw, "TrainingJobArn")
    primary = PrimaryStatus(_required_str(raw, "TrainingJobStatus"))
    creation_time = _time(raw.get("CreationTime"))
    if creation_time is None:
        msg = "CreationTime is missing or not a timestamp"
        raise MalformedResponse(msg)
    last = memo.get(job_arn) if memo is not None else None
    history_state, transitions = _rows(
        raw.get("SecondaryStatusTransitions"),
        _TRANSITION_ROWS,
        memo=memo,
        last=False if last is None else last.transitions,
        read_row=_transition_row,
        read_all=_transitions,
    )
    secondary_raw = _optional_str(raw.get("SecondaryStatus"))
    if secondary_raw is not None:
        secondary: SecondaryStatus | None = _secondary(secondary_raw)
    elif transitions:
        secondary = transitions[-1].status
    else:
        secondary = None
    artifacts = raw.get("ModelArtifacts")
    warm_pool = raw.get("WarmPoolStatus")
    limits = raw.get("StoppingCondition")
    if not isinstance(limits, Mapping):
        limits = {}
    failure_reason = _optional_str(raw.get("FailureReason"))
    last_modified_time = _time(raw.get("LastModifiedTime"))
    training_start_time = _time(raw.get("TrainingStartTime"))
    training_end_time = _time(raw.get("TrainingEndTime"))
    metric_state, final_metrics = _rows(
        raw.get("FinalMetricDataList"),
        _METRIC_ROWS,
        memo=memo,
        last=False if last is None else last.metrics,
        read_row=_metric_row,
        read_all=_metrics,
    )
    snapshot = cls(
        job_name=job_name,
        job_arn=job_arn,
        creation_time=creation_time,
        primary_status=primary,
        secondary_status=secondary,
        failure_reason=failure_reason,
        transitions=transitions,
        last_modified_time=last_modified_time,
        training_start_time=training_start_time,
        training_end_time=training_end_time,
        training_time_seconds=_optional_int(raw.get("TrainingTimeInSeconds")),
        billable_time_seconds=_optional_int(raw.get("BillableTimeInSeconds")),
        model_artifacts=(
            _optional_str(artifacts.get("S3ModelArtifacts"))
            if isinstance(artifacts, Mapping)
            else None
        ),
        final_metrics=final_metrics,
        progress=_progress(raw.get("ProgressInfo")),
        warm_pool_status=(
            _optional_str(warm_pool.get("Status"))
            if isinstance(warm_pool, Mapping)
            else None
        ),
        managed_spot=raw.get("EnableManagedSpotTraining") is True,
        observed_at=_utc(observed_at),
        max_runtime_seconds=_positive_int(limits.get("MaxRuntimeInSeconds")),
        max_wait_seconds=_positive_int(limits.get("MaxWaitTimeInSeconds")),
        raw=MappingProxyType(dict(raw)),
    )
    if memo is not None:
        memo.put(job_arn, Parsed(transitions=history_state, metrics=metric_state))
    return snapshot


def _rows(
    value: object,
    spec: RowSpec,
    *,
    memo: Memo | None,
    last: Rows[_R] | bool,
    read_row: Callable[[int, tuple[object, ...]], _R | None],
    read_all: Callable[[object], tuple[_R, ...]],
) -> tuple[Rows[_R] | bool, tuple[_R, ...]]:
    """Read one of the answer's long lists: reused from *last* where the memo can.

    Returns what the memo keeps of it and what it gives.
    """
    state = False if memo is None else reuse(value, spec, state=last, read_row=read_row)
    return state, state.parsed if isinstance(state, Rows) else read_all(value)


def _time(value: object) -> dt.datetime | None:
    """Read a timestamp in any of the shapes responses use; ``None`` if unreadable."""
    if isinstance(value, dt.datetime):
        # astimezone() to the zone a datetime already has returns it unchanged.
        return value if value.tzinfo is dt.UTC else _utc(value)
    if isinstance(value, str):
        try:
            return _utc(dt.datetime.fromisoformat(value))
        except ValueError:
            value = _optional_float_text(value)
    seconds = _optional_float(value)
    return None if seconds is None else _epoch(seconds)


def _optional_float_text(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _epoch(seconds: float) -> dt.datetime | None:
    if not math.isfinite(seconds):
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _required_str(raw: Mapping[str, object], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        msg = f"{key} is missing or not a non-empty string"
        raise MalformedResponse(msg)
    return value


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _optional_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _positive_int(value: object) -> int | None:
    number = _optional_int(value)
    return number if number is not None and number > 0 else None


def _optional_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


#: The known secondary statuses by value: a dict look-up is what the enum's own
#: call does first, without the call.
_SECONDARY_BY_VALUE: Final[Mapping[str, SecondaryStatus]] = MappingProxyType(
    {status.value: status for status in SecondaryStatus}
)


def _secondary(value: str) -> SecondaryStatus:
    known = _SECONDARY_BY_VALUE.get(value)
    return SecondaryStatus(value) if known is None else known


def _transitions(value: object) -> tuple[Transition, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        msg = "SecondaryStatusTransitions is not a list"
        raise MalformedResponse(msg)
    transitions = []
    for index, entry in enumerate(value):
        if type(entry) is not dict and not isinstance(entry, Mapping):
            raise _bad_transition(index)
        status = entry.get("Status")
        started_at = _time(entry.get("StartTime"))
        if not isinstance(status, str) or started_at is None:
            raise _bad_transition(index)
        transitions.append(
            Transition(
                status=_secondary(status),
                started_at=started_at,
                ended_at=_time(entry.get("EndTime")),
                message=_optional_str(entry.get("StatusMessage")),
            )
        )
    return tuple(transitions)


def _transition_row(index: int, row: tuple[object, ...]) -> Transition:
    """Read one plain row of the history, as ``_transitions`` reads an entry."""
    status, start, end, message = row
    started_at = _time(start)
    if not isinstance(status, str) or started_at is None:
        raise _bad_transition(index)
    return Transition(
        status=_secondary(status),
        started_at=started_at,
        ended_at=_time(end),
        message=_optional_str(message),
    )


def _bad_transition(index: int) -> MalformedResponse:
    return MalformedResponse(
        f"SecondaryStatusTransitions[{index}] lacks Status or StartTime"
    )


def _metrics(value: object) -> tuple[Metric, ...]:
    if not isinstance(value, list | tuple):
        return ()
    metrics = []
    for entry in value:
        if type(entry) is not dict and not isinstance(entry, Mapping):
            continue
        name = _optional_str(entry.get("MetricName"))
        number = _metric_value(entry.get("Value"))
        if name is None or number is None:
            continue
        metrics.append(
            Metric(name=name, value=number, timestamp=_time(entry.get("Timestamp")))
        )
    return tuple(metrics)


def _metric_row(_index: int, row: tuple[object, ...]) -> Metric | None:
    """Read one plain row of the metrics, as ``_metrics`` reads an entry."""
    name_value, value, timestamp = row
    name = _optional_str(name_value)
    number = _metric_value(value)
    if name is None or number is None:
        return None
    return Metric(name=name, value=number, timestamp=_time(timestamp))


#: How the JSON protocols send floats JSON cannot hold; botocore passes them on
#: as these strings.
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _metric_value(value: object) -> float | None:
    """A metric's value: a number, or ``"NaN"``/``"Infinity"``/``"-Infinity"``."""
    if isinstance(value, str):
        return _NON_FINITE.get(value)
    return _optional_float(value)


def _progress(value: object) -> Progress | None:
    if not isinstance(value, Mapping):
        return None
    return Progress(
        current_step=_optional_int(value.get("CurrentStep")),
        total_steps_per_epoch=_optional_int(value.get("TotalStepCountPerEpoch")),
        current_epoch=_optional_int(value.get("CurrentEpoch")),
        max_epoch=_optional_int(value.get("MaxEpoch")),
    )


#: The members the row readers above unpack, in their order (see ``parse_memo``).
_TRANSITION_ROWS: Final = RowSpec(
    keys=("Status", "StartTime", "EndTime", "StatusMessage"), times=(1, 2)
)
_METRIC_ROWS: Final = RowSpec(
    keys=("MetricName", "Value", "Timestamp"), times=(2,), signed=(1,)
)
