"""Populations of realistic training jobs, with every parameter published.

A population is a recipe for drawing job timelines for the fake SageMaker: how long
each phase lasts, how jobs end, when failures and spot interruptions come, and
whether the job reports ``ProgressInfo``. The poll schedule's defaults are tuned on
``TUNING`` and checked on ``HELD_OUT``, which was written before the tuning and
differs in every parameter; ``NO_PROGRESS`` is ``TUNING`` with no job reporting
``ProgressInfo`` (today ``ProgressInfo`` comes from serverless training jobs only,
so most jobs look like this one).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from sagemaker_watch.testing import (
    Completed,
    Failed,
    Phase,
    ProgressScript,
    Stopped,
    Timeline,
)

if TYPE_CHECKING:
    import random

Range = tuple[float, float]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Population:
    """The parameters a population's jobs are drawn from (seconds unless named).

    Attributes:
        name: A label for reports.
        starting: ``Starting`` lasts uniformly within this range.
        downloading: ``Downloading`` lasts uniformly within this range.
        training_median: ``Training``'s planned length is log-normal with this median.
        training_sigma: ... and this shape (sigma of the underlying normal).
        training_range: ... clipped to this range.
        uploading: ``Uploading`` lasts uniformly within this range.
        tail: After the last step, before ``Uploading`` (a final evaluation,
            saving the model): uniformly within this range.
        spot: The share of jobs interrupted once (spot capacity reclaimed) at a
            uniform point of their training, then waiting ``interrupted``, then
            starting, downloading and training the rest again.
        interrupted: How long an interrupted job waits for capacity.
        failed: The share of jobs that fail during ``Training``.
        early_failures: Among failures, the share that fail within
            ``early_failure`` of entering ``Training`` (bad script, out of
            memory at the first batch); the others fail at a uniform point.
        early_failure: The window of early failures.
        user_stopped: The share of jobs stopped by a user at a uniform point of
            their training.
        max_runtime: The share of jobs stopped by their ``MaxRuntimeInSeconds``,
            set at a uniform 30-90 % of what they needed.
        progress: The share of jobs that report ``ProgressInfo``.
    """

    name: str
    starting: Range
    downloading: Range
    training_median: float
    training_sigma: float
    training_range: Range
    uploading: Range
    tail: Range
    spot: float
    interrupted: Range
    failed: float
    early_failures: float
    early_failure: Range
    user_stopped: float
    max_runtime: float
    progress: float

    def draw(self, rng: random.Random) -> Timeline:
        """Draw one job's timeline."""
        kind = rng.choices(
            ("spot", "failed", "user_stopped", "max_runtime", "completed"),
            weights=(
                self.spot,
                self.failed,
                self.user_stopped,
                self.max_runtime,
                1 - self.spot - self.failed - self.user_stopped - self.max_runtime,
            ),
        )[0]
        low, high = self.training_range
        training = min(
            max(
                self.training_median * math.exp(rng.gauss(0, self.training_sigma)), low
            ),
            high,
        )
        reports = rng.random() < self.progress
        progress = (
            ProgressScript(steps_per_epoch=500, max_epoch=10) if reports else None
        )
        before = self._lead_in(rng)
        tail = rng.uniform(*self.tail)
        if kind == "spot":
            at = rng.uniform(0.1, 0.9)
            phases = (
                *before,
                _training(training * at, (0.0, at)),
                Phase(status="Interrupted", duration=rng.uniform(*self.interrupted)),
                *self._lead_in(rng),
                _training(training * (1 - at) + tail, (at, 1.0), training * (1 - at)),
                Phase(status="Uploading", duration=rng.uniform(*self.uploading)),
            )
            return Timeline(name="spot", phases=phases, spot=True, progress=progress)
        if kind == "failed":
            if rng.random() < self.early_failures:
                at = min(rng.uniform(*self.early_failure), training) / training
            else:
                at = rng.random()
            return Timeline(
                name="failed",
                phases=(*before, _training(training * at, (0.0, at))),
                outcome=Failed(),
                progress=progress,
            )
        if kind in {"user_stopped", "max_runtime"}:
            at = (
                rng.uniform(0.1, 0.9)
                if kind == "user_stopped"
                else rng.uniform(0.3, 0.9)
            )
            reason = "Stopped" if kind == "user_stopped" else "MaxRuntimeExceeded"
            return Timeline(
                name=kind,
                phases=(*before, _training(training * at, (0.0, at))),
                outcome=Stopped(reason=reason),
                progress=progress,
            )
        return Timeline(
            name="completed",
            phases=(
                *before,
                _training(training + tail, (0.0, 1.0), training),
                Phase(status="Uploading", duration=rng.uniform(*self.uploading)),
            ),
            outcome=Completed(),
            progress=progress,
        )

    def _lead_in(self, rng: random.Random) -> tuple[Phase, Phase]:
        return (
            Phase(status="Starting", duration=rng.uniform(*self.starting)),
            Phase(status="Downloading", duration=rng.uniform(*self.downloading)),
        )


def _training(
    duration: float, progress: tuple[float, float], until: float | None = None
) -> Phase:
    return Phase(
        status="Training",
        duration=duration,
        messages=("Training image download completed. Training in progress.",),
        progress=progress,
        progress_until=until,
    )


#: Tuned on: the population issue 11 measured (its parameters, as filed).
TUNING = Population(
    name="tuning",
    starting=(60, 360),
    downloading=(5, 240),
    training_median=3600,
    training_sigma=1.0,
    training_range=(300, 43200),
    uploading=(5, 300),
    tail=(5, 120),
    spot=0.10,
    interrupted=(60, 1800),
    failed=0.10,
    early_failures=0.5,
    early_failure=(30, 600),
    user_stopped=0.03,
    max_runtime=0.03,
    progress=1.0,
)

#: Checked on, never tuned on: shorter and more varied jobs, slower starts and
#: downloads, more failures and more of them late, and fewer jobs reporting progress.
HELD_OUT = Population(
    name="held-out",
    starting=(30, 600),
    downloading=(5, 600),
    training_median=1200,
    training_sigma=1.3,
    training_range=(120, 86400),
    uploading=(5, 600),
    tail=(0, 300),
    spot=0.15,
    interrupted=(30, 3600),
    failed=0.12,
    early_failures=0.3,
    early_failure=(10, 300),
    user_stopped=0.05,
    max_runtime=0.05,
    progress=0.7,
)

#: ``TUNING`` with no job reporting ``ProgressInfo``: what most jobs look like today.
NO_PROGRESS = dataclasses.replace(TUNING, name="no ProgressInfo", progress=0.0)

POPULATIONS = (TUNING, HELD_OUT, NO_PROGRESS)
