"""Benchmark 9: push hints (EventBridge through SQS) against polling, in one run.

What users feel, from a change in the service (the fake's timeline) to the event
they receive, three ways:

1. **One job** (``one_job``): each job of a population of ``bench/populations.py``
   is watched to its end through ``sw.watch(..., hints=sw.SqsHints(...))`` over
   real HTTP against ``FakeSageMaker(events_queue="events")`` on a hand-driven
   clock (a fake of its own per job, as ``bench.latency`` does), next to today's
   schedule (``watch()`` without hints, over HTTP too, cross-checked call for
   call against ``bench.schedule_sim``) and the fixed 5 / 30 / 120 s pollers
   (computed from the same timelines, as ``bench.schedule_sim`` does). The safety
   ceiling is tuned on ``tuning`` (the smallest of ``CEILINGS`` that meets
   every target, else the one with the fewest describes) and confirmed on
   ``held-out``.
2. **A fleet** (``fleet``): N jobs created at once (``bench/_timelines.py``, as
   sections 2 and 7), quotas on, in one ``FleetWatcher`` with hints and without
   (sweeps, today's default), each in a fresh interpreter so that its CPU time
   is its own (the fake runs in it: an upper bound for the library).
3. **Faults** (``Fault.drop_event`` and ``Fault.duplicate_event``, 20 % each):
   every job of part 1 again, and the fleet; each job's ``StatusEntered``
   events are counted against the transitions the fake recorded.

The fake delivers an event into the queue at the instant of its change; real
EventBridge adds its delivery latency, which adds to every hinted delay (a row
with each event up to ``LATE_SECONDS`` late shows how).

Run ``python -m bench --only hints`` (a section of BENCHMARKS.md) or alone::

    python -m bench.hints [--quick] [--seed 1]
    python -m bench.hints fleet --jobs 1000 --duration 1800 --hints   # one fleet
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import functools
import itertools
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import structlog

import sagemaker_watch as sw
from sagemaker_watch.testing import (
    EVENT_FAULT_SCENARIOS,
    FakeSageMaker,
    Fault,
    ManualClock,
)

from .populations import HELD_OUT, TUNING, Population
from .schedule_sim import Job, draw, record, run_fixed, run_schedule

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
#: The issue's targets.
TARGET_DELAY_S = 5.0
TARGET_DESCRIBES = 1.3
TARGET_SQS_PER_S = 1.0
TARGET_CPU_SHARE = 0.25
#: ``SqsHints``' default safety ceiling.
DEFAULT_CEILING: float = next(
    f.default
    for f in dataclasses.fields(sw.SqsHints)
    if f.name == "ceiling"  # type: ignore[misc]
)
#: Safety ceilings tried on ``tuning`` (the default among them).
CEILINGS = tuple(sorted({300.0, 900.0, 1800.0, 3600.0, DEFAULT_CEILING}))
#: The fixed pollers others use (as in section 1).
FIXED = {
    "fixed 5 s (SageMaker SDK)": 5.0,
    "fixed 30 s (Airflow)": 30.0,
    "fixed 120 s (botocore waiter)": 120.0,
}
#: The fleet's row beside its defaults: re-checks hourly, and receives at most
#: every 2 s after a drained one (receives and deletes then stay within 1/s).
FLEET_TUNED = {"pace": 2.0}
#: The fleet's second scenario: jobs launched over the 4 h before it starts.
BACKLOG = 4 * 3600.0
#: Training's median (s) of the fleet's jobs launched before it starts.
BACKLOG_TRAINING = 4 * 3600.0
#: Part 3's faults: EVENT_FAULT_SCENARIOS["dropped_and_duplicated"].
FAULTS = "dropped_and_duplicated"
#: The sensitivity row: each event delivered a seeded 0 to this many s late.
LATE_SECONDS = 10.0
#: The fake's quotas on simulated time, as in sections 2 and 7.
DESCRIBE_QUOTA = 20.0
LIST_QUOTA = 2.0
#: The SQS operations a watcher calls.
SQS_OPERATIONS = ("ReceiveMessage", "DeleteMessageBatch", "DeleteMessage")


def percentile(values: Iterable[float], q: float) -> float:
    """The *q* quantile of *values*, nearest rank (as section 1); NaN if none."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def spread(label: str, values: Sequence[float]) -> dict[str, float]:
    """``{label}_p50``, ``_p95`` and ``_max`` of *values*, to 0.1 s."""
    if not values:
        return {f"{label}_{q}": math.nan for q in ("p50", "p95", "max")}
    return {
        f"{label}_p50": round(statistics.median(values), 1),
        f"{label}_p95": round(percentile(values, 0.95), 1),
        f"{label}_max": round(max(values), 1),
    }


def tally(
    expected: Sequence[tuple[str, float]], seen: Sequence[tuple[str, float]]
) -> dict[str, int | bool]:
    """Count a job's reported statuses against the transitions it went through.

    Args:
        expected: ``(status, start)`` of every transition the service recorded,
            in order (a status can come back: a spot job starts twice).
        seen: ``(status, start)`` of every ``StatusEntered`` the user received,
            in order.

    Returns:
        ``missing`` (transitions never reported), ``repeated`` (reports beyond
        one per transition, or of none) and ``exact`` (every transition once,
        in order).
    """
    want, got = Counter(expected), Counter(seen)
    return {
        "missing": sum((want - got).values()),
        "repeated": sum((got - want).values()),
        "exact": list(expected) == list(seen),
    }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Watched:
    """One job watched to its end by one poller.

    Attributes:
        describes: DescribeTrainingJob calls the fake received.
        sqs_calls: SQS calls the fake received (receives and deletes).
        transition: Delays from each status's start to its event (after the
            first status).
        terminal: Delay from the terminal transition's start to ``JobEnded``.
        counted: :func:`tally` of the job's ``StatusEntered`` events.
        ended: ``JobEnded`` events received.
        hints: The watch's ``hint_statistics()``, as a dict, if it had hints.
    """

    describes: int
    sqs_calls: int
    transition: tuple[float, ...]
    terminal: float
    counted: dict[str, int | bool]
    ended: int
    hints: dict[str, Any] | None


def _key(status: object, start: float) -> tuple[str, float]:
    return (str(status), round(start, 3))


async def watch_job(
    job: Job,
    *,
    seed: int,
    hints: dict[str, float] | None = None,
    faults: Sequence[Fault] = (),
) -> Watched:
    """Watch *job* to its end through ``watch()`` over HTTP, on a fake of its own.

    Args:
        job: The job (its timeline).
        seed: The watch's seed (its schedule's jitter) and the fake's (faults).
        hints: ``SqsHints`` settings (``{}`` for its defaults), or ``None`` to
            watch without hints.
        faults: Faults to inject (on the event path, for instance).
    """
    queue = None if hints is None else "events"
    expected: list[tuple[str, float]] = []
    seen: list[tuple[str, float]] = []
    transition: list[float] = []
    terminal = math.nan
    ended = 0
    async with (
        FakeSageMaker(
            clock=ManualClock(), quotas={}, events_queue=queue, seed=seed
        ) as fake,
        fake.client() as client,
        contextlib.AsyncExitStack() as stack,
    ):
        fake.add_job("job", job.timeline)
        if faults:
            fake.inject(*faults)
        options: dict[str, Any] = {}
        if hints is not None:
            sqs = await stack.enter_async_context(fake.sqs_client())
            options["hints"] = sw.SqsHints(  # type: ignore[attr-defined]
                fake.queue_url("events"), client=sqs, **hints
            )
        watching = sw.watch(
            "job", client=client, clock=fake.clock, seed=seed, **options
        )
        async with watching as events:
            async for event in events:
                seen_at = event.at.timestamp()
                if isinstance(event, sw.StatusEntered):
                    start = event.started_at.timestamp()
                    seen.append(_key(event.status, start))
                    if event.previous_status is not None:
                        transition.append(seen_at - start)
                if isinstance(event, sw.JobEnded):
                    ended += 1
                    last = event.snapshot.transitions[-1].started_at.timestamp()
                    terminal = seen_at - last
        hint_stats = (
            None if hints is None else _as_dict(watching.hint_statistics())  # type: ignore[attr-defined]
        )
        answer = fake.describe_job("job")
        expected = [
            _key(t["Status"], float(t["StartTime"]))
            for t in answer["SecondaryStatusTransitions"]
        ]
        received = fake.statistics().requests
    return Watched(
        describes=received.get("DescribeTrainingJob", 0),
        sqs_calls=sum(received.get(op, 0) for op in SQS_OPERATIONS),
        transition=tuple(transition),
        terminal=terminal,
        counted=tally(expected, seen),
        ended=ended,
        hints=hint_stats,
    )


def _as_dict(stats: object) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        f.name: (
            dict(value)
            if isinstance(value := getattr(stats, f.name), Mapping)
            else value
        )
        for f in dataclasses.fields(stats)  # type: ignore[arg-type]
    }


def _hint_total(runs: Sequence[Watched], name: str) -> int:
    return sum(int((run.hints or {}).get(name, 0)) for run in runs)


def row(poller: str, jobs: Sequence[Job], runs: Sequence[Watched]) -> dict[str, Any]:
    """One poller's figures over *jobs* (each watched by *runs*, in order)."""
    hours = sum(job.hours for job in jobs)
    transitions = sum(len(job.starts) for job in jobs)
    describes = sum(run.describes for run in runs)
    transition = [d for run in runs for d in run.transition]
    terminal = [run.terminal for run in runs]
    return {
        "poller": poller,
        "jobs": len(jobs),
        "describes": describes,
        "describes_per_transition": round(describes / max(transitions, 1), 2),
        "describes_per_job_hour": round(describes / hours, 1),
        "sqs_calls_per_job_hour": round(sum(r.sqs_calls for r in runs) / hours, 1),
        **spread("transition", transition),
        **spread("terminal", terminal),
        "missing": sum(int(r.counted["missing"]) for r in runs),
        "repeated": sum(int(r.counted["repeated"]) for r in runs),
        "jobs_exact": sum(bool(r.counted["exact"]) for r in runs),
        "jobs_ended_once": sum(r.ended == 1 for r in runs),
        "fallbacks": _hint_total(runs, "fallbacks"),
        "missed": _hint_total(runs, "missed"),
        "hinted_describes": _hint_total(runs, "hinted_describes"),
    }


def fixed_row(poller: str, interval: float, jobs: Sequence[Job]) -> dict[str, Any]:
    """A fixed poller's figures, computed from the timelines (no HTTP)."""
    result = run_fixed(interval, jobs)
    transitions = sum(len(job.starts) for job in jobs)
    return {
        "poller": poller,
        "jobs": len(jobs),
        "describes": result.calls,
        "describes_per_transition": round(result.calls / max(transitions, 1), 2),
        "describes_per_job_hour": round(result.calls_per_hour, 1),
        "sqs_calls_per_job_hour": 0.0,
        **spread("transition", result.transition),
        **spread("terminal", result.terminal),
        "missing": 0,
        "repeated": 0,
        "jobs_exact": len(jobs),
        "jobs_ended_once": len(jobs),
        "computed": True,
    }


async def watch_all(
    jobs: Sequence[Job],
    seed: int,
    *,
    hints: dict[str, float] | None = None,
    faults: Sequence[Fault] = (),
) -> list[Watched]:
    """Watch every job of *jobs*, one after the other (seeds as section 1's)."""
    return [
        await watch_job(job, seed=seed * 1_000_003 + i, hints=hints, faults=faults)
        for i, job in enumerate(jobs)
    ]


def meets(figures: dict[str, Any]) -> bool:
    """Whether a one-job row meets the issue's three targets."""
    return bool(
        figures["transition_p95"] <= TARGET_DELAY_S
        and figures["terminal_p95"] <= TARGET_DELAY_S
        and figures["describes_per_transition"] <= TARGET_DESCRIBES
    )


async def one_job(
    population: Population,
    jobs: int,
    seed: int,
    *,
    ceilings: Sequence[float],
    hints: bool = True,
) -> dict[str, Any]:
    """Part 1 and part 3 on one population: every poller on the same jobs.

    Args:
        population: Where the jobs are drawn from.
        jobs: How many.
        seed: The draw's and the watches' seed.
        ceilings: The safety ceilings of the rows with hints (the first is
            also run with faults and with late events).
        hints: ``False`` leaves out every row with hints (before the drivers
            take ``hints=``).
    """
    recorded = [record(t) for t in draw(population, jobs, seed)]
    rows: list[dict[str, Any]] = []
    if hints:
        for ceiling in ceilings:
            settings = {"ceiling": ceiling}
            runs = await watch_all(recorded, seed, hints=settings)
            rows.append(
                {**row(f"hints, ceiling {ceiling:g} s", recorded, runs), **settings}
            )
    default = await watch_all(recorded, seed)
    simulated = run_schedule("default", sw.PollSchedule(), recorded, seed)
    rows.append(
        {
            **row("today's schedule (no hints)", recorded, default),
            "agrees_with_simulation": simulated.calls
            == sum(r.describes for r in default),
        }
    )
    rows += [fixed_row(label, t, recorded) for label, t in FIXED.items()]
    faulted: list[dict[str, Any]] = []
    if hints:
        settings = {"ceiling": DEFAULT_CEILING}
        scenarios = {
            "hints, 20 % of events dropped, 20 % duplicated": (
                EVENT_FAULT_SCENARIOS[FAULTS]
            ),
            f"hints, each event 0-{LATE_SECONDS:g} s late": (
                Fault.reorder_events(LATE_SECONDS),
            ),
        }
        for label, faults in scenarios.items():
            runs = await watch_all(recorded, seed, hints=settings, faults=faults)
            faulted.append(
                {
                    **row(f"{label}, ceiling {DEFAULT_CEILING:g} s", recorded, runs),
                    **settings,
                }
            )
    transitions = sum(len(j.starts) for j in recorded)
    return {
        "population": population.name,
        "floor_per_transition": {
            f"{c:g}": round(ideal_describes(recorded, c) / transitions, 2)
            for c in sorted({*CEILINGS, *ceilings})
        },
        "jobs": jobs,
        "job_hours": round(sum(j.hours for j in recorded), 1),
        "transitions": sum(len(j.starts) for j in recorded),
        "rows": rows,
        "faulted": faulted,
    }


def ideal_describes(jobs: Sequence[Job], ceiling: float) -> int:
    """DescribeTrainingJob calls of an ideal hinted watcher with *ceiling*.

    One first look per job, one describe at each transition, and a safety
    re-check whenever *ceiling* seconds pass without a describe: what hints
    with that ceiling cannot go below, even with events delivered at once.
    """
    total = 0
    for job in jobs:
        times = (job.created, *job.starts)
        gaps = (later - earlier for earlier, later in itertools.pairwise(times))
        total += len(times) + sum(math.ceil(g / ceiling) - 1 for g in gaps if g > 0)
    return total


def tuned(block: dict[str, Any]) -> tuple[float, bool]:
    """The smallest ceiling whose row on *block* meets every target, and ``True``.

    If none does, the ceiling with the fewest describes per transition, and
    ``False``.
    """
    hinted = [r for r in block["rows"] if "ceiling" in r]
    passing = [r["ceiling"] for r in hinted if meets(r)]
    if passing:
        return min(passing), True
    best = min(hinted, key=lambda r: (r["describes_per_transition"], r["ceiling"]))
    return best["ceiling"], False


# -- the fleet ---------------------------------------------------------------------


async def fleet(  # noqa: C901, PLR0912, PLR0915 - one measured run, read top to bottom
    jobs: int,
    duration: float,
    seed: int,
    *,
    hints: bool,
    faults: str | None = None,
    settings: dict[str, float] | None = None,
    backlog: float = 0.0,
) -> dict[str, Any]:
    """Watch *jobs* jobs created at once for *duration* simulated seconds.

    One ``FleetWatcher`` at its defaults (``max_in_flight=1`` as in section 7),
    with ``hints=SqsHints(...)`` or without (sweeps); the fake's quotas on.

    Args:
        jobs: How many jobs, all created at the start.
        duration: Simulated seconds to watch.
        seed: Seeds the timelines, the fleet and the fake's faults.
        hints: Whether the fleet reads hints from the fake's events queue.
        faults: A name of ``EVENT_FAULT_SCENARIOS`` to inject.
        settings: ``SqsHints`` keywords replacing its defaults (``ceiling``,
            ``pace``, ...).
        backlog: ``0``: every job is created at the start (a thundering
            start). Else the jobs train for hours (``BACKLOG_TRAINING``) and
            were launched at uniform instants over the *backlog* seconds
            before the fleet starts (events are routed from its start, as a
            rule created then would), so it watches jobs at every stage.
    """
    from ._timelines import draw as draw_fleet  # noqa: PLC0415
    from .fleet import _ModelCpu  # noqa: PLC0415 - section 2's meter

    rng = random.Random(seed)
    fake = FakeSageMaker(
        clock=ManualClock(),
        events_queue="events" if hints and not backlog else None,
        seed=seed,
    )
    fake.set_quota(
        "DescribeTrainingJob", per_second=DESCRIBE_QUOTA, burst=DESCRIBE_QUOTA
    )
    fake.set_quota("ListTrainingJobs", per_second=LIST_QUOTA, burst=LIST_QUOTA)
    seen: dict[str, list[tuple[str, float]]] = {}
    first_seen: dict[str, float] = {}
    delays: list[tuple[float, float]] = []
    first_look: list[float] = []
    samples: list[tuple[float, float]] = []
    #: (simulated s, describes, SQS calls) every simulated minute.
    counts: list[tuple[float, int, int]] = []
    lost = 0
    async with (
        fake,
        fake.client() as client,
        fake.sqs_client() as sqs,
    ):
        names = [f"job-{i:05d}" for i in range(jobs)]
        if backlog:
            launched = 0.0
            for name, at in zip(
                names, sorted(rng.uniform(0, backlog) for _ in names), strict=True
            ):
                fake.advance(at - launched)
                launched = at
                fake.add_job(name, draw_fleet(rng, training_median=BACKLOG_TRAINING))
            fake.advance(backlog - launched)
            if hints:
                fake.route_events("events")
        else:
            for name in names:
                fake.add_job(name, draw_fleet(rng))
        if faults:
            fake.inject(*EVENT_FAULT_SCENARIOS[faults])
        model = _ModelCpu(fake)
        options: dict[str, Any] = {}
        if hints:
            options["hints"] = sw.SqsHints(  # type: ignore[attr-defined]
                fake.queue_url("events"), client=sqs, **(settings or {})
            )
        start, origin = fake.clock.now(), fake.clock.monotonic()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        next_sample = 60.0
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, max_in_flight=1, seed=seed, **options
        ) as watcher:
            for name in names:
                watcher.add(name)
            async for item in watcher:
                now = fake.clock.monotonic() - origin
                if isinstance(item, sw.JobLost):
                    lost += 1
                elif isinstance(item, sw.StatusEntered):
                    began = (item.started_at - start).total_seconds()
                    delay = (item.at - item.started_at).total_seconds()
                    seen.setdefault(item.job_name, []).append(
                        _key(item.status, item.started_at.timestamp())
                    )
                    # A job's first describe reports what happened before it
                    # was watched: the first look, counted apart (section 7).
                    at = (item.at - start).total_seconds()
                    if first_seen.setdefault(item.job_name, at) == at:
                        first_look.append(delay)
                    else:
                        delays.append((began, delay))
                if now >= next_sample:
                    samples.append((now, watcher.statistics().staleness_p95))
                    requests = fake.statistics().requests
                    counts.append(
                        (
                            now,
                            requests.get("DescribeTrainingJob", 0),
                            sum(requests.get(op, 0) for op in SQS_OPERATIONS),
                        )
                    )
                    next_sample = now + 60
                if now >= duration:
                    break
            stats = watcher.statistics()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        elapsed = fake.clock.monotonic() - origin
        received = fake.statistics()
        expected = {
            name: [
                _key(t["Status"], float(t["StartTime"]))
                for t in fake.describe_job(name)["SecondaryStatusTransitions"]
            ]
            for name in names
        }
        events = dataclasses.asdict(fake.service.event_statistics()) if hints else {}
    hint_stats = _as_dict(getattr(stats, "hints", None))
    first_looks_done = max(first_seen.values(), default=0.0)
    transitions = len(delays)
    describes = received.requests.get("DescribeTrainingJob", 0)
    sqs_calls = sum(received.requests.get(op, 0) for op in SQS_OPERATIONS)
    counted = _fleet_tally(expected, seen, cutoff=fake.clock.timestamp())
    steady = [p for t, p in samples if t >= first_looks_done]
    # From the first sample after the first looks to the end: what a fleet
    # that has seen every job spends per change.
    since, describes0, sqs0 = next(
        (c for c in counts if c[0] >= first_looks_done), (elapsed, describes, sqs_calls)
    )
    changes_since = sum(b >= since for b, _ in delays)
    return {
        "poller": _fleet_label(hints=hints, settings=settings or {}),
        "hints": hints,
        "faults": faults,
        "settings": settings or {},
        "backlog": backlog,
        "jobs": jobs,
        "simulated_seconds": round(elapsed),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "cpu_share_of_one_core": cpu / elapsed,
        "fake_model_cpu_share": model.seconds / elapsed,
        "cpu_share_per_wall": cpu / wall,
        "peak_rss_mib": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
        "first_looks_done_s": round(first_looks_done),
        "first_look": spread("delay", first_look),
        "all": {**spread("delay", [d for _, d in delays]), "n": transitions},
        "after_first_looks": {
            **spread("delay", [d for b, d in delays if b >= first_looks_done]),
            "n": sum(b >= first_looks_done for b, _ in delays),
        },
        "staleness_p95_steady": round(percentile(steady, 0.5), 1)
        if steady
        else math.nan,
        "staleness_p95_end": round(stats.staleness_p95, 1),
        "after_first_looks_from_s": round(since),
        "describes_per_transition_after_first_looks": round(
            (describes - describes0) / changes_since, 2
        )
        if changes_since
        else math.nan,
        "sqs_calls_per_second_after_first_looks": round(
            (sqs_calls - sqs0) / (elapsed - since), 3
        )
        if elapsed > since
        else math.nan,
        "describes": describes,
        "transitions_seen": transitions,
        "first_looks": len(first_seen),
        "describes_per_transition": round(describes / max(transitions, 1), 2),
        "describes_per_change": round(
            describes / max(transitions + len(first_seen), 1), 2
        ),
        "list_calls": received.requests.get("ListTrainingJobs", 0),
        "sqs_calls": sqs_calls,
        "sqs_calls_per_second": round(sqs_calls / elapsed, 3),
        "sqs_requests": {op: received.requests.get(op, 0) for op in SQS_OPERATIONS},
        "hint_statistics": hint_stats,
        "events": events,
        "throttled_by_service": sum(received.throttled.values()),
        "lost": lost,
        **counted,
    }


def _fleet_label(*, hints: bool, settings: dict[str, float]) -> str:
    if not hints:
        return "FleetWatcher (sweeps)"
    if not settings:
        return "FleetWatcher with hints"
    chosen = ", ".join(f"{k}={v:g}" for k, v in settings.items())
    return f"FleetWatcher with hints ({chosen})"


def _fleet_tally(
    expected: dict[str, list[tuple[str, float]]],
    seen: dict[str, list[tuple[str, float]]],
    *,
    cutoff: float,
) -> dict[str, int]:
    """Count the fleet's reports per job against the fake's transitions.

    A transition that began less than an hour before the end may still be
    due (a safety re-check away), so ``missing`` counts older ones only.
    """
    missing = repeated = 0
    for name, want in expected.items():
        got = Counter(seen.get(name, []))
        old = Counter(k for k in want if k[1] <= cutoff - 3600)
        missing += sum((old - got).values())
        repeated += sum((got - Counter(want)).values())
    return {"missing_older_than_1h": missing, "repeated": repeated}


def fleet_in_subprocess(
    jobs: int,
    duration: float,
    seed: int,
    *,
    hints: bool,
    faults: str | None = None,
    settings: dict[str, float] | None = None,
    backlog: float = 0.0,
) -> dict[str, Any]:
    """Run :func:`fleet` in a fresh interpreter; return its figures."""
    args = [
        sys.executable,
        "-m",
        "bench.hints",
        "fleet",
        "--jobs",
        str(jobs),
        "--duration",
        str(duration),
        "--seed",
        str(seed),
    ]
    if hints:
        args.append("--hints")
    if faults:
        args += ["--faults", faults]
    if settings:
        args += ["--settings", json.dumps(settings)]
    if backlog:
        args += ["--backlog", str(backlog)]
    out = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        args, check=False, capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode != 0:
        # Kept and reported: the other rows of a long run are still worth it.
        return {
            "error": out.stderr[-3000:],
            "jobs": jobs,
            "hints": hints,
            "faults": faults,
            "settings": settings or {},
            "backlog": backlog,
            "poller": _fleet_label(hints=hints, settings=settings or {}),
        }
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- the whole section --------------------------------------------------------------


class LogCounter:
    """A structlog processor that counts events by name and drops them.

    The watchers log each fallback and each return to hints; a benchmark
    counts them instead of printing them (and never sees a message body).
    """

    def __init__(self) -> None:
        """Start with no events counted."""
        self.counts: Counter[str] = Counter()

    def __call__(
        self, _logger: object, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """Count the event; drop it."""
        self.counts[str(event_dict.get("event"))] += 1
        raise structlog.DropEvent


def _commit() -> str:
    """The checkout's commit, with ``+`` when src or bench have changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src", "bench"],  # noqa: S607
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


def run(
    *,
    quick: bool,
    seed: int,
    hints: bool = True,
    jobs: int | None = None,
    sizes: Sequence[int] | None = None,
    duration: float | None = None,
) -> dict[str, Any]:
    """Parts 1 to 3: the one-job blocks, then the fleets (two at a time).

    Quick: 30 jobs per population and fleets of 1,000 jobs for 1,800 s; full:
    200 jobs per population, fleets of 1,000 and 10,000 jobs for 2,400 s,
    each in two scenarios: created at once, and launched over the ``BACKLOG``
    before. At the smallest size the fleet also runs with ``FLEET_TUNED``
    and with part 3's faults.
    *jobs*, *sizes* and *duration* replace those (tests run a small one);
    *hints* ``False`` runs the polling rows alone.
    """
    logs = LogCounter()
    before = structlog.get_config()
    structlog.configure(processors=[logs])
    try:
        return _run(
            logs,
            quick=quick,
            seed=seed,
            hints=hints,
            jobs=jobs,
            sizes=sizes,
            duration=duration,
        )
    finally:
        structlog.configure(**before)


def _run(
    logs: LogCounter,
    *,
    quick: bool,
    seed: int,
    hints: bool,
    jobs: int | None,
    sizes: Sequence[int] | None,
    duration: float | None,
) -> dict[str, Any]:
    load_before = os.getloadavg()
    wall0 = time.perf_counter()
    commit = _commit()
    jobs = jobs or (30 if quick else 200)
    sizes = sizes or ([1000] if quick else [1000, 10000])
    duration = duration or (1800.0 if quick else 2400.0)
    plan: list[dict[str, Any]] = []
    for size in sizes:
        plan += [{"jobs": size, "hints": True}, {"jobs": size, "hints": False}]
    plan += [
        {"jobs": min(sizes), "hints": True, "settings": FLEET_TUNED},
        {"jobs": min(sizes), "hints": True, "faults": FAULTS},
    ]
    for size in sizes:
        plan += [
            {"jobs": size, "hints": True, "backlog": BACKLOG},
            {"jobs": size, "hints": False, "backlog": BACKLOG},
        ]
    plan.append(
        {"jobs": min(sizes), "hints": True, "faults": FAULTS, "backlog": BACKLOG}
    )
    plan = [p for p in plan if hints or not p["hints"]]
    # The fleets run in subprocesses, two at a time, the largest first; the
    # one-job blocks run in this process meanwhile.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        order = sorted(range(len(plan)), key=lambda i: -plan[i]["jobs"])
        futures = {
            i: pool.submit(fleet_in_subprocess, duration=duration, seed=seed, **plan[i])
            for i in order
        }
        print(f"9. hints: one job, {jobs} jobs per population", flush=True)
        blocks = [
            anyio.run(
                functools.partial(
                    one_job, TUNING, jobs, seed, ceilings=CEILINGS, hints=hints
                )
            )
        ]
        ceiling, met = tuned(blocks[0]) if hints else (None, False)
        ceilings = [
            DEFAULT_CEILING,
            *([ceiling] if ceiling not in {None, DEFAULT_CEILING} else []),
        ]
        blocks.append(
            anyio.run(
                functools.partial(
                    one_job, HELD_OUT, jobs, seed, ceilings=ceilings, hints=hints
                )
            )
        )
        for block in blocks:
            print(f"  hints: {block['population']} done", flush=True)
        fleets = [futures[i].result() for i in range(len(plan))]
    return {
        "meta": {
            "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit,
            "wall_seconds": round(time.perf_counter() - wall0, 1),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "quick": quick,
        "seed": seed,
        "logs": dict(logs.counts),
        "tuned_ceiling": ceiling,
        "tuned_ceiling_met_targets": met,
        "one_job": blocks,
        "fleet": {"duration": duration, "rows": fleets},
    }


def results_file(*, quick: bool) -> Path:
    """Where :func:`main` and ``python -m bench`` keep this section's results."""
    return RESULTS / ("hints-quick.json" if quick else "hints.json")


def main(argv: list[str] | None = None) -> int:
    """Run the section (or one fleet, ``fleet ...``); print or write its JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.hints")
    parser.add_argument("what", nargs="?", choices=["all", "fleet"], default="all")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1000, help="fleet: jobs")
    parser.add_argument(
        "--duration", type=float, help="simulated s per fleet (fleet: 1800)"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="all: fleet sizes (the mode's else)"
    )
    parser.add_argument(
        "--population-jobs", type=int, help="all: jobs per population (the mode's)"
    )
    parser.add_argument("--hints", action="store_true", help="fleet: with hints")
    parser.add_argument("--faults", help="fleet: an EVENT_FAULT_SCENARIOS name")
    parser.add_argument(
        "--settings", default="{}", help="fleet: SqsHints keywords, as JSON"
    )
    parser.add_argument(
        "--backlog", type=float, default=0.0, help="fleet: s of launches before"
    )
    parser.add_argument(
        "--no-hints", action="store_true", help="all: the polling rows only"
    )
    args = parser.parse_args(argv)
    if args.what == "fleet":
        logs = LogCounter()
        structlog.configure(processors=[logs])
        figures = anyio.run(
            functools.partial(
                fleet,
                args.jobs,
                args.duration or 1800.0,
                args.seed,
                hints=args.hints,
                faults=args.faults,
                settings=json.loads(args.settings),
                backlog=args.backlog,
            )
        )
        print(json.dumps({**figures, "logs": dict(logs.counts)}))
        return 0
    result = run(
        quick=args.quick,
        seed=args.seed,
        hints=not args.no_hints,
        jobs=args.population_jobs,
        sizes=args.sizes,
        duration=args.duration,
    )
    out = results_file(quick=args.quick)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(section(result)))
    return 0


def _n(value: float, digits: int = 1) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{value + 0.0:,.{digits}f}"


def _three(figures: dict[str, Any], label: str) -> str:
    return " / ".join(_n(figures[f"{label}_{q}"]) for q in ("p50", "p95", "max"))


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else "**missed**"


def _one_job_table(block: dict[str, Any]) -> list[str]:
    lines = [
        (
            f"**{block['population']}** ({block['jobs']} jobs, "
            f"{block['job_hours']:,} job-hours, {block['transitions']:,} "
            "transitions)"
        ),
        "",
        (
            "| poller | DescribeTrainingJob per transition | per job-hour "
            "| SQS calls per job-hour | transition p50 / p95 / max s "
            "| terminal p50 / p95 / max s | missing / repeated "
            "| jobs every transition once, in order | fallbacks |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in [*block["rows"], *block["faulted"]]:
        name = row["poller"]
        if row.get("computed"):
            name += " (computed)"
        elif "agrees_with_simulation" in row:
            same = "same" if row["agrees_with_simulation"] else "NOT the same"
            name += f" ({same} calls as section 1's simulation)"
        hinted = "ceiling" in row
        lines.append(
            f"| {name} | {_n(row['describes_per_transition'], 2)} "
            f"| {_n(row['describes_per_job_hour'])} "
            f"| {_n(row['sqs_calls_per_job_hour']) if hinted else '0'} "
            f"| {_three(row, 'transition')} | {_three(row, 'terminal')} "
            f"| {row['missing']} / {row['repeated']} "
            f"| {row['jobs_exact']} of {row['jobs']} "
            f"| {row['fallbacks'] if hinted else ''} |"
        )
    lines.append("")
    return lines


def _fleet_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        (
            "| poller | jobs | events under faults | delay after first looks "
            "p50 / p95 / max s (n) | whole run p95 s | staleness p95 s "
            "(statistics) | DescribeTrainingJob per transition, whole run / after "
            "first looks | SQS calls/s (receives + deletes), whole run / after "
            "first looks | ListTrainingJobs/s | CPU share of one core "
            "(without the fake's model) | peak RSS MiB | missing / repeated |"
        ),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    for row in rows:
        name = row["poller"]
        if row.get("note"):
            notes.append(row["note"])
            name += f" (note {len(notes)})"
        after = row["after_first_looks"]
        faults = "20 % dropped, 20 % duplicated" if row.get("faults") else "none"
        cpu = row["cpu_share_of_one_core"]
        without = cpu - row["fake_model_cpu_share"]
        lines.append(
            f"| {name} | {row['jobs']:,} | {faults} "
            f"| {_three(after, 'delay')} ({after['n']:,}) "
            f"| {_n(row['all']['delay_p95'])} "
            f"| {_n(row['staleness_p95_steady'])} "
            f"| {_n(row['describes_per_transition'], 2)} / "
            f"{_n(row.get('describes_per_transition_after_first_looks', math.nan), 2)} "
            f"| {_n(row['sqs_calls_per_second'], 2)} / "
            f"{_n(row.get('sqs_calls_per_second_after_first_looks', math.nan), 2)} "
            f"| {_n(row['list_calls'] / row['simulated_seconds'], 2)} "
            f"| {cpu:.1%} ({without:.1%}) | {_n(row['peak_rss_mib'], 0)} "
            f"| {row['missing_older_than_1h']} / {row['repeated']} |"
        )
    lines.append("")
    lines += [f"Note {i}: {note}" for i, note in enumerate(notes, 1)]
    return [*lines, ""] if notes else lines


def section(result: dict[str, Any]) -> list[str]:
    """BENCHMARKS.md's section 9 for *result* (what :func:`run` returns), as lines."""
    meta = result["meta"]
    mode = "--quick" if result["quick"] else "full"
    blocks = result["one_job"]
    fleets = result["fleet"]["rows"]
    lines = [
        "## 9. Push hints: EventBridge events through SQS (issue 13)",
        "",
        (
            f"*Measured {meta['measured_at']} at commit `{meta['commit']}` in "
            f"{meta['wall_seconds']:,.0f} s ({mode} run, seed {result['seed']}); "
            "load average (1 / 5 / 15 min) "
            + " / ".join(f"{x:.2f}" for x in meta["load_before"])
            + " before, "
            + " / ".join(f"{x:.2f}" for x in meta["load_after"])
            + f" after, on {meta['cores']} cores.*"
        ),
        "",
        *([meta["note"], ""] if meta.get("note") else []),
        "```sh",
        "python -m bench --only hints            # this section (--quick: fewer jobs)",
        "python -m bench.hints [--quick]         # alone: bench/results/hints.json",
        "python -m bench.hints fleet --jobs 10000 --duration 2400 --hints  # a fleet",
        "```",
        "",
        (
            "What users feel, from a change in the service to the event they "
            "receive. The fake SageMaker publishes each job's EventBridge \"SageMaker "
            'Training Job State Change" event into an SQS queue it serves '
            '(`FakeSageMaker(events_queue="events")`) at the instant of the change; '
            "real EventBridge adds its delivery latency to every hinted delay (the "
            f"row with each event 0-{LATE_SECONDS:g} s late shows how). Everything "
            "runs over real HTTP on a hand-driven clock (`ManualClock`), so delays "
            "are simulated seconds and include none of the machine's load."
        ),
        "",
        "### One job at a time",
        "",
        (
            "Each job of a population of `bench/populations.py` is watched to its "
            "end by `sw.watch(..., hints=sw.SqsHints(queue_url, client=sqs, "
            "ceiling=...))`, on a fake of its own, and again by today's schedule "
            "(`watch()` without hints, over HTTP too); the fixed pollers are "
            "computed from the same timelines (a poller every T s from creation "
            "sees a change at the next multiple of T, as in section 1). The safety "
            "ceiling (while hints flow, each job is described at least every "
            "*ceiling* s) was tried at "
            + ", ".join(f"{c:g}" for c in CEILINGS)
            + " s on `tuning`; `held-out` runs the default "
            + f"({DEFAULT_CEILING:g} s) and "
            + (
                f"the smallest that met every target on `tuning` "
                f"({result['tuned_ceiling']:g} s)."
                if result.get("tuned_ceiling_met_targets")
                else "the one with the fewest describes on `tuning` "
                f"({result.get('tuned_ceiling') or 0:g} s; none met every target)."
            )
            + " *Missing / repeated* counts each job's `StatusEntered` events "
            "against the transitions the fake recorded; *fallbacks* counts the "
            "watches' falls back to their schedule (`HintStatistics.fallbacks`)."
        ),
        "",
    ]
    for block in blocks:
        lines += _one_job_table(block)
    tuning = blocks[0]
    default = next(r for r in tuning["rows"] if r.get("ceiling") == DEFAULT_CEILING)
    lines += [
        (
            f"Targets on `tuning` at the default ceiling ({DEFAULT_CEILING:g} s): "
            f"p95 transition {_n(default['transition_p95'])} s (<= 5 s: "
            f"{_verdict(default['transition_p95'], TARGET_DELAY_S)}), p95 "
            f"terminal {_n(default['terminal_p95'])} s ("
            f"{_verdict(default['terminal_p95'], TARGET_DELAY_S)}), "
            f"{_n(default['describes_per_transition'], 2)} DescribeTrainingJob "
            "per transition (<= 1.3: "
            f"{_verdict(default['describes_per_transition'], TARGET_DESCRIBES)})."
            " An ideal hinted watcher (one first look per job, one describe "
            "per transition, a safety re-check whenever the ceiling passes "
            "without a describe) makes "
            + ", ".join(
                f"{per} at {c} s" for c, per in tuning["floor_per_transition"].items()
            )
            + " per transition on `tuning`: its jobs change about every "
            f"{tuning['job_hours'] * 60 / tuning['transitions']:.0f} minutes, "
            "so the re-checks, not the hints, decide the count."
        ),
        "",
        "### A fleet",
        "",
        (
            "One `FleetWatcher` at its defaults (`max_in_flight=1`) with "
            "`hints=sw.SqsHints(...)` at its defaults and without (sweeps, "
            "today's default), section 2's quotas on the fake (DescribeTrainingJob "
            "20/s, ListTrainingJobs 2/s), each run in a fresh interpreter with the "
            "fake in it (so CPU and RSS include the fake's server: upper bounds; "
            "its model is timed apart, its SQS side is not). Delay: each "
            "`StatusEntered`'s time minus the transition's start; a job's first "
            "look (its first describe, which reports what happened before it was "
            "watched) is left out, and the figures start once every job had its "
            "first look. Staleness: `fleet.statistics().staleness_p95`, the "
            "median of its samples every simulated minute after the first looks. "
            "CPU share: process CPU time / simulated time, the share of one core "
            "the same work takes in real time. *Missing* counts transitions older "
            "than an hour at the end that no event reported."
        ),
        "",
    ]
    scenarios = {
        0.0: (
            "**Created at once** (a thundering start, as in sections 2 and 7): "
            "jobs of `bench/_timelines.py`, all created when the fleet starts."
        ),
        BACKLOG: (
            f"**Launched over the {BACKLOG / 3600:g} hours before** the fleet "
            "starts, at uniform instants: jobs of `bench/_timelines.py` with "
            f"Training around {BACKLOG_TRAINING / 3600:g} h (as the soak's), so "
            "the fleet finds them at every stage and its first looks are "
            "followed by a steady flow of changes; the EventBridge rule routes "
            "events from the fleet's start."
        ),
    }
    for backlog, words in scenarios.items():
        rows = [r for r in fleets if r.get("backlog", 0.0) == backlog]
        if not rows:
            continue
        seconds = sorted({r.get("simulated_seconds", 0) for r in rows} - {0})
        lines += [
            words
            + " Simulated s per run: "
            + ", ".join(f"{x:,}" for x in seconds)
            + ".",
            "",
        ]
        lines += _fleet_table([r for r in rows if "error" not in r])
        lines += [
            f"* {r['poller']}, {r['jobs']:,} jobs: **failed** (see `error` in the "
            "results file)."
            for r in rows
            if "error" in r
        ]
        lines += _fleet_targets(rows)
    lines += _fault_lines(blocks, fleets)
    if result.get("notes"):
        lines += ["### What the figures show", ""]
        for paragraph in result["notes"]:
            lines += [paragraph, ""]
    return lines


def _fleet_targets(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        if not row["hints"] or row.get("faults") or "error" in row:
            continue
        after = row["after_first_looks"]
        cpu = row["cpu_share_of_one_core"]
        describes = row.get(
            "describes_per_transition_after_first_looks",
            row["describes_per_transition"],
        )
        sqs = row.get("sqs_calls_per_second_after_first_looks", math.nan)
        if isinstance(sqs, float) and math.isnan(sqs):
            sqs = row["sqs_calls_per_second"]
        if isinstance(describes, float) and math.isnan(describes):
            describes = row["describes_per_transition"]
        lines.append(
            f"* {row['poller']}, {row['jobs']:,} jobs: delay p95 after the first "
            f"looks {_n(after['delay_p95'])} s and staleness p95 "
            f"{_n(row['staleness_p95_steady'])} s (<= 5 s: "
            f"{_verdict(max(after['delay_p95'], row['staleness_p95_steady']), 5)}),"
            f" {_n(describes, 2)} DescribeTrainingJob per transition (<= 1.3: "
            f"{_verdict(describes, TARGET_DESCRIBES)}), "
            f"{_n(sqs, 2)} SQS calls/s (<= 1: {_verdict(sqs, TARGET_SQS_PER_S)}), "
            f"{cpu:.1%} of one core with the fake (< 25 %: "
            f"{_verdict(cpu, TARGET_CPU_SHARE)})."
        )
    return [*lines, ""] if lines else []


def _fault_lines(
    blocks: list[dict[str, Any]], fleets: list[dict[str, Any]]
) -> list[str]:
    lines = ["### 20 % of events dropped and 20 % duplicated", ""]
    for block in blocks:
        for row in block["faulted"]:
            if "dropped" not in row["poller"]:
                continue
            lines.append(
                f"* One job, `{block['population']}`: {row['missing']} transitions "
                f"missing and {row['repeated']} repeated over {row['jobs']} jobs "
                f"({row['jobs_exact']} reported every transition once, in order); "
                f"transition p95 / max {_n(row['transition_p95'])} / "
                f"{_n(row['transition_max'])} s, terminal p95 / max "
                f"{_n(row['terminal_p95'])} / {_n(row['terminal_max'])} s against "
                f"a ceiling of {row['ceiling']:g} s; {row['fallbacks']} fallbacks "
                "to the schedule."
            )
    for row in fleets:
        if not row.get("faults") or "error" in row:
            continue
        events = row.get("events") or {}
        after = row["after_first_looks"]
        lines.append(
            f"* Fleet of {row['jobs']:,} "
            + ("launched before" if row.get("backlog") else "created at once")
            + f": {row['missing_older_than_1h']} "
            f"transitions missing, {row['repeated']} repeated; delay p95 / max "
            f"{_n(after['delay_p95'])} / {_n(after['delay_max'])} s after the "
            f"first looks ({events.get('dropped', 0):,} events dropped and "
            f"{events.get('duplicated', 0):,} duplicated of "
            f"{events.get('emitted', 0):,})."
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    sys.exit(main())
