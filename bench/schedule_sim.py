"""The poll schedule on a population, in simulated time, without HTTP.

Each job runs on the fake's service model (``SimulatedSageMaker``, the same one
the HTTP fake serves) and is watched by the same per-job engine ``watch()`` drives
(``JobTracker``): every answer is parsed into a ``Snapshot`` and fed to the tracker,
which says how long to wait. Only the wire is left out, so a schedule can be tried
on thousands of jobs in seconds; ``bench.latency`` confirms the chosen defaults
through ``watch()`` over real HTTP.

Fixed pollers need no simulation: a poller every *T* seconds from the job's
creation sees a change at *s* at ``ceil(s / T) * T``, so their figures are computed
from the same timelines' transition times.

Figures, per population and poller:

* calls per job-hour (job-hours from creation to the terminal status);
* transition delay: from a secondary status's start (as the service records it)
  to the poll that first shows it, over every status after the first;
* terminal delay: from the terminal transition's start to the poll that shows it.

Run: ``python -m bench.schedule_sim [--jobs 200] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import statistics
from typing import TYPE_CHECKING

from sagemaker_watch import PollSchedule
from sagemaker_watch._core.events import JobEnded, StatusEntered
from sagemaker_watch._core.snapshot import Snapshot
from sagemaker_watch._core.tracker import JobTracker
from sagemaker_watch.testing import ManualClock
from sagemaker_watch.testing._model import SimulatedSageMaker

from .populations import POPULATIONS, Population

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sagemaker_watch.testing import Timeline


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One drawn job, as the service recorded it.

    Attributes:
        timeline: What the job followed.
        created: Its creation time (simulated epoch seconds).
        starts: Every transition's start after the first, in order.
        terminal: The terminal transition's start.
    """

    timeline: Timeline
    created: float
    starts: tuple[float, ...]
    terminal: float

    @property
    def hours(self) -> float:
        """Job-hours from creation to the terminal status."""
        return (self.terminal - self.created) / 3600


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """One poller on one population."""

    poller: str
    calls: int
    hours: float
    transition: tuple[float, ...]
    terminal: tuple[float, ...]

    @property
    def calls_per_hour(self) -> float:
        """Describe calls per job-hour."""
        return self.calls / self.hours

    def figures(self) -> dict[str, float | str]:
        """The row a report shows."""
        return {
            "poller": self.poller,
            "calls_per_job_hour": round(self.calls_per_hour, 1),
            **_spread("terminal", self.terminal),
            **_spread("transition", self.transition),
        }


def _pct(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _spread(label: str, values: Iterable[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        f"{label}_p50": round(statistics.median(ordered), 1),
        f"{label}_p95": round(_pct(ordered, 0.95), 1),
        f"{label}_max": round(ordered[-1], 1),
    }


def draw(population: Population, jobs: int, seed: int) -> list[Timeline]:
    """Draw *jobs* timelines from *population*, reproducibly."""
    rng = random.Random(f"{population.name}/{seed}")
    return [population.draw(rng) for _ in range(jobs)]


def _service(timeline: Timeline) -> tuple[SimulatedSageMaker, ManualClock]:
    clock = ManualClock()
    service = SimulatedSageMaker(clock=clock, quotas={})
    service.add_job("job", timeline)
    return service, clock


def record(timeline: Timeline) -> Job:
    """Return when *timeline*'s transitions start, as the service records them."""
    service, clock = _service(timeline)
    created = clock.timestamp()
    clock.advance(10 * 86400 * 28)
    answer = service.describe_job("job")
    starts = tuple(float(t["StartTime"]) for t in answer["SecondaryStatusTransitions"])
    return Job(
        timeline=timeline, created=created, starts=starts[1:], terminal=starts[-1]
    )


def watch(
    job: Job, schedule: PollSchedule, seed: int
) -> tuple[int, list[float], float]:
    """Watch *job* with *schedule*: calls, transition delays, terminal delay."""
    service, clock = _service(job.timeline)
    tracker = JobTracker("job", schedule=schedule, rng=random.Random(seed))
    calls = 0
    delays: list[float] = []
    terminal = math.nan
    while True:
        calls += 1
        snapshot = Snapshot.from_response(
            service.describe_job("job"), observed_at=clock.now()
        )
        step = tracker.snapshot(snapshot, now=clock.monotonic())
        now = clock.timestamp()
        for event in step.events:
            if isinstance(event, StatusEntered) and event.previous_status is not None:
                delays.append(now - event.started_at.timestamp())
            if isinstance(event, JobEnded):
                terminal = now - snapshot.transitions[-1].started_at.timestamp()
        if step.delay is None:
            return calls, delays, terminal
        clock.advance(step.delay)


def run_schedule(
    label: str, schedule: PollSchedule, jobs: Sequence[Job], seed: int = 0
) -> Result:
    """Watch every job with *schedule*."""
    calls = 0
    transition: list[float] = []
    terminal: list[float] = []
    for i, job in enumerate(jobs):
        n, delays, end = watch(job, schedule, seed * 1_000_003 + i)
        calls += n
        transition += delays
        terminal.append(end)
    return Result(
        poller=label,
        calls=calls,
        hours=sum(job.hours for job in jobs),
        transition=tuple(transition),
        terminal=tuple(terminal),
    )


def run_fixed(interval: float, jobs: Sequence[Job]) -> Result:
    """A poller every *interval* seconds from each job's creation, computed."""
    calls = 0
    transition: list[float] = []
    terminal: list[float] = []
    for job in jobs:

        def seen(start: float, created: float = job.created) -> float:
            return math.ceil((start - created) / interval - 1e-9) * interval + created

        calls += math.ceil((job.terminal - job.created) / interval - 1e-9) + 1
        transition += [seen(s) - s for s in job.starts]
        terminal.append(seen(job.terminal) - job.terminal)
    return Result(
        poller=f"fixed {interval:.1f} s",
        calls=calls,
        hours=sum(job.hours for job in jobs),
        transition=tuple(transition),
        terminal=tuple(terminal),
    )


def fixed_at(calls: int, jobs: Sequence[Job]) -> Result:
    """The fixed poller making as many calls as *calls* (the interval solved for)."""
    low, high = 0.05, 3600.0
    for _ in range(60):
        mid = math.sqrt(low * high)
        if run_fixed(mid, jobs).calls > calls:
            low = mid
        else:
            high = mid
    return run_fixed(high, jobs)


def main(argv: list[str] | None = None) -> None:
    """Print each population's figures for today's schedule and fixed pollers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for population in POPULATIONS:
        jobs = [record(t) for t in draw(population, args.jobs, args.seed)]
        ours = run_schedule("default", PollSchedule(), jobs, args.seed)
        print(f"== {population.name}")
        for result in (ours, fixed_at(ours.calls, jobs)):
            print(result.figures())


if __name__ == "__main__":
    main()
