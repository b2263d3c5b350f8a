"""Realistic job timelines: phase lengths drawn around the documented lifecycles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagemaker_watch.testing import (
    Timeline,
    failure,
    max_runtime,
    plain,
    retry_restart,
    spot_interrupted_once,
    user_stop,
)

if TYPE_CHECKING:
    import random

#: The share of each outcome in a realistic fleet.
MIX = (
    ("plain", 0.70),
    ("spot_interrupted_once", 0.10),
    ("failure", 0.08),
    ("user_stop", 0.05),
    ("max_runtime", 0.04),
    ("retry_restart", 0.03),
)


def draw(rng: random.Random, *, training_median: float = 1800.0) -> Timeline:
    """Draw a timeline: Starting 1-5 min, Downloading 0.5-5 min, Training log-normal."""
    kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
    starting = rng.uniform(60, 300)
    downloading = rng.uniform(30, 300)
    training = min(max(rng.lognormvariate(0, 0.8) * training_median, 300), 14400)
    uploading = rng.uniform(20, 120)
    if kind == "plain":
        return plain(
            starting=starting,
            downloading=downloading,
            training=training,
            uploading=uploading,
        )
    if kind == "spot_interrupted_once":
        return spot_interrupted_once(
            starting=starting,
            downloading=downloading,
            training=training,
            interrupted=rng.uniform(120, 1800),
            uploading=uploading,
        )
    if kind == "failure":
        return failure(
            starting=starting, downloading=downloading, training=training / 3
        )
    if kind == "user_stop":
        return user_stop(
            starting=starting, downloading=downloading, stop_after=training / 2
        )
    if kind == "max_runtime":
        return max_runtime(
            starting=starting, downloading=downloading, training=training
        )
    return retry_restart(
        starting=starting,
        downloading=downloading,
        training=training,
        restarting=rng.uniform(30, 300),
        uploading=uploading,
    )
