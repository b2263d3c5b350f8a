"""Benchmark: `sagemaker-watch watch` with 50 jobs, on one fleet versus as it was.

``python -m bench.cli_fleet`` runs the CLI's engine (``follow``, what ``watch``
runs after parsing its options, with the default schedule and retry budgets) on
the fake SageMaker, in process, with quotas on and a ScaledClock, and then the
CLI as it was before issue 10: one independent ``sw.watch`` per job on one
client. Both watch the same jobs (a realistic lifecycle mix) for the same
simulated time; the figures are the fake's own accounting of the requests it
received and throttled. One JSON object per configuration, then a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import io
import json
import random
import time
from typing import Any

import anyio

import sagemaker_watch as sw
from sagemaker_watch.cli import _commands
from sagemaker_watch.cli._render import NullRenderer, Outcome
from sagemaker_watch.testing import FakeSageMaker, ScaledClock

from ._timelines import draw
from .fleet import DESCRIBE_QUOTA, LIST_QUOTA

DESCRIBE = "DescribeTrainingJob"
LIST = "ListTrainingJobs"
_ENDED = frozenset({Outcome.COMPLETED, Outcome.FAILED, Outcome.STOPPED})


def _engine() -> tuple[Any, Any]:
    """The CLI's option-to-settings step and ``follow``, wherever they live now."""
    try:
        where = importlib.import_module("sagemaker_watch.cli._follow")
    except ImportError:  # before follow had a module of its own
        where = _commands
    return _commands._settings, where.follow  # noqa: SLF001 - the CLI's engine


class _Counting(NullRenderer):
    """Shows nothing; counts the transitions the CLI would have shown."""

    def __init__(self) -> None:
        super().__init__(io.StringIO(), io.StringIO())
        self.transitions = 0

    def event(self, event: sw.Event) -> None:
        self.transitions += isinstance(event, sw.StatusEntered)


def _fake(speed: float, jobs: int, seed: int, median: float) -> FakeSageMaker:
    fake = FakeSageMaker(clock=ScaledClock(speed=speed))
    fake.set_quota(DESCRIBE, per_second=DESCRIBE_QUOTA, burst=DESCRIBE_QUOTA)
    fake.set_quota(LIST, per_second=LIST_QUOTA, burst=LIST_QUOTA)
    rng = random.Random(seed)
    for i in range(jobs):
        fake.add_job(f"cli-{i:03d}", draw(rng, training_median=median))
    return fake


def _row(
    poller: str, fake: FakeSageMaker, wall: float, transitions: int, ended: int
) -> dict[str, Any]:
    received = fake.statistics()
    return {
        "poller": poller,
        "simulated_seconds": round(fake.clock.monotonic()),
        "wall_seconds": round(wall, 1),
        "describe_calls": received.requests.get(DESCRIBE, 0),
        "list_calls": received.requests.get(LIST, 0),
        "describe_throttled": received.throttled.get(DESCRIBE, 0),
        "list_throttled": received.throttled.get(LIST, 0),
        "transitions_seen": transitions,
        "jobs_ended": ended,
    }


async def cli_on_fleet(args: argparse.Namespace) -> dict[str, Any]:
    """Run the CLI's ``watch`` engine (one FleetWatcher) over every job."""
    async with (
        _fake(args.speed, args.jobs, args.seed, args.training_median) as fake,
        fake.client() as client,
    ):
        names = [f"cli-{i:03d}" for i in range(args.jobs)]
        settings_of, follow = _engine()
        defaults = settings_of(
            min_delay=None,
            max_delay=None,
            timeout=args.duration / args.speed,
            retry_for=900.0,
            grace=15.0,
        )
        settings = dataclasses.replace(defaults, clock=fake.clock, region=fake.region)
        renderer = _Counting()
        wall0 = time.perf_counter()
        results, _ = await follow(names, client, settings, renderer)
        wall = time.perf_counter() - wall0
        ended = sum(result.outcome in _ENDED for result in results)
        return _row(
            "sagemaker-watch watch (one FleetWatcher)",
            fake,
            wall,
            renderer.transitions,
            ended,
        )


async def cli_as_it_was(args: argparse.Namespace) -> dict[str, Any]:
    """Run one independent ``sw.watch`` per job on one client, as the CLI did."""
    async with (
        _fake(args.speed, args.jobs, args.seed, args.training_median) as fake,
        fake.client() as client,
    ):
        names = [f"cli-{i:03d}" for i in range(args.jobs)]
        transitions = ended = 0

        async def one(name: str) -> None:
            nonlocal transitions, ended
            with_retry = sw.RetryPolicy(max_attempts=None, max_elapsed=900.0)
            async for event in sw.watch(
                name,
                client=client,
                clock=fake.clock,
                schedule=sw.PollSchedule(),
                retry=with_retry,
            ):
                transitions += isinstance(event, sw.StatusEntered)
                if isinstance(event, sw.JobEnded):
                    ended += 1
                    return

        wall0 = time.perf_counter()
        with anyio.move_on_after(args.duration / args.speed):
            async with anyio.create_task_group() as tg:
                for name in names:
                    tg.start_soon(one, name)
        wall = time.perf_counter() - wall0
        return _row("as it was: one sw.watch per job", fake, wall, transitions, ended)


def run(
    *,
    jobs: int = 50,
    duration: float = 3600.0,
    speed: float = 60.0,
    training_median: float = 900.0,
    seed: int = 1,
) -> list[dict[str, Any]]:
    """Run both configurations, one after the other; return their figures."""
    args = argparse.Namespace(
        jobs=jobs,
        duration=duration,
        speed=speed,
        training_median=training_median,
        seed=seed,
    )
    return [anyio.run(cli_on_fleet, args), anyio.run(cli_as_it_was, args)]


def main(argv: list[str] | None = None) -> None:
    """Run both configurations side by side; print JSON lines and a table."""
    parser = argparse.ArgumentParser(prog="python -m bench.cli_fleet")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument(
        "--duration", type=float, default=3600.0, help="simulated seconds [3600]"
    )
    parser.add_argument(
        "--speed", type=float, default=60.0, help="simulated s per real s [60]"
    )
    parser.add_argument(
        "--training-median",
        type=float,
        default=900.0,
        help="median Training phase, simulated seconds [900]",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rows = run(
        jobs=args.jobs,
        duration=args.duration,
        speed=args.speed,
        training_median=args.training_median,
        seed=args.seed,
    )
    for row in rows:
        print(json.dumps(row))
    keys = list(rows[0])
    print()
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[key]) for key in keys) + " |")


if __name__ == "__main__":
    main()
