"""Fleet freshness: the delay users feel, from a job's change to the fleet's event.

For every ``StatusEntered`` the fleet emits, the delay is the event's time on
the fleet's clock minus the transition's start as the fake SageMaker recorded
it (both on the fake's simulated clock). Jobs are all created at once (a
thundering start), quotas on, the fleet at its defaults, on a hand-driven
clock. Figures are given over the whole run and for the transitions that
started after the first safety re-check interval (where the re-checks of
jobs first seen together used to arrive in a wave).

Before and after side by side in one run: each configuration runs in a fresh
interpreter; ``--before REV`` extracts the library's ``src`` at *REV* (``git
archive``) into a temporary directory and puts it first on ``PYTHONPATH`` for
the "before" runs, so the same fake, population and harness measure both::

    python -m bench.fleet_freshness --before 9ae3d23 --jobs 1000 10000

One configuration alone (what the driver runs in each subprocess)::

    python -m bench.fleet_freshness --one 1000 --duration 5400 --seed 7
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import os
import pathlib
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any

import anyio

#: The fake's quotas on simulated time, as in bench/fleet.py.
DESCRIBE_QUOTA = 20.0
LIST_QUOTA = 2.0
#: The fleet's default recheck_interval, before and after.
RECHECK_INTERVAL = 900.0
ROOT = pathlib.Path(__file__).resolve().parent.parent


def _pct(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _summary(delays: list[float]) -> dict[str, float | int]:
    ordered = sorted(delays)
    return {
        "n": len(ordered),
        "p50": round(_pct(ordered, 0.5), 1),
        "p95": round(_pct(ordered, 0.95), 1),
        "max": round(ordered[-1] if ordered else 0.0, 1),
    }


async def one(jobs: int, duration: float, seed: int) -> dict[str, Any]:
    """Watch *jobs* jobs created together for *duration* simulated seconds."""
    import sagemaker_watch as sw  # noqa: PLC0415 - the version on PYTHONPATH
    from sagemaker_watch.testing import FakeSageMaker, ManualClock  # noqa: PLC0415

    from ._timelines import draw  # noqa: PLC0415

    rng = random.Random(seed)
    fake = FakeSageMaker(clock=ManualClock())
    fake.set_quota(
        "DescribeTrainingJob", per_second=DESCRIBE_QUOTA, burst=DESCRIBE_QUOTA
    )
    fake.set_quota("ListTrainingJobs", per_second=LIST_QUOTA, burst=LIST_QUOTA)
    delays: list[tuple[float, float]] = []
    first_look: list[float] = []
    seen_at: dict[str, object] = {}
    seen_at_s: dict[str, float] = {}
    wall0 = time.perf_counter()
    async with fake, fake.client() as client:
        names = [f"job-{i:05d}" for i in range(jobs)]
        for name in names:
            fake.add_job(name, draw(rng))
        start = fake.clock.now()
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, max_in_flight=1, seed=seed
        ) as watcher:
            for name in names:
                watcher.add(name)
            async for item in watcher:
                if isinstance(item, sw.StatusEntered):
                    delay = (item.at - item.started_at).total_seconds()
                    # Events of a job's first describe report what happened
                    # before it was watched: the first look, apart.
                    if seen_at.setdefault(item.job_name, item.at) == item.at:
                        seen_at_s[item.job_name] = (item.at - start).total_seconds()
                        first_look.append(delay)
                    else:
                        began = (item.started_at - start).total_seconds()
                        delays.append((began, delay))
                if fake.clock.monotonic() >= duration:
                    break
            stats = watcher.statistics()
        received = fake.statistics()
    # The first re-check interval, stretched as the fleet stretches it (the
    # before and after formulas differ; take the later so both compare alike).
    first_recheck = max(RECHECK_INTERVAL, jobs / (0.5 * 10.0) / 0.75)
    return {
        "jobs": jobs,
        "simulated_seconds": duration,
        "wall_seconds": round(time.perf_counter() - wall0, 1),
        "library": sw.__file__,
        "first_look": _summary(first_look),
        "first_look_done_s": round(max(seen_at_s.values(), default=0.0)),
        "while_first_looks": _summary(
            [d for began, d in delays if began < max(seen_at_s.values(), default=0)]
        ),
        "all": _summary([d for _, d in delays]),
        "after_first_recheck": _summary(
            [d for began, d in delays if began >= first_recheck]
        ),
        "first_recheck_s": round(first_recheck),
        "describe_calls": received.requests.get("DescribeTrainingJob", 0),
        "list_calls": received.requests.get("ListTrainingJobs", 0),
        "throttled_by_service": sum(received.throttled.values()),
        "lost": stats.lost,
    }


def _extract(rev: str, into: pathlib.Path) -> pathlib.Path:
    archive = subprocess.run(  # noqa: S603 - fixed git command on our own repository
        ["git", "-C", str(ROOT), "archive", rev, "src"],  # noqa: S607
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _run(
    src: pathlib.Path | None, jobs: int, duration: float, seed: int
) -> dict[str, Any]:
    env = dict(os.environ)
    paths = [str(ROOT)] if src is None else [str(src), str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    out = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [
            sys.executable,
            "-m",
            "bench.fleet_freshness",
            "--one",
            str(jobs),
            "--duration",
            str(duration),
            "--seed",
            str(seed),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    lines = [
        (
            "| library | jobs | simulated s | change-to-event p50 / p95 / max (s), "
            "whole run | after the first re-check interval | first look "
            "| describes | lists | throttled |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(figures: dict[str, Any]) -> str:
        return (
            f"{figures['p50']} / {figures['p95']} / {figures['max']} "
            f"(n={figures['n']:,})"
        )

    for label, r in rows:
        lines.append(
            f"| {label} | {r['jobs']:,} | {r['simulated_seconds']:,.0f} "
            f"| {cell(r['all'])} | {cell(r['after_first_recheck'])} "
            f"| {cell(r['first_look'])} "
            f"| {r['describe_calls']:,} | {r['list_calls']:,} "
            f"| {r['throttled_by_service']} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Run one configuration, or before and after side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", type=int, help="run one configuration: N jobs")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--duration", type=float, default=5400.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--before", help="a git revision to compare with")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(anyio.run(one, args.one, args.duration, args.seed)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        before = None
        if args.before is not None:
            before = _extract(args.before, pathlib.Path(tmp))
        plan = [
            (label, src, jobs)
            for jobs in args.jobs
            for label, src in (
                (f"before ({args.before})", before),
                ("after (working tree)", None),
            )
            if label.startswith("after") or src is not None
        ]
        # Two at a time: each configuration is one single-threaded process.
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
            futures = [
                pool.submit(_run, src, jobs, args.duration, args.seed)
                for _, src, jobs in plan
            ]
            rows = [
                (label, future.result())
                for (label, _, _), future in zip(plan, futures, strict=True)
            ]
    print(_table(rows))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
