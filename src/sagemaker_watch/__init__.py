"""Watch Amazon SageMaker training jobs from async Python.

Typed events, exactly once and in order, and waiters that say why a job ended::

    import sagemaker_watch as sw

    snapshot = await sw.wait_until_complete("my-job")

    async with sw.watch("my-job") as events:
        async for event in events:
            print(event.to_json())

The surface: the ways in (``watch``, ``Watch``, three ``wait_*`` functions, one
keyword set), the fleet (``FleetWatcher``), the settings (``PollSchedule``,
``RetryPolicy``, ``Clock``, ``sagemaker_client``, ``SqsHints``), training logs
(``logs``, ``Logs``, ``CloudWatchLogs``, ``LogLine``), what users receive
(``Snapshot`` and its parts, the two status enums, the events) and the one
exception tree.

The drivers, ``sagemaker_client`` and ``Clock`` load on first use, so that
``import sagemaker_watch`` loads no botocore, aiohttp or structlog.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING

from ._core.events import (
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
from ._core.log_reader import LogLine, LogReaderStatistics
from ._core.schedule import PollSchedule
from ._core.snapshot import Metric, Progress, Snapshot, Transition
from ._core.status import PrimaryStatus, SecondaryStatus
from ._core.tracker import RetryPolicy
from ._errors import (
    AccessDenied,
    ConfigurationError,
    CredentialsError,
    CredentialsRejected,
    EndpointUnreachable,
    InvalidClient,
    InvalidEndpoint,
    InvalidJobName,
    InvalidResumeToken,
    JobRemoved,
    JobReplaced,
    MalformedResponse,
    NoRegion,
    NotSageMaker,
    ProfileNotFound,
    RetriesExhausted,
    SageMakerWatchError,
    ServiceError,
    StatusNotReached,
    TrainingJobEnded,
    TrainingJobFailed,
    TrainingJobNotFound,
    TrainingJobStopped,
    UnsupportedEventLoop,
    UsageError,
    WaitTimeout,
)

if TYPE_CHECKING:
    from . import blocking as blocking  # the submodule, loaded on first use
    from ._drivers.fleet import FleetLogStatistics, FleetStatistics, FleetWatcher
    from ._drivers.hints import HintStatistics, SqsHints
    from ._drivers.logs import CloudWatchLogs, Logs, logs
    from ._drivers.waiters import (
        wait_for_status,
        wait_until_complete,
        wait_until_terminal,
    )
    from ._drivers.watch import Watch, watch
    from ._io.client import sagemaker_client
    from ._io.clock import Clock

    __version__: str

__all__ = [
    "AccessDenied",
    "Clock",
    "CloudWatchLogs",
    "ConfigurationError",
    "CredentialsError",
    "CredentialsRejected",
    "EndpointUnreachable",
    "Event",
    "FleetLogStatistics",
    "FleetStatistics",
    "FleetWatcher",
    "HintStatistics",
    "Interrupted",
    "InvalidClient",
    "InvalidEndpoint",
    "InvalidJobName",
    "InvalidResumeToken",
    "JobCompleted",
    "JobEnded",
    "JobFailed",
    "JobLost",
    "JobObserved",
    "JobRemoved",
    "JobReplaced",
    "JobStopped",
    "LogLine",
    "LogReaderStatistics",
    "Logs",
    "MalformedResponse",
    "Metric",
    "NoRegion",
    "NotSageMaker",
    "PollSchedule",
    "PrimaryStatus",
    "PrimaryStatusChanged",
    "ProfileNotFound",
    "Progress",
    "ProgressChanged",
    "RetriesExhausted",
    "RetryPolicy",
    "SageMakerWatchError",
    "SecondaryStatus",
    "ServiceError",
    "Snapshot",
    "SqsHints",
    "StatusEntered",
    "StatusMessageChanged",
    "StatusNotReached",
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
    "logs",
    "sagemaker_client",
    "wait_for_status",
    "wait_until_complete",
    "wait_until_terminal",
    "watch",
]

_SCHEDULE = "the schedule is internal: configure it with sagemaker_watch.PollSchedule"
_DIFF = "diffing is internal: watch() yields the events a diff finds"

#: Names that left ``__all__``: where each still lives, and what to use instead.
_DEPRECATED: dict[str, tuple[str, str, str]] = {
    "DiffResult": ("._core.diff", "DiffResult", _DIFF),
    "FleetEvent": (
        "._core.events",
        "Event",
        "use sagemaker_watch.Event, the same class",
    ),
    "INTERRUPTION_STATUSES": (
        "._core.status",
        "INTERRUPTION_STATUSES",
        "use Snapshot.interruptions, or match sagemaker_watch.Interrupted events",
    ),
    "JSON": (
        "._core.events",
        "JSON",
        "annotate what Event.to_json() returns as Mapping[str, object]",
    ),
    "JobIdentity": (
        "._core.snapshot",
        "JobIdentity",
        "use Snapshot.identity (its job_arn and creation_time)",
    ),
    "PollState": ("._core.schedule", "PollState", _SCHEDULE),
    "ResumeCursor": (
        "._core.diff",
        "ResumeCursor",
        "pass an event's resume_token as resume=",
    ),
    "SHORT_PHASES": ("._core.status", "SHORT_PHASES", _SCHEDULE),
    "SystemClock": (
        "._io.clock",
        "SystemClock",
        (
            "leave out clock= (the system clock is the default), or implement "
            "sagemaker_watch.Clock"
        ),
    ),
    "TERMINAL_STATUSES": (
        "._core.status",
        "TERMINAL_STATUSES",
        "use Snapshot.is_terminal or Snapshot.outcome",
    ),
    "diff": ("._core.diff", "diff", _DIFF),
    "diff_with_anomalies": ("._core.diff", "diff_with_anomalies", _DIFF),
    "next_delay": ("._core.schedule", "next_delay", _SCHEDULE),
    "raise_for_outcome": (
        "._drivers.waiters",
        "raise_for_outcome",
        "use Snapshot.raise_for_outcome(), which returns the snapshot it checked",
    ),
    "validate_job_name": (
        "._core.names",
        "validate_job_name",
        (
            "watch() and the waiters check the name and raise InvalidJobName "
            "before any request"
        ),
    ),
}

#: Names loaded on first use, with the module defining each: the drivers and the
#: client bring aiobotocore, aiohttp and botocore, which ``import sagemaker_watch``
#: alone should not pay for.
_LAZY: dict[str, str] = {
    "Clock": "._io.clock",
    "CloudWatchLogs": "._drivers.logs",
    "Logs": "._drivers.logs",
    "logs": "._drivers.logs",
    "FleetLogStatistics": "._drivers.fleet",
    "FleetStatistics": "._drivers.fleet",
    "FleetWatcher": "._drivers.fleet",
    "HintStatistics": "._drivers.hints",
    "SqsHints": "._drivers.hints",
    "Watch": "._drivers.watch",
    "sagemaker_client": "._io.client",
    "wait_for_status": "._drivers.waiters",
    "wait_until_complete": "._drivers.waiters",
    "wait_until_terminal": "._drivers.waiters",
    "watch": "._drivers.watch",
}


def __dir__() -> list[str]:
    """The module's names, with the public ones not loaded yet."""
    return sorted({*globals(), *__all__, "blocking"})


if not TYPE_CHECKING:  # type checkers see the imports above; removed names: missing

    def __getattr__(name: str) -> object:
        """Load a public name on first use, or return a removed one with a warning.

        A public name is cached in the module once loaded. A name that left
        ``__all__`` warns ``DeprecationWarning`` on every access.
        """
        if name in _LAZY:
            value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        elif name == "blocking":  # the submodule (importing it binds it here too)
            value = importlib.import_module(".blocking", __name__)
        elif name == "__version__":
            from importlib.metadata import version  # noqa: PLC0415 - 35 ms, on use

            value = version("sagemaker-watch")
        elif name in _DEPRECATED:
            module, attribute, advice = _DEPRECATED[name]
            warnings.warn(
                f"sagemaker_watch.{name} is deprecated and will be removed in the "
                f"next release: {advice}",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(importlib.import_module(module, __name__), attribute)
        else:
            msg = f"module {__name__!r} has no attribute {name!r}"
            raise AttributeError(msg)
        globals()[name] = value
        return value
