"""Scripted training job lifecycles: phases, an outcome, the limits a job runs under.

A :class:`Timeline` is the script a simulated job follows; ``_plan`` lays it out in
simulated time and ``_catalogue`` holds the ready-made ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

#: Secondary statuses before any instance runs the algorithm (no TrainingStartTime yet).
BEFORE_TRAINING = frozenset(
    {"Starting", "Pending", "LaunchingMLInstances", "PreparingTrainingStack"}
)
#: Secondary statuses during which no training container runs: a container start is
#: the first other phase after one of these (after ``Starting``, after an
#: ``Interrupted`` spot job or a ``Restarting`` retry).
CONTAINER_DOWN = BEFORE_TRAINING | {"Interrupted", "Restarting", "Stopping"}
#: The ``FailureReason`` of a :class:`Failed` outcome unless told otherwise.
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
        progress: For a ``Training`` phase of a timeline with a
            :class:`ProgressScript`: the share of the job's steps done when the
            phase begins and when its steps end; ``ProgressInfo`` climbs linearly
            between them. ``(0.0, 1.0)`` by default: the whole job in this phase.
            A phase cut short (by a failure, an interruption or a stop) is
            described by a lower end: ``(0.0, 0.4)`` fails at 40 %.
        progress_until: Seconds into the phase at which the steps reach
            ``progress[1]`` (the phase's end by default); the rest of the phase
            is the tail after the last step (a final evaluation, saving the
            model), during which ``ProgressInfo`` stays at the last step.
    """

    status: str
    duration: float
    messages: tuple[str, ...] = ()
    progress: tuple[float, float] = (0.0, 1.0)
    progress_until: float | None = None

    def __post_init__(self) -> None:
        """Reject negative durations and progress outside ``0 <= begin <= end <= 1``."""
        if self.duration < 0:
            raise ValueError("a phase cannot last a negative time")
        begin, end = self.progress
        if not 0 <= begin <= end <= 1:
            msg = "progress must be (begin, end) with 0 <= begin <= end <= 1"
            raise ValueError(msg)
        if self.progress_until is not None and self.progress_until < 0:
            raise ValueError("progress_until cannot be negative")


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
class LogScript:
    """What a job's training containers write to CloudWatch Logs, and when it arrives.

    Each container start (the first phase on the instances after ``Starting``,
    and again after an ``Interrupted`` spot job or a ``Restarting`` retry) opens
    one log stream per host, ``JOB/algo-N-EPOCH``, in the log group
    ``/aws/sagemaker/TrainingJobs``. While the container runs, each host writes
    a line every *interval* seconds; lines reach the service in batches, as the
    CloudWatch agent sends them. Everything is seeded by the fake's seed: the
    same job on the same timeline writes the same lines, ingested at the same
    instants.

    Attributes:
        hosts: Hosts writing (``algo-1`` ...); ``None``: the request's
            ``ResourceConfig.InstanceCount`` (1 by default).
        interval: Simulated seconds between one host's writes.
        batch: Seconds of lines one ingestion batch of a host covers.
        ingestion_delay: ``(low, high)``: each batch reaches the service a
            seeded uniform delay after its last second (or after the container
            stops, for the last batch).
        late: The share of batches ingested 60 to 300 s late (out of order: a
            later batch of the same stream may arrive first), but no later
            than the container's stop plus *ingestion_delay*'s high end: the
            agent flushes what is left when the container stops.
        stream_delay: Seconds after a container start before its streams exist;
            lines ingested earlier become visible when their stream appears.
        burst: Lines written at each write, at the same millisecond: with
            ``burst > 1`` equal timestamps occur, and from 3 on, equal lines too.
    """

    hosts: int | None = None
    interval: float = 20.0
    batch: float = 5.0
    ingestion_delay: tuple[float, float] = (0.5, 2.0)
    late: float = 0.0
    stream_delay: float = 0.0
    burst: int = 1

    def __post_init__(self) -> None:
        """Reject empty writes, negative delays and shares outside ``[0, 1]``."""
        if self.hosts is not None and self.hosts < 1:
            raise ValueError("hosts must be at least 1")
        if self.interval <= 0 or self.batch <= 0:
            raise ValueError("interval and batch must be positive")
        low, high = self.ingestion_delay
        if not 0 <= low <= high:
            msg = "ingestion_delay must be (low, high) with 0 <= low <= high"
            raise ValueError(msg)
        if not 0 <= self.late <= 1:
            raise ValueError("late must be between 0 and 1")
        if self.stream_delay < 0:
            raise ValueError("stream_delay cannot be negative")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")


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
        logs: What the job's hosts write to CloudWatch Logs, or ``None`` for
            no logs at all.
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
    logs: LogScript | None = field(default_factory=LogScript)

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
        training_start = training_offset(self.phases)
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


def training_offset(phases: tuple[Phase, ...]) -> float | None:
    """Seconds from creation to the first phase on the training instances."""
    at = 0.0
    for phase in phases:
        if phase.status not in BEFORE_TRAINING:
            return at
        at += phase.duration
    return None
