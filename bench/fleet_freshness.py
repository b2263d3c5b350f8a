"""Fleet freshness: the delay users feel, from a job's change to the fleet's event.

For every ``StatusEntered`` the fleet emits, the delay is the event's time on
the fleet's clock minus the transition's start as the fake SageMaker recorded
it (both on the fake's simulated clock). Jobs are all created at once (a
thundering start), quotas on, the fleet at its defaults, on a hand-driven
clock. Figures are given over the whole run and for the transitions that
started after the first safety re-check interval (where the re-checks of
jobs first seen together used to arrive in a wave).

Before and after side by side in one run: each configuration runs in a fresh
interpreter; ``--before REV`` extracts the package's ``src`` at *REV* (``git
archive``) into a temporary directory and puts it first on ``PYTHONPATH`` for
the "before" runs, so the same population and harness measure both (the fake
is the one in that ``src``: the kit ships inside the package). *REV* defaults
to the last commit before the re-check spreading (``ebe2d75~1``); ``--before
none`` runs the working tree alone; ``--after REV`` measures a commit instead of
the working tree (so edits in progress there cannot disturb a long run).
``--knobs`` adds rows of the new library with other ``FleetWatcher`` settings at
the largest size (by default the fake's quotas: ``list_rate=2.0``, then also
``describe_rate=20.0``)::

    python -m bench.fleet_freshness --jobs 1000 10000

Beside each measured row stands the physical bound: the fake pages before it
filters (as AWS does for ``StatusEquals``, and by public reports for the other
filters too), so a sweep reads every page of the jobs created since the oldest
watched one, whatever changed; a change waits for its page, which comes round
once per sweep of ``ceil(jobs / 100)`` pages at the list rate. And the describe
budget, spread over every job, allows each one describe per ``jobs /
describe rate`` seconds. ``python -m bench --only freshness`` runs the same
comparison as a section of BENCHMARKS.md.

One configuration alone (what the driver runs in each subprocess)::

    python -m bench.fleet_freshness --one 1000 --duration 5400 --seed 7
"""

from __future__ import annotations

import argparse
import concurrent.futures
import inspect
import io
import json
import math
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

from ._report import freshness_tables

#: The fake's quotas on simulated time, as in bench/fleet.py.
DESCRIBE_QUOTA = 20.0
LIST_QUOTA = 2.0
#: The fleet's default recheck_interval, before and after.
RECHECK_INTERVAL = 900.0
#: ``MaxResults`` of the fleet's list pages (the most AWS allows).
PAGE_SIZE = 100
#: The last commit before the re-check spreading (ebe2d75).
BEFORE = "ebe2d75~1"
#: Extra rows at the largest size: the fleet's knobs at the fake's quotas.
KNOBS: tuple[dict[str, float], ...] = (
    {"list_rate": LIST_QUOTA},
    {"list_rate": LIST_QUOTA, "describe_rate": DESCRIBE_QUOTA},
)
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


def _change_rate(
    starts: list[float], duration: float, describe_rate: float, window: int = 60
) -> dict[str, float]:
    """The busiest *window* of transitions, and how long they outran describes.

    Each transition needs a describe of its job (a describe sees every change
    since the last one, so fewer may do when changes queue): while more begin
    per second than the describe rate, some wait whatever the order.
    """
    bins = [0] * (int(duration) // window + 1)
    for began in starts:
        if 0 <= began < duration:
            bins[int(began) // window] += 1
    limit = min(describe_rate, DESCRIBE_QUOTA) * window
    return {
        "peak_changes_per_second": round(max(bins, default=0) / window, 1),
        "seconds_changes_outran_describes": window * sum(n > limit for n in bins),
    }


def bound(
    jobs: int, *, list_rate: float, describe_rate: float, sweep_interval: float
) -> dict[str, float]:
    """The physical limits of a fleet of *jobs* at these rates, under the quotas.

    Returns:
        ``pages_per_sweep`` (every page of the jobs, filtered after paging),
        ``sweep_seconds`` (those pages at the list rate, capped by the quota;
        never less than the sweep interval), ``listing_p95_seconds`` (a change
        waits for its page uniformly over one sweep: 0.95 of it) and
        ``seconds_per_job_describe`` (the describe budget spread over every job).
    """
    pages = math.ceil(jobs / PAGE_SIZE)
    sweep = max(pages / min(list_rate, LIST_QUOTA), sweep_interval)
    return {
        "pages_per_sweep": pages,
        "sweep_seconds": round(sweep, 1),
        "listing_p95_seconds": round(0.95 * sweep, 1),
        "seconds_per_job_describe": round(jobs / min(describe_rate, DESCRIBE_QUOTA)),
    }


async def one(
    jobs: int, duration: float, seed: int, knobs: dict[str, float] | None = None
) -> dict[str, Any]:
    """Watch *jobs* jobs created together for *duration* simulated seconds.

    *knobs* are extra ``FleetWatcher`` keyword arguments (rates, intervals).
    """
    import sagemaker_watch as sw  # noqa: PLC0415 - the version on PYTHONPATH
    from sagemaker_watch.testing import FakeSageMaker, ManualClock  # noqa: PLC0415

    from ._timelines import draw  # noqa: PLC0415

    knobs = knobs or {}
    defaults = inspect.signature(sw.FleetWatcher).parameters
    settings = {
        name: float(knobs.get(name, defaults[name].default) or 0.0)
        for name in ("list_rate", "describe_rate", "sweep_interval")
    }
    rng = random.Random(seed)
    fake = FakeSageMaker(clock=ManualClock())
    fake.set_quota(
        "DescribeTrainingJob", per_second=DESCRIBE_QUOTA, burst=DESCRIBE_QUOTA
    )
    fake.set_quota("ListTrainingJobs", per_second=LIST_QUOTA, burst=LIST_QUOTA)
    delays: list[tuple[float, float]] = []
    first_look: list[float] = []
    changes: list[float] = []
    seen_at: dict[str, object] = {}
    seen_at_s: dict[str, float] = {}
    wall0 = time.perf_counter()
    async with fake, fake.client() as client:
        names = [f"job-{i:05d}" for i in range(jobs)]
        for name in names:
            fake.add_job(name, draw(rng))
        start = fake.clock.now()
        async with sw.FleetWatcher(
            client=client,
            clock=fake.clock,
            max_in_flight=1,
            seed=seed,
            **knobs,  # type: ignore[arg-type]
        ) as watcher:
            for name in names:
                watcher.add(name)
            async for item in watcher:
                if isinstance(item, sw.StatusEntered):
                    delay = (item.at - item.started_at).total_seconds()
                    if item.previous_status is not None:  # not the creation
                        changes.append((item.started_at - start).total_seconds())
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
    first_recheck = max(
        RECHECK_INTERVAL, jobs / (0.5 * settings["describe_rate"]) / 0.75
    )
    list_calls = received.requests.get("ListTrainingJobs", 0)
    return {
        "jobs": jobs,
        "simulated_seconds": duration,
        "wall_seconds": round(time.perf_counter() - wall0, 1),
        "library": sw.__file__,
        "knobs": knobs,
        "settings": settings,
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
        "list_calls": list_calls,
        "sweeps": stats.sweeps,
        "measured_sweep_seconds": round(duration / max(stats.sweeps, 1), 1),
        "measured_pages_per_sweep": round(list_calls / max(stats.sweeps, 1), 1),
        "bound": bound(jobs, **settings),
        **_change_rate(changes, duration, settings["describe_rate"]),
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


def short(rev: str) -> str:
    """*rev* as a short commit hash (itself if git cannot resolve it)."""
    try:
        return subprocess.run(  # noqa: S603 - fixed git command on our own repository
            ["git", "-C", str(ROOT), "rev-parse", "--short", rev],  # noqa: S607
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return rev


def _run(
    src: pathlib.Path | None,
    jobs: int,
    duration: float,
    seed: int,
    knobs: dict[str, float],
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
            "--fleet-args",
            json.dumps(knobs),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def knob_label(knobs: dict[str, float]) -> str:
    """The ``FleetWatcher(...)`` arguments of a row, or ``defaults``."""
    if not knobs:
        return "defaults"
    return ", ".join(f"{name}={value:g}" for name, value in knobs.items())


def run(
    *,
    jobs: list[int],
    duration: float,
    seed: int,
    before: str | None = BEFORE,
    after: str | None = None,
    knobs: tuple[dict[str, float], ...] = KNOBS,
    workers: int = 2,
) -> dict[str, Any]:
    """Run before and after at every size, and the *knobs* at the largest.

    *before* and *after* are git revisions (``None``: no before rows; the
    working tree after).

    Returns:
        ``rows`` (each with its ``label``, ``library`` and ``fleet`` settings),
        the revisions compared, the duration and the seed.
    """
    with tempfile.TemporaryDirectory() as tmp:
        old = None if before is None else _extract(before, pathlib.Path(tmp, "old"))
        new = None if after is None else _extract(after, pathlib.Path(tmp, "new"))
        new_label = (
            "after (working tree)" if after is None else f"after ({short(after)})"
        )
        plan: list[tuple[str, str, pathlib.Path | None, int, dict[str, float]]] = []
        for size in jobs:
            if old is not None:
                plan.append(
                    ("before", f"before ({short(before or '')})", old, size, {})
                )
            plan.append(("after", new_label, new, size, {}))
        plan += [("after", new_label, new, max(jobs), dict(k)) for k in knobs]
        # Two at a time: each configuration is one single-threaded process.
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            # The largest first, so the longest runs overlap.
            order = sorted(range(len(plan)), key=lambda i: -plan[i][3])
            submitted = {
                i: pool.submit(_run, plan[i][2], plan[i][3], duration, seed, plan[i][4])
                for i in order
            }
            futures = [submitted[i] for i in range(len(plan))]
            rows = [
                {
                    **future.result(),
                    "which": which,
                    "label": label,
                    "fleet": knob_label(k),
                }
                for (which, label, _, _, k), future in zip(plan, futures, strict=True)
            ]
    return {
        "before": None if before is None else short(before),
        "before_rev": before,
        "after": None if after is None else short(after),
        "jobs": jobs,
        "duration": duration,
        "seed": seed,
        "rows": rows,
    }


def main() -> None:
    """Run one configuration, or before and after side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", type=int, help="run one configuration: N jobs")
    parser.add_argument(
        "--fleet-args", default="{}", help="FleetWatcher keywords, as JSON (--one)"
    )
    parser.add_argument("--jobs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--duration", type=float, default=5400.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--before",
        default=BEFORE,
        help=f"a git revision to compare with (default {BEFORE}; 'none' for none)",
    )
    parser.add_argument(
        "--knobs",
        default=json.dumps(list(KNOBS)),
        help="extra rows at the largest size: a JSON list of FleetWatcher keywords",
    )
    parser.add_argument(
        "--after", help="a git revision to measure instead of the working tree"
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.one is not None:
        knobs = json.loads(args.fleet_args)
        print(json.dumps(anyio.run(one, args.one, args.duration, args.seed, knobs)))
        return
    result = run(
        jobs=args.jobs,
        duration=args.duration,
        seed=args.seed,
        before=None if args.before.lower() == "none" else args.before,
        after=args.after,
        knobs=tuple(json.loads(args.knobs)),
        workers=args.workers,
    )
    print("\n".join(freshness_tables(result)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
