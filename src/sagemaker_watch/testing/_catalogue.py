"""The ready-made timelines by name: common lifecycles with the service's messages."""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

from ._timelines import FAILURE_REASON, Failed, Phase, Stopped, Timeline

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

#: The ``StatusMessage`` values of each phase, as the service words them.
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
