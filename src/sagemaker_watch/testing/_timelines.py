"""Scripted training job lifecycles: phases, an outcome, and ready-made timelines."""

from __future__ import annotations

import bisect
import itertools
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

STARTING = ("Launching requested ML instances", "Preparing the instances for training")
DOWNLOADING = ("Downloading input data", "Downloading the training image")
TRAINING = ("Training image download completed. Training in progress.",)
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Stopped:
    """The job is stopped: a ``Stopping`` transition, then one named for *reason*.

    The primary status goes ``Stopping`` then ``Stopped``.

    Attributes:
        reason: The last transition's status.
    """

    reason: Literal["Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"] = "Stopped"


Outcome = Completed | Failed | Stopped


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
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
            stopped one, for stopped outcomes and for stops by the user.
        spot: Whether the job defaults to ``EnableManagedSpotTraining``.
        max_runtime: Default ``StoppingCondition.MaxRuntimeInSeconds``.
        max_wait: Default ``StoppingCondition.MaxWaitTimeInSeconds`` (spot only).
        retry_attempts: Default ``RetryStrategy.MaximumRetryAttempts``, if any.
        progress: How ``ProgressInfo`` counts during training, or ``None``.
    """

    name: str = "custom"
    phases: tuple[Phase, ...]
    outcome: Outcome = field(default_factory=Completed)
    primary_lead: float = 0.0
    stopping: float = 30.0
    spot: bool = False
    max_runtime: int = 86400
    max_wait: int | None = None
    retry_attempts: int | None = None
    progress: Progress | None = field(default_factory=Progress)

    def __post_init__(self) -> None:
        """Reject an empty script and negative leads."""
        if not self.phases:
            raise ValueError("a timeline needs at least one phase")
        if self.primary_lead < 0 or self.stopping < 0:
            raise ValueError("primary_lead and stopping cannot be negative")

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
        self, timeline: Timeline, *, created: float, stop_at: float | None = None
    ) -> None:
        """Lay *timeline* out from *created*; a user stop at *stop_at* cuts it short."""
        self.created = created
        self.stopped_by_user = stop_at is not None
        self.progress = timeline.progress
        self._spot = timeline.spot
        cut = None if stop_at is None else stop_at + timeline.primary_lead
        transitions, at = _lay_out(timeline.phases, created, cut)
        outcome: Outcome = timeline.outcome
        lead = timeline.primary_lead
        primary: list[tuple[float, str]] = [(created, "InProgress")]
        self.failure_reason: str | None = None
        self.metrics: tuple[tuple[str, float], ...] = ()
        if stop_at is not None and cut is not None:
            outcome = Stopped(reason="Stopped")
            at = cut
        else:
            lead = min(lead, timeline.phases[-1].duration)
        end_phases = at
        if isinstance(outcome, Stopped):
            final_at = at + timeline.stopping
            message = STOPPED_MESSAGES[outcome.reason]
            transitions.append(_single("Stopping", at, STOPPING_MESSAGE))
            transitions.append(
                _single(outcome.reason, final_at, message, terminal=True)
            )
            primary += [(at - lead, "Stopping"), (final_at - lead, "Stopped")]
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
            training_seconds = max(int(self.terminal_at - self.training_start), 1)
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
            metric_time = self._last_training_end()
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


def _single(
    status: str, at: float, message: str, *, terminal: bool = False
) -> _Transition:
    return _Transition(status, at, (at,), (message,), 0.0, terminal)


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
    """Spot: … Training → Interrupted → Starting → Training → Interrupted → Training → Stopping → MaxWaitTimeExceeded."""  # noqa: E501
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
        max_runtime=3600,
        max_wait=int(sum(phase.duration for phase in phases)),
    )


def spot_capacity_never(
    *, waiting: float = 3600, primary_lead: float = 0.0
) -> Timeline:
    """Spot with no capacity: Starting → Stopping → MaxWaitTimeExceeded."""
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
        max_runtime=int(waiting),
        max_wait=int(waiting),
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
    """Starting → Downloading → Training → Stopping → MaxRuntimeExceeded."""
    return Timeline(
        name="max_runtime",
        phases=(
            _phase("Starting", starting, STARTING),
            _phase("Downloading", downloading, DOWNLOADING),
            _phase("Training", training, TRAINING),
        ),
        outcome=Stopped(reason="MaxRuntimeExceeded"),
        primary_lead=primary_lead,
        max_runtime=int(downloading + training),
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
