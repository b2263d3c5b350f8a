"""Benchmark 1: calls versus detection latency, one job at a time, same timelines."""

from __future__ import annotations

import random
import statistics
from typing import Any

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker, ManualClock

from ._timelines import draw

#: The pollers compared: ours (and ours scaled, for the curve) and fixed intervals.
POLLERS: dict[str, sw.PollSchedule] = {
    "ours (default)": sw.PollSchedule(),
    "ours x0.5": sw.PollSchedule(min_delay=1, short_phase_max_delay=5, max_delay=30),
    "ours x2": sw.PollSchedule(min_delay=4, short_phase_max_delay=20, max_delay=120),
    "ours x4": sw.PollSchedule(min_delay=8, short_phase_max_delay=40, max_delay=240),
    "fixed 5 s (SageMaker SDK)": sw.PollSchedule.fixed(5),
    "fixed 10 s": sw.PollSchedule.fixed(10),
    "fixed 30 s (Airflow)": sw.PollSchedule.fixed(30),
    "fixed 60 s": sw.PollSchedule.fixed(60),
    "fixed 120 s (botocore waiter)": sw.PollSchedule.fixed(120),
}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def run(jobs: int, seed: int) -> list[dict[str, Any]]:
    """Watch *jobs* drawn timelines with every poller; return one row per poller."""
    rows = []
    for label, schedule in POLLERS.items():
        rng = random.Random(seed)
        timelines = [draw(rng) for _ in range(jobs)]
        delays: list[float] = []
        terminal: list[float] = []
        calls = 0
        async with FakeSageMaker(clock=ManualClock()) as fake, fake.client() as c:
            for i, timeline in enumerate(timelines):
                name = f"job-{i}"
                fake.add_job(name, timeline)
                async for event in sw.watch(
                    name, client=c, clock=fake.clock, schedule=schedule, seed=i
                ):
                    if isinstance(event, sw.StatusEntered):
                        delays.append((event.at - event.started_at).total_seconds())
                    if isinstance(event, sw.JobEnded):
                        last = event.snapshot.transitions[-1].started_at
                        terminal.append((event.at - last).total_seconds())
                calls += fake.request_count("DescribeTrainingJob", name)
        rows.append(
            {
                "poller": label,
                "jobs": jobs,
                "calls_per_job": calls / jobs,
                "transition_delay_p50": statistics.median(delays),
                "transition_delay_p95": _pct(delays, 0.95),
                "terminal_delay_p50": statistics.median(terminal),
                "terminal_delay_p95": _pct(terminal, 0.95),
            }
        )
        print(f"  latency: {label:32s} {rows[-1]['calls_per_job']:8.1f} calls/job")
    return rows
