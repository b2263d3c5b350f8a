"""Scripted training job lifecycles: phases, an outcome, and ready-made timelines."""

from __future__ import annotations

import bisect
import itertools
import math
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

STOPPING_MESSAGE = "Stopping the training job"
STOPPED_MESSAGES: Mapping[str, str] = types.MappingProxyType(
    {
        "Stopped": "Training job stopped",
        "MaxRuntimeExceeded": (
            "Training job runtime exceeded MaxRuntimeInSeconds provided"
        ),
        "MaxWaitTimeExceeded": "Training job exceeded MaxWaitTimeInSeconds provided",
    }
)
COMPLETED_MESSAGE = "Training job completed"
FAILED_MESSAGE = "Training job failed"

#: Secondary statuses before any instance runs the algorithm (no TrainingStartTime yet).
_BEFORE_TRAINING = frozenset(
    {"Starting", "Pending", "LaunchingMLInstances", "PreparingTrainingStack"}
)
#: Secondary statuses during which spot instances are not billed.
_UNBILLED = _BEFORE_TRAINING | {"Interrupted", "Restarting"}

STARTING = (
    "Starting the training job",
    "Launching requested ML instances",
    "Preparing the instances for training",
)
DOWNLOADING = ("Downloading input data",)
TRAINING = (
    "Downloading the training image",
    "Training image download completed. Training in progress.",
)
UPLOADING = ("Uploading generated training model",)
INTERRUPTED = (
    (
        "Training job interrupted: insufficient capacity. "
        "Training resumes when Spot capacity is available."
    ),
)
RESTARTING = ("Restarting the training job after an internal error",)
FAILURE_REASON = (
    "AlgorithmError: ExecuteUserScriptError:\n"
    "ExitCode 1\n"
    'ErrorMessage "RuntimeError: CUDA out of memory"\n'
    'Command "/opt/conda/bin/python3.10 train.py --epochs 10", exit code 1'
)
DEFAULT_METRICS = (("train:loss", 0.0421), ("validation:accuracy", 0.9712))
#: ``MaxRuntimeInSeconds`` when a request names none: one day, as AWS documents.
DEFAULT_MAX_RUNTIME = 86400
#: Simulated seconds between a ``StopTrainingJob`` and its ``Stopping`` transition.
STOP_ACK_SECONDS = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Phase:
    """One secondary status a job passes through.

    Attributes:
        status: The ``SecondaryStatus`` value, known to SageMaker or not.
        duration: Simulated seconds spent in this phase.
        messages: The ``StatusMessage`` values shown during the phase, each for an
            equal share of *duration*, rewritten in place on the same transition.
    """

    status: str
    duration: float
    messages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Reject negative durations."""
        if self.duration < 0:
            raise ValueError("a phase cannot last a negative time")


@dataclass(frozen=True, slots=True, kw_only=True)
class Completed:
    """The job completes: a ``Completed`` transition, primary ``Completed``.

    Attributes:
        final_metrics: ``(name, value)`` pairs for ``FinalMetricDataList``.
    """

    final_metrics: tuple[tuple[str, float], ...] = DEFAULT_METRICS


@dataclass(frozen=True, slots=True, kw_only=True)
class Failed:
    """The job fails: a ``Failed`` transition, primary ``Failed``, a failure reason.

    Attributes:
        failure_reason: The ``FailureReason`` shown once the job has failed.
    """

    failure_reason: str = FAILURE_REASON


StopReason = Literal["Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stopped:
    """The job is stopped: a ``Stopping`` transition, then one named for *reason*.

    The primary status goes ``Stopping`` then ``Stopped``. For ``MaxRuntimeExceeded``
    and ``MaxWaitTimeExceeded`` the stop is the job's limit being reached: when the
    timeline leaves the limit to its default, the limit is set so that the job ends
    where the script ends; when the job's ``StoppingCondition`` names the limit, the
    last phase runs on until that limit stops it.

    Attributes:
        reason: The last transition's status.
    """

    reason: StopReason = "Stopped"


Outcome = Completed | Failed | Stopped


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressScript:
    """How ``ProgressInfo`` counts steps during ``Training`` phases.

    Attributes:
        steps_per_epoch: ``TotalStepCountPerEpoch``.
        max_epoch: ``MaxEpoch``.
    """

    steps_per_epoch: int = 100
    max_epoch: int = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """The script a fake training job follows, from creation to its outcome.

    Attributes:
        name: A label, shown in reprs and used by the ready-made registry.
        phases: The secondary statuses, in order, before the outcome.
        outcome: How the job ends.
        primary_lead: Seconds by which the primary status moves (to ``Stopping``,
            ``Completed``, ``Failed`` or ``Stopped``) before the matching transition
            appears in the history, as the real service does.
        stopping: Simulated seconds between the ``Stopping`` transition and the
            stopped one, for stopped outcomes and for stops by the user. A job
            stopped by its ``StoppingCondition`` is ``Stopped`` exactly at its
            limit, so its ``Stopping`` transition starts this long before it.
        spot: Whether the job defaults to ``EnableManagedSpotTraining``.
        max_runtime: Default ``StoppingCondition.MaxRuntimeInSeconds``; ``None``
            means one day, or, for a ``MaxRuntimeExceeded`` outcome, the runtime
            at which the script ends. The job honours it: runtime counts wall time
            from ``TrainingStartTime`` (across interruptions and retries, as AWS
            documents), and a job still running at the limit is stopped with
            ``MaxRuntimeExceeded``.
        max_wait: Default ``StoppingCondition.MaxWaitTimeInSeconds`` (spot only);
            ``None`` means twice *max_runtime*, or, for a ``MaxWaitTimeExceeded``
            outcome, the time at which the script ends. A spot job still running
            that long after its creation is stopped with ``MaxWaitTimeExceeded``.
        stop_ack: Simulated seconds between ``StopTrainingJob`` (the primary status
            turns ``Stopping`` at once) and the ``Stopping`` transition; meanwhile
            the secondary status is unchanged, as in the recorded responses.
        retry_attempts: Default ``RetryStrategy.MaximumRetryAttempts``, if any.
        progress: How ``ProgressInfo`` counts during training, or ``None``.
    """

    name: str = "custom"
    phases: tuple[Phase, ...]
    outcome: Outcome = field(default_factory=Completed)
    primary_lead: float = 0.0
    stopping: float = 30.0
    spot: bool = False
    max_runtime: int | None = None
    max_wait: int | None = None
    retry_attempts: int | None = None
    progress: ProgressScript | None = field(default_factory=ProgressScript)
    stop_ack: float = STOP_ACK_SECONDS

    def __post_init__(self) -> None:
        """Reject an empty script, negative leads and limits below one second."""
        if not self.phases:
            raise ValueError("a timeline needs at least one phase")
        if self.primary_lead < 0 or self.stopping < 0 or self.stop_ack < 0:
            raise ValueError("primary_lead, stopping and stop_ack cannot be negative")
        if any(v is not None and v < 1 for v in (self.max_runtime, self.max_wait)):
            raise ValueError("max_runtime and max_wait must be at least 1 second")

    def stopping_condition(self) -> dict[str, int]:
        """Return the ``StoppingCondition`` a job on this timeline gets by default.

        ``MaxWaitTimeInSeconds`` is present for spot timelines only, and never below
        ``MaxRuntimeInSeconds``.
        """
        training_start = _training_offset(self.phases)
        scripted_end = self.duration
        reason = self.outcome.reason if isinstance(self.outcome, Stopped) else None
        wait = self.max_wait
        if wait is None and reason == "MaxWaitTimeExceeded" and self.spot:
            wait = max(math.ceil(scripted_end), 1)
        runtime = self.max_runtime
        if runtime is None:
            if reason == "MaxRuntimeExceeded" and training_start is not None:
                runtime = max(math.ceil(scripted_end - training_start), 1)
            elif wait is not None:
                runtime = min(DEFAULT_MAX_RUNTIME, wait)
            else:
                runtime = DEFAULT_MAX_RUNTIME
        condition = {"MaxRuntimeInSeconds": runtime}
        if self.spot:
            condition["MaxWaitTimeInSeconds"] = max(
                wait if wait is not None else 2 * runtime, runtime
            )
        return condition

    @property
    def duration(self) -> float:
        """Simulated seconds from creation to the last transition, if not stopped."""
        total = sum(phase.duration for phase in self.phases)
        if isinstance(self.outcome, Stopped):
            total += self.stopping
        return total

    def __repr__(self) -> str:
        """Return ``Timeline(name=..., statuses=...)``."""
        statuses = "→".join(phase.status for phase in self.phases)
        return (
            f"Timeline(name={self.name!r}, statuses={statuses!r}, "
            f"outcome={self.outcome!r})"
        )


@dataclass(frozen=True, slots=True)
class _Transition:
    status: str
    start: float
    message_times: tuple[float, ...]
    messages: tuple[str, ...]
    nominal: float
    terminal: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionView:
    """One entry of ``SecondaryStatusTransitions`` as seen at some instant."""

    status: str
    start: float
    end: float | None
    message: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobState:
    """What a job looks like at one simulated instant (times are POSIX seconds)."""

    primary: str
    secondary: str
    transitions: tuple[TransitionView, ...]
    last_modified: float
    training_start: float | None
    training_end: float | None
    training_seconds: int | None
    billable_seconds: int | None
    failure_reason: str | None
    final_metrics: tuple[tuple[str, float, float], ...] | None
    progress: tuple[int, int, int, int] | None


class Plan:
    """A timeline pinned to a creation time (and maybe a stop): answers ``state(t)``.

    Built once per job in O(phases); each ``state(t)`` costs O(log phases) plus the
    size of the visible history.
    """

    __slots__ = (
        "_billable_at",
        "_mod_times",
        "_primary",
        "_primary_times",
        "_spot",
        "_starts",
        "_transitions",
        "created",
        "failure_reason",
        "metrics",
        "progress",
        "stopped_by_user",
        "terminal_at",
        "training_start",
    )

    def __init__(
        self,
        timeline: Timeline,
        *,
        created: float,
        stop_at: float | None = None,
        stopping_condition: Mapping[str, object] | None = None,
    ) -> None:
        """Lay *timeline* out from *created*; a user stop at *stop_at* cuts it short.

        *stopping_condition* (the job's ``StoppingCondition``; the timeline's own by
        default) stops the job at its limits.
        """
        self.created = created
        self.stopped_by_user = stop_at is not None
        self.progress = timeline.progress
        self._spot = timeline.spot
        limits = dict(
            timeline.stopping_condition()
            if stopping_condition is None
            else stopping_condition
        )
        lead = timeline.primary_lead
        cut, stopping, outcome, primary_stopping = _ending(
            timeline, created, stop_at, limits
        )
        transitions, at = _lay_out(timeline.phases, created, cut)
        primary: list[tuple[float, str]] = [(created, "InProgress")]
        self.failure_reason: str | None = None
        self.metrics: tuple[tuple[str, float], ...] = ()
        if cut is not None:
            at = cut
        else:
            lead = min(lead, timeline.phases[-1].duration)
        end_phases = at
        if isinstance(outcome, Stopped):
            final_at = at + stopping
            message = STOPPED_MESSAGES[outcome.reason]
            transitions.append(_single("Stopping", at, STOPPING_MESSAGE))
            transitions.append(
                _single(outcome.reason, final_at, message, terminal=True)
            )
            if primary_stopping is None:
                primary_stopping = at - lead
            primary += [(primary_stopping, "Stopping"), (final_at - lead, "Stopped")]
        else:
            status = "Failed" if isinstance(outcome, Failed) else "Completed"
            message = (
                FAILED_MESSAGE if isinstance(outcome, Failed) else COMPLETED_MESSAGE
            )
            if isinstance(outcome, Failed):
                self.failure_reason = outcome.failure_reason
            else:
                self.metrics = outcome.final_metrics
            transitions.append(_single(status, at, message, terminal=True))
            primary.append((at - lead, status))
        self._transitions = tuple(transitions)
        self._starts = tuple(t.start for t in transitions)
        self._primary = tuple(primary)
        self._primary_times = tuple(t for t, _ in primary)
        self.terminal_at = primary[-1][0]
        self.training_start = next(
            (
                t.start
                for t in transitions[:-1]
                if t.status not in _BEFORE_TRAINING and t.start < end_phases
            ),
            None,
        )
        self._billable_at = sum(
            min(nxt.start, end_phases) - cur.start
            for cur, nxt in itertools.pairwise(transitions)
            if cur.status not in _UNBILLED and cur.start < end_phases
        )
        self._mod_times = tuple(
            sorted(
                set(self._primary_times)
                | {m for tr in transitions for m in tr.message_times}
            )
        )

    @property
    def terminal_status(self) -> str:
        """The primary status the job ends in."""
        return self._primary[-1][1]

    def primary_at(self, t: float) -> str:
        """Return the primary status at simulated time *t*."""
        return self._primary[max(bisect.bisect_right(self._primary_times, t) - 1, 0)][1]

    def summary(self, t: float) -> tuple[str, str, float, float | None]:
        """Return primary, secondary, last modified and end time at *t*, cheaply."""
        t = max(t, self.created)
        k = max(bisect.bisect_right(self._starts, t), 1)
        last_mod = self._mod_times[max(bisect.bisect_right(self._mod_times, t) - 1, 0)]
        end = self.terminal_at if t >= self.terminal_at else None
        return self.primary_at(t), self._transitions[k - 1].status, last_mod, end

    def state(self, t: float) -> JobState:
        """Return the job as seen at simulated time *t* (POSIX seconds)."""
        t = max(t, self.created)
        k = max(bisect.bisect_right(self._starts, t), 1)
        views = []
        for i in range(k):
            tr = self._transitions[i]
            if i + 1 < k:
                end: float | None = self._transitions[i + 1].start
                message = tr.messages[-1]
            else:
                end = tr.start if tr.terminal else None
                j = bisect.bisect_right(tr.message_times, t) - 1
                message = tr.messages[max(j, 0)]
            views.append(
                TransitionView(
                    status=tr.status, start=tr.start, end=end, message=message or None
                )
            )
        primary = self.primary_at(t)
        terminal = t >= self.terminal_at
        last_mod = self._mod_times[max(bisect.bisect_right(self._mod_times, t) - 1, 0)]
        current = self._transitions[k - 1]
        training_start = (
            self.training_start
            if self.training_start is not None and t >= self.training_start
            else None
        )
        training_seconds = billable = None
        if terminal and self.training_start is not None:
            training_seconds = max(
                _whole(self.terminal_at) - _whole(self.training_start), 1
            )
            billable = training_seconds
            if self._spot:
                billable = max(min(int(self._billable_at), training_seconds - 1), 1)
        progress = None
        if (
            self.progress is not None
            and current.status == "Training"
            and primary == "InProgress"
        ):
            total = self.progress.steps_per_epoch * self.progress.max_epoch
            fraction = (t - current.start) / current.nominal if current.nominal else 1
            step = min(int(fraction * total), total - 1)
            progress = (
                self.progress.steps_per_epoch,
                step % self.progress.steps_per_epoch,
                step // self.progress.steps_per_epoch + 1,
                self.progress.max_epoch,
            )
        metrics = None
        if terminal and primary == "Completed" and self.metrics:
            metric_time = float(_whole(self._last_training_end()))
            metrics = tuple((name, value, metric_time) for name, value in self.metrics)
        return JobState(
            primary=primary,
            secondary=current.status,
            transitions=tuple(views),
            last_modified=last_mod,
            training_start=training_start,
            training_end=self.terminal_at if terminal else None,
            training_seconds=training_seconds,
            billable_seconds=billable,
            failure_reason=self.failure_reason if primary == "Failed" else None,
            final_metrics=metrics,
            progress=progress,
        )

    def _last_training_end(self) -> float:
        for cur, nxt in reversed(list(itertools.pairwise(self._transitions))):
            if cur.status == "Training":
                return nxt.start
        return self.terminal_at


def _whole(t: float) -> int:
    """Whole seconds of *t* as the service counts them: at millisecond precision."""
    return math.floor(round(t, 3))


def _single(
    status: str, at: float, message: str, *, terminal: bool = False
) -> _Transition:
    return _Transition(status, at, (at,), (message,), 0.0, terminal)


def _training_offset(phases: tuple[Phase, ...]) -> float | None:
    """Seconds from creation to the first phase on the training instances."""
    at = 0.0
    for phase in phases:
        if phase.status not in _BEFORE_TRAINING:
            return at
        at += phase.duration
    return None


def _deadline(
    timeline: Timeline, created: float, limits: Mapping[str, object]
) -> tuple[float, StopReason] | None:
    """When and why the job's limits stop it, if they do before it ends.

    A limit outcome (``MaxRuntimeExceeded``, ``MaxWaitTimeExceeded``) runs on until
    a limit stops it, if the job has that limit; otherwise it ends as scripted.
    """
    natural = created + timeline.duration
    outcome = timeline.outcome
    own = outcome.reason if isinstance(outcome, Stopped) else None
    candidates: list[tuple[float, StopReason]] = []
    runtime = limits.get("MaxRuntimeInSeconds")
    offset = _training_offset(timeline.phases)
    if isinstance(runtime, int | float) and offset is not None:
        candidates.append((created + offset + runtime, "MaxRuntimeExceeded"))
    wait = limits.get("MaxWaitTimeInSeconds")
    if timeline.spot and isinstance(wait, int | float):
        candidates.append((created + wait, "MaxWaitTimeExceeded"))
    if not candidates:
        return None
    first = min(candidates)
    if first[0] < natural or own in {reason for _, reason in candidates}:
        return first
    return None


def _ending(
    timeline: Timeline,
    created: float,
    stop_at: float | None,
    limits: Mapping[str, object],
) -> tuple[float | None, float, Outcome, float | None]:
    """Where the phases are cut, the stopping time, the outcome, the primary stop."""
    deadline = _deadline(timeline, created, limits)
    stopping = timeline.stopping
    if deadline is not None and (stop_at is None or deadline[0] - stopping < stop_at):
        cut, stopping, outcome = _limit_stop(deadline, created, stopping)
        return cut, stopping, outcome, None
    if stop_at is not None:
        cut = stop_at + max(timeline.primary_lead, timeline.stop_ack)
        return cut, stopping, Stopped(reason="Stopped"), stop_at
    return None, stopping, timeline.outcome, None


def _limit_stop(
    deadline: tuple[float, StopReason], created: float, stopping: float
) -> tuple[float, float, Stopped]:
    """Where the ``Stopping`` transition starts, how long it lasts, and the outcome."""
    at, reason = deadline
    begin = max(at - stopping, created)
    return begin, at - begin, Stopped(reason=reason)


def _lay_out(
    phases: tuple[Phase, ...], created: float, cut: float | None
) -> tuple[list[_Transition], float]:
    """Place *phases* from *created*, dropping what starts at or after *cut*."""
    transitions: list[_Transition] = []
    at = created
    for phase in phases:
        if cut is not None and at >= cut and transitions:
            break
        n = max(len(phase.messages), 1)
        share = phase.duration / n
        times = tuple(at + i * share for i in range(n))
        messages = phase.messages or ("",)
        if cut is not None:
            kept = [i for i, t in enumerate(times) if t < cut] or [0]
            times = tuple(times[i] for i in kept)
            messages = tuple(messages[i] for i in kept)
        transitions.append(
            _Transition(phase.status, at, times, messages, phase.duration)
        )
        at += phase.duration
    return transitions, at


def _phase(status: str, duration: float, messages: tuple[str, ...]) -> Phase:
    return Phase(status=status, duration=duration, messages=messages)


def plain(
    *,
    starting: float = 120,
    downloading: float = 60,
    training: float = 1800,
    uploading: float = 30,
    primary_lead: float = 0.0,
) -> Timeline:
    """Starting → Downloading → Training → Uploading → Completed."""
    return Timeline(
        name="plain",
        phases=(
            _phase("Starting", starting, STARTING),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", training, TRAINING),
            _phase("Uploading", uploading, UPLOADING),
        ),
        primary_lead=primary_lead,
    )


def spot_interrupted_once(
    *,
    starting: float = 150,
    downloading: float = 60,
    training: float = 1200,
    interrupted: float = 600,
    uploading: float = 30,
    primary_lead: float = 0.0,
) -> Timeline:
    """Spot: … Training → Interrupted → Starting → Downloading → Training → … Completed.

    Starting → Downloading → Training → Interrupted → Starting → Downloading →
    Training → Uploading → Completed.
    """
    return Timeline(
        name="spot_interrupted_once",
        phases=(
            _phase("Starting", starting, STARTING),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", training / 2, TRAINING),
            _phase("Interrupted", interrupted, INTERRUPTED),
            _phase("Starting", starting, STARTING),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", training / 2, TRAINING),
            _phase("Uploading", uploading, UPLOADING),
        ),
        primary_lead=primary_lead,
        spot=True,
        max_runtime=7200,
        max_wait=14400,
    )


def spot_interrupted_twice_max_wait(
    *,
    starting: float = 150,
    downloading: float = 60,
    training: float = 900,
    interrupted: float = 900,
    primary_lead: float = 0.0,
) -> Timeline:
    """Spot: … Training → Interrupted → Starting → Training → Interrupted → Training → Stopping → MaxWaitTimeExceeded.

    ``MaxWaitTimeInSeconds`` is the scripted duration (phases plus stopping), and
    ``MaxRuntimeInSeconds`` equal to it, so the wait limit is what stops the job.
    """  # noqa: E501
    phases = (
        _phase("Starting", starting, STARTING),
        _phase("Downloading", downloading, DOWNLOADING),
        _phase("Training", training, TRAINING),
        _phase("Interrupted", interrupted, INTERRUPTED),
        _phase("Starting", starting, STARTING),
        _phase("Training", training, TRAINING),
        _phase("Interrupted", interrupted, INTERRUPTED),
        _phase("Training", training, TRAINING),
    )
    return Timeline(
        name="spot_interrupted_twice_max_wait",
        phases=phases,
        outcome=Stopped(reason="MaxWaitTimeExceeded"),
        primary_lead=primary_lead,
        spot=True,
    )


def spot_capacity_never(
    *, waiting: float = 3600, primary_lead: float = 0.0
) -> Timeline:
    """Spot with no capacity: Starting → Stopping → MaxWaitTimeExceeded.

    ``MaxWaitTimeInSeconds`` is *waiting* plus the 30 s of stopping.
    """
    return Timeline(
        name="spot_capacity_never",
        phases=(
            _phase(
                "Starting",
                waiting,
                (
                    "Launching requested ML instances",
                    (
                        "Insufficient capacity error from EC2 while launching "
                        "instances, retrying!"
                    ),
                ),
            ),
        ),
        outcome=Stopped(reason="MaxWaitTimeExceeded"),
        primary_lead=primary_lead,
        spot=True,
    )


def retry_restart(
    *,
    starting: float = 120,
    downloading: float = 60,
    training: float = 1200,
    restarting: float = 60,
    uploading: float = 30,
    primary_lead: float = 0.0,
) -> Timeline:
    """RetryStrategy: … Training → Restarting → Starting → Downloading → Training → … Completed."""  # noqa: E501
    return Timeline(
        name="retry_restart",
        phases=(
            _phase("Starting", starting, STARTING),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", training / 2, TRAINING),
            _phase("Restarting", restarting, RESTARTING),
            _phase("Starting", starting, STARTING),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", training, TRAINING),
            _phase("Uploading", uploading, UPLOADING),
        ),
        primary_lead=primary_lead,
        retry_attempts=2,
    )


def failure(
    *,
    starting: float = 120,
    downloading: float = 60,
    training: float = 300,
    failure_reason: str = FAILURE_REASON,
    primary_lead: float = 0.0,
) -> Timeline:
    """Starting → Downloading → Training → Failed, with an AlgorithmError reason."""
    return Timeline(
        name="failure",
        phases=(
            _phase("Starting", starting, STARTING),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", training, TRAINING),
        ),
        outcome=Failed(failure_reason=failure_reason),
        primary_lead=primary_lead,
    )


def max_runtime(
    *,
    starting: float = 120,
    downloading: float = 60,
    training: float = 3600,
    primary_lead: float = 0.0,
) -> Timeline:
    """Starting → Downloading → Training → Stopping → MaxRuntimeExceeded.

    ``MaxRuntimeInSeconds`` is *downloading* + *training* + the 30 s of stopping:
    the job is ``Stopped`` exactly that long after ``TrainingStartTime``.
    """
    return Timeline(
        name="max_runtime",
        phases=(
            _phase("Starting", starting, STARTING),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", training, TRAINING),
        ),
        outcome=Stopped(reason="MaxRuntimeExceeded"),
        primary_lead=primary_lead,
    )


def user_stop(
    *,
    starting: float = 120,
    downloading: float = 60,
    stop_after: float = 900,
    primary_lead: float = 0.0,
) -> Timeline:
    """A long training stopped by the user after *stop_after* seconds of training.

    Starting → Downloading → Training → Stopping → Stopped.
    """
    return Timeline(
        name="user_stop",
        phases=(
            _phase("Starting", starting, STARTING),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", stop_after, TRAINING),
        ),
        outcome=Stopped(reason="Stopped"),
        primary_lead=primary_lead,
    )


def unknown_status(
    *,
    starting: float = 120,
    unknown: float = 60,
    downloading: float = 60,
    training: float = 600,
    uploading: float = 30,
    status: str = "PreparingQuantumFlux",
    primary_lead: float = 0.0,
) -> Timeline:
    """A status nobody has heard of, in the history and as SecondaryStatus.

    Starting → PreparingQuantumFlux → Downloading → Training → Uploading → Completed.
    """
    return Timeline(
        name="unknown_status",
        phases=(
            _phase("Starting", starting, STARTING),
            _phase(status, unknown, ("Calibrating the flux capacitors",)),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", training, TRAINING),
            _phase("Uploading", uploading, UPLOADING),
        ),
        primary_lead=primary_lead,
    )


#: The ready-made timelines by name; call one (with keyword durations) for a Timeline.
TIMELINES: Mapping[str, Callable[..., Timeline]] = types.MappingProxyType(
    {
        "failure": failure,
        "max_runtime": max_runtime,
        "plain": plain,
        "retry_restart": retry_restart,
        "spot_capacity_never": spot_capacity_never,
        "spot_interrupted_once": spot_interrupted_once,
        "spot_interrupted_twice_max_wait": spot_interrupted_twice_max_wait,
        "unknown_status": unknown_status,
        "user_stop": user_stop,
    }
)
