"""Watch Amazon SageMaker training jobs from async Python.

Typed events, exactly once and in order, and waiters that say why a job ended::

    import sagemaker_watch as sw

    snapshot = await sw.wait_until_complete("my-job")

    async for event in sw.watch("my-job"):
        print(event.to_json())
"""

from __future__ import annotations

from importlib.metadata import version as _version

from ._core.diff import DiffResult, ResumeCursor, diff, diff_with_anomalies
from ._core.events import (
    JSON,
    Event,
    Interrupted,
    JobCompleted,
    JobEnded,
    JobFailed,
    JobLost,
    JobObserved,
    JobStopped,
    PrimaryStatusChanged,
    ProgressChanged,
    StatusEntered,
    StatusMessageChanged,
)
from ._core.names import validate_job_name
from ._core.schedule import PollSchedule, PollState, next_delay
from ._core.snapshot import (
    JobIdentity,
    Metric,
    Progress,
    Snapshot,
    Transition,
    UsageError,
)
from ._core.status import (
    INTERRUPTION_STATUSES,
    SHORT_PHASES,
    TERMINAL_STATUSES,
    PrimaryStatus,
    SecondaryStatus,
)
from ._drivers.fleet import FleetEvent, FleetStatistics, FleetWatcher
from ._drivers.waiters import (
    raise_for_outcome,
    wait_for_status,
    wait_until_complete,
    wait_until_terminal,
)
from ._drivers.watch import Watch, watch
from ._errors import (
    InvalidClient,
    InvalidJobName,
    InvalidResumeToken,
    JobRemoved,
    JobReplaced,
    MalformedResponse,
    RetriesExhausted,
    SageMakerWatchError,
    ServiceError,
    StatusNotReached,
    TrainingJobEnded,
    TrainingJobFailed,
    TrainingJobNotFound,
    TrainingJobStopped,
    UnsupportedEventLoop,
    WaitTimeout,
)
from ._io.clock import Clock, SystemClock
from ._io.retry import RetryPolicy
from ._io.source import sagemaker_client

__version__ = _version("sagemaker-watch")

__all__ = [
    "INTERRUPTION_STATUSES",
    "JSON",
    "SHORT_PHASES",
    "TERMINAL_STATUSES",
    "Clock",
    "DiffResult",
    "Event",
    "FleetEvent",
    "FleetStatistics",
    "FleetWatcher",
    "Interrupted",
    "InvalidClient",
    "InvalidJobName",
    "InvalidResumeToken",
    "JobCompleted",
    "JobEnded",
    "JobFailed",
    "JobIdentity",
    "JobLost",
    "JobObserved",
    "JobRemoved",
    "JobReplaced",
    "JobStopped",
    "MalformedResponse",
    "Metric",
    "PollSchedule",
    "PollState",
    "PrimaryStatus",
    "PrimaryStatusChanged",
    "Progress",
    "ProgressChanged",
    "ResumeCursor",
    "RetriesExhausted",
    "RetryPolicy",
    "SageMakerWatchError",
    "SecondaryStatus",
    "ServiceError",
    "Snapshot",
    "StatusEntered",
    "StatusMessageChanged",
    "StatusNotReached",
    "SystemClock",
    "TrainingJobEnded",
    "TrainingJobFailed",
    "TrainingJobNotFound",
    "TrainingJobStopped",
    "Transition",
    "UnsupportedEventLoop",
    "UsageError",
    "WaitTimeout",
    "Watch",
    "__version__",
    "diff",
    "diff_with_anomalies",
    "next_delay",
    "raise_for_outcome",
    "sagemaker_client",
    "validate_job_name",
    "wait_for_status",
    "wait_until_complete",
    "wait_until_terminal",
    "watch",
]
