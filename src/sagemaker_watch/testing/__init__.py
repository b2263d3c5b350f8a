"""An embedded fake Amazon SageMaker for testing code that watches training jobs."""

from __future__ import annotations

from ._clocks import ManualClock, ScaledClock
from ._faults import DEFAULT_QUOTAS, FAULT_SCENARIOS, FakeStatistics, Fault, Quota
from ._server import TIMELINE_TAG, FakeSageMaker
from ._timelines import (
    TIMELINES,
    Completed,
    Failed,
    Phase,
    Progress,
    Stopped,
    Timeline,
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

__all__ = [
    "DEFAULT_QUOTAS",
    "FAULT_SCENARIOS",
    "TIMELINES",
    "TIMELINE_TAG",
    "Completed",
    "Failed",
    "FakeSageMaker",
    "FakeStatistics",
    "Fault",
    "ManualClock",
    "Phase",
    "Progress",
    "Quota",
    "ScaledClock",
    "Stopped",
    "Timeline",
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
