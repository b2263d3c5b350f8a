"""Benchmark 2: one FleetWatcher against per-job pollers, at fleet scale, quotas on.

Each configuration runs in a fresh subprocess (``python -m bench.fleet``) so that
CPU time and peak RSS belong to it alone. The fake SageMaker runs in that same
subprocess, so the CPU figures include the fake's server: an upper bound for the
library.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from typing import Any

import anyio

import sagemaker_watch as sw
from sagemaker_watch._drivers.fleet import FleetWatcher, JobLost
from sagemaker_watch.testing import FakeSageMaker, ManualClock, ScaledClock

from ._timelines import draw

#: The fake's quotas, on simulated time (DescribeTrainingJob's is our assumption).
DESCRIBE_QUOTA = 20.0
LIST_QUOTA = 2.0


def _fake(clock: ManualClock | ScaledClock) -> FakeSageMaker:
    fake = FakeSageMaker(clock=clock)
    fake.set_quota(
        "DescribeTrainingJob", per_second=DESCRIBE_QUOTA, burst=DESCRIBE_QUOTA
    )
    fake.set_quota("ListTrainingJobs", per_second=LIST_QUOTA, burst=LIST_QUOTA)
    return fake


class _ModelCpu:
    """Counts the CPU the fake's simulated service spends answering requests.

    The fake runs in the benchmark's process, so its work is in the process's CPU
    time; this wraps ``fake.service.answer`` (the model: listing, paging, quotas)
    so that the library's share can be told apart. The fake's HTTP server is not
    counted here: what remains is an upper bound for the library.
    """

    def __init__(self, fake: FakeSageMaker) -> None:
        self.seconds = 0.0
        service = fake.service
        answer = service.answer

        def timed(operation: str, request: Any) -> Any:  # noqa: ANN401 - JSON
            cpu0 = time.process_time()
            try:
                return answer(operation, request)
            finally:
                self.seconds += time.process_time() - cpu0

        service.answer = timed  # type: ignore[method-assign]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def fleet(jobs: int, duration: float, seed: int) -> dict[str, Any]:
    """Watch *jobs* jobs for *duration* simulated seconds with one FleetWatcher."""
    rng = random.Random(seed)
    async with _fake(ManualClock()) as fake, fake.client() as client:
        names = [f"job-{i:05d}" for i in range(jobs)]
        for name in names:
            fake.add_job(name, draw(rng))
        model = _ModelCpu(fake)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        warmup = jobs / 10.0 + 60
        samples: list[float] = []
        transitions = lost = 0
        next_sample = warmup
        async with FleetWatcher(
            client=client, clock=fake.clock, max_in_flight=1, seed=seed
        ) as watcher:
            for name in names:
                watcher.add(name)
            async for item in watcher:
                if isinstance(item, JobLost):
                    lost += 1
                elif isinstance(item, sw.StatusEntered):
                    transitions += 1
                now = fake.clock.monotonic()
                if now >= next_sample:
                    samples.append(watcher.statistics().staleness_p95)
                    next_sample = now + 60
                if now >= duration:
                    break
            stats = watcher.statistics()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        elapsed = fake.clock.monotonic()
        received = fake.statistics()
    return {
        "poller": "FleetWatcher (defaults)",
        "jobs": jobs,
        "simulated_seconds": round(elapsed),
        "wall_seconds": round(wall, 1),
        "cpu_share_of_one_core": cpu / elapsed,
        "fake_model_cpu_share": model.seconds / elapsed,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "staleness_p95_steady": _pct(samples, 0.5),
        "staleness_p95_end": stats.staleness_p95,
        "describe_calls": received.requests.get("DescribeTrainingJob", 0),
        "transitions_seen": transitions,
        "describe_calls_per_transition": received.requests.get("DescribeTrainingJob", 0)
        / max(transitions, 1),
        "list_calls_per_second": received.requests.get("ListTrainingJobs", 0) / elapsed,
        "throttled_by_service": sum(received.throttled.values()),
        "throttling_errors_surfaced": lost,
        "jobs_finished": stats.finished,
    }


async def independent(
    jobs: int, duration: float, seed: int, speed: float
) -> dict[str, Any]:
    """Watch *jobs* jobs with one ``sw.watch`` each at a fixed 30 s, one client."""
    rng = random.Random(seed)
    clock = ScaledClock(speed=speed)
    surfaced: dict[str, int] = {}
    transitions = 0
    async with _fake(clock) as fake, fake.client() as client:
        names = [f"job-{i:05d}" for i in range(jobs)]
        for name in names:
            fake.add_job(name, draw(rng))
        model = _ModelCpu(fake)
        cpu0, wall0 = time.process_time(), time.perf_counter()

        async def one(name: str, i: int) -> None:
            nonlocal transitions
            try:
                async for event in sw.watch(
                    name,
                    client=client,
                    clock=clock,
                    schedule=sw.PollSchedule.fixed(30),
                    seed=i,
                ):
                    transitions += isinstance(event, sw.StatusEntered)
            except sw.SageMakerWatchError as error:
                key = type(error).__name__
                surfaced[key] = surfaced.get(key, 0) + 1

        with anyio.move_on_after(duration / speed):
            async with anyio.create_task_group() as tg:
                for i, name in enumerate(names):
                    tg.start_soon(one, name, i)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        elapsed = clock.monotonic()
        received = fake.statistics()
    return {
        "poller": "independent sw.watch, fixed 30 s",
        "jobs": jobs,
        "simulated_seconds": round(elapsed),
        "wall_seconds": round(wall, 1),
        "cpu_share_of_one_core": cpu / elapsed,
        "fake_model_cpu_share": model.seconds / elapsed,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "describe_calls": received.requests.get("DescribeTrainingJob", 0),
        "transitions_seen": transitions,
        "describe_calls_per_transition": received.requests.get("DescribeTrainingJob", 0)
        / max(transitions, 1),
        "list_calls_per_second": 0.0,
        "throttled_by_service": sum(received.throttled.values()),
        "throttling_errors_surfaced": sum(surfaced.values()),
        "errors_surfaced_by_type": surfaced,
    }


def run_in_subprocess(
    kind: str, jobs: int, duration: float, seed: int
) -> dict[str, Any]:
    """Run one configuration in a fresh interpreter and return its figures."""
    out = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [
            sys.executable,
            "-m",
            "bench.fleet",
            kind,
            str(jobs),
            str(duration),
            str(seed),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Entry point of the subprocess: print one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["fleet", "independent"])
    parser.add_argument("jobs", type=int)
    parser.add_argument("duration", type=float)
    parser.add_argument("seed", type=int)
    args = parser.parse_args()
    if args.kind == "fleet":
        result = anyio.run(fleet, args.jobs, args.duration, args.seed)
    else:
        result = anyio.run(independent, args.jobs, args.duration, args.seed, 10.0)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
