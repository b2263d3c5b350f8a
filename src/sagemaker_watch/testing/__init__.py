"""An embedded fake Amazon SageMaker for testing code that watches training jobs.

Two layers: :class:`SimulatedSageMaker`, the pure simulated service (jobs,
timelines, listing, quotas, and the EventBridge state-change events it publishes
into :class:`SimulatedQueue` s), and :class:`FakeSageMaker`, which serves it over
real HTTP (SageMaker's, SQS's and CloudWatch Logs' JSON protocols) with fault
injection. Every job writes training logs as its :class:`LogScript` says.
"""

from __future__ import annotations

import warnings

from ._catalogue import (
    TIMELINES,
    failure,
    max_runtime,
    plain,
    retry_restart,
    spot_capacity_never,
    spot_interrupted_once,
    spot_interrupted_twice_max_wait,
    unknown_status,
    user_stop,
)
from ._clocks import ManualClock, ScaledClock
from ._errors import ApiError
from ._eventbridge import EventStatistics
from ._faults import EVENT_FAULT_SCENARIOS, FAULT_SCENARIOS, Fault
from ._logs import WrittenLine
from ._model import SimulatedSageMaker
from ._quotas import DEFAULT_QUOTAS, FakeStatistics, Quota
from ._server import FakeSageMaker
from ._sqs import SimulatedQueue
from ._timelines import (
    Completed,
    Failed,
    LogScript,
    Phase,
    ProgressScript,
    Stopped,
    Timeline,
)
from ._validation import TIMELINE_TAG

__all__ = [
    "DEFAULT_QUOTAS",
    "EVENT_FAULT_SCENARIOS",
    "FAULT_SCENARIOS",
    "TIMELINES",
    "TIMELINE_TAG",
    "ApiError",
    "Completed",
    "EventStatistics",
    "Failed",
    "FakeSageMaker",
    "FakeStatistics",
    "Fault",
    "LogScript",
    "ManualClock",
    "Phase",
    "ProgressScript",
    "Quota",
    "ScaledClock",
    "SimulatedQueue",
    "SimulatedSageMaker",
    "Stopped",
    "Timeline",
    "WrittenLine",
    "failure",
    "max_runtime",
    "plain",
    "retry_restart",
    "spot_capacity_never",
    "spot_interrupted_once",
    "spot_interrupted_twice_max_wait",
    "unknown_status",
    "user_stop",
]

_DEPRECATED = {"Progress": ("ProgressScript", ProgressScript)}


def __getattr__(name: str) -> object:
    """Resolve deprecated names, warning with :class:`DeprecationWarning`."""
    if name in _DEPRECATED:
        new_name, value = _DEPRECATED[name]
        warnings.warn(
            f"sagemaker_watch.testing.{name} is deprecated; use {new_name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
