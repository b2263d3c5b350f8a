"""The soak: 1,000 jobs through 24 simulated hours, faults sprinkled in, one fleet.

Usage: ``python -m bench.soak`` (the full run, a few minutes) or
``python -m bench.soak --quick`` (100 jobs over 4 hours, seconds). Through nox:
``python -m nox -s soak``. Writes ``bench/results/soak.json`` (``soak-quick.json``
for a quick run) and exits non-zero if any check fails.

One process holds the fake SageMaker (a real aiohttp server on 127.0.0.1) and one
``FleetWatcher`` with a real aiobotocore client, as ``bench.fleet`` does; both run
on one ``ManualClock`` with ``max_in_flight=1``, so a simulated day takes minutes and
every run with the same seed sends the same requests in the same order. Jobs are
created at uniformly drawn instants over the simulated day with timelines drawn as
``bench`` draws them (long trainings, so a few hundred are alive at once). Job 0 is
a plain job that trains for the whole run, so the fleet is never idle (an idle fleet
sleeps without its clock and nothing would create the next job).

The fleet's clock is the fake's clock seen through ``_Driver``, which never lets one
sleep jump past the next scheduled job creation, fault burst or hourly sample, and
does those things at exactly their instant. When a job's terminal event arrives the
soak checks it against the fake (terminal kind, reason or failure reason, and the
job's ``StatusEntered`` sequence against its ``SecondaryStatusTransitions``), then
``fleet.remove()`` s it and deletes it from the fake, as a long-lived service would
(``--keep-finished`` skips that, to measure what finished jobs cost).

Memory is sampled each simulated hour after a ``gc.collect()``: the process's
current RSS (fake included) and, with ``--tracemalloc`` (about 20 times slower), the
heap allocated with a library module (``sagemaker_watch/_*.py``, not ``testing``)
among its 8 innermost frames.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import dataclasses
import gc
import json
import os
import platform
import random
import sys
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import structlog

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker, Fault, ManualClock, plain

from ._timelines import draw

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, MutableMapping

RESULTS = Path(__file__).resolve().parent / "results"
HOUR = 3600.0
#: The fake's quotas, on simulated time, as in ``bench.fleet``.
DESCRIBE_QUOTA = 20.0
LIST_QUOTA = 2.0
#: Library heap allowed to remain after every job was removed (interned strings,
#: caches that do not grow with jobs).
LEFTOVER_LIMIT_KIB = 256.0
#: RSS growth allowed from hour 2 to the last full hour, as a share of hour 2's.
RSS_GROWTH_LIMIT = 0.10
#: Library heap trend allowed once the heap per alive job is accounted for.
HEAP_TREND_LIMIT_KIB_PER_HOUR = 16.0


def _faults() -> list[Fault]:
    """The sprinkled faults, armed for the whole run."""
    return [
        Fault.throttle(probability=0.05),
        Fault.server_error(503, probability=0.01),
        Fault.drop_connection(probability=0.01),
        Fault.malformed_body("cut_json", probability=0.005),
    ]


def _bursts(hours: float) -> list[tuple[float, str, list[Fault]]]:
    """Occasional bursts: a throttling storm, a 5xx outage, a list outage."""
    kinds = [
        ("throttle burst", [Fault.throttle(times=60)]),
        ("5xx burst", [Fault.server_error(500, times=25)]),
        (
            "list outage",
            [Fault.server_error(503, operation="ListTrainingJobs", times=10)],
        ),
    ]
    every = max(hours / 6, 0.5)
    bursts = []
    at = every * 0.7
    i = 0
    while at < hours:
        name, faults = kinds[i % len(kinds)]
        bursts.append((at * HOUR, name, faults))
        at += every
        i += 1
    return bursts


@dataclasses.dataclass(kw_only=True)
class _Sample:
    hour: int
    alive: int
    created: int
    ended: int
    rss_mib: float
    library_heap_kib: float | None
    traced_heap_kib: float | None


class _Driver:
    """The fake's clock, seen by the fleet: sleeps stop at the soak's next action."""

    def __init__(self, inner: ManualClock) -> None:
        self.inner = inner
        self._actions: list[tuple[float, int, Callable[[], None]]] = []
        self._times: list[float] = []
        self._seq = 0

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run *action* when the clock reaches *when* (simulated seconds)."""
        i = bisect.bisect(self._times, when)
        self._times.insert(i, when)
        self._actions.insert(i, (when, self._seq, action))
        self._seq += 1

    def now(self) -> dt.datetime:
        return self.inner.now()

    def monotonic(self) -> float:
        return self.inner.monotonic()

    def deadline_remaining(self) -> float:
        return self.inner.deadline_remaining()

    def run_due(self) -> None:
        """Run every action due now, in order."""
        now = self.inner.monotonic()
        while self._times and self._times[0] <= now:
            self._times.pop(0)
            _, _, action = self._actions.pop(0)
            action()

    async def sleep(self, seconds: float) -> None:
        now = self.inner.monotonic()
        step = max(seconds, 0.0)
        if self._times:
            step = min(step, max(self._times[0] - now, 0.0))
        self.inner.advance(step)
        self.run_due()
        await anyio.lowlevel.checkpoint()


class _LogCounter:
    """A structlog processor that counts events by name and drops them."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    def __call__(
        self, _logger: object, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        self.counts[str(event_dict.get("event"))] += 1
        raise structlog.DropEvent


def _rss_mib() -> float:
    with Path("/proc/self/statm").open() as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


_LIBRARY = tracemalloc.Filter(
    inclusive=True, filename_pattern="*/sagemaker_watch/_*.py", all_frames=True
)


def _heaps() -> tuple[float, float] | tuple[None, None]:
    if not tracemalloc.is_tracing():
        return None, None
    snapshot = tracemalloc.take_snapshot()
    traced = sum(s.size for s in snapshot.statistics("filename"))
    library = sum(
        s.size for s in snapshot.filter_traces([_LIBRARY]).statistics("filename")
    )
    return library / 1024, traced / 1024


def _slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of *ys* against *xs* (0 for fewer than two points)."""
    if len(xs) < 2:  # noqa: PLR2004 - a line needs two points
        return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def _trend(samples: list[_Sample]) -> tuple[float, float]:
    """Fit heap = a + b * alive + c * hour; return (b KiB per alive job, c KiB/h)."""
    rows = [(1.0, float(s.alive), float(s.hour)) for s in samples]
    ys = [s.library_heap_kib or 0.0 for s in samples]
    if len(rows) < 3:  # noqa: PLR2004 - three unknowns
        return 0.0, 0.0
    # Normal equations, 3x3, solved by Cramer's rule.
    m = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    v = [sum(r[i] * y for r, y in zip(rows, ys, strict=True)) for i in range(3)]

    def det(a: list[list[float]]) -> float:
        return (
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        )

    d = det(m)
    if abs(d) < 1e-9:  # noqa: PLR2004 - singular: alive never varied
        return 0.0, _slope([r[2] for r in rows], ys)
    solved = []
    for k in range(3):
        mk = [[v[i] if j == k else m[i][j] for j in range(3)] for i in range(3)]
        solved.append(det(mk) / d)
    return solved[1], solved[2]


def _history(fake: FakeSageMaker, name: str) -> list[str]:
    return [
        str(t["Status"]) for t in fake.describe_job(name)["SecondaryStatusTransitions"]
    ]


def _expected_end(fake: FakeSageMaker, name: str) -> tuple[str, str | None]:
    final = fake.describe_job(name)
    primary = str(final["TrainingJobStatus"])
    kind = {"Completed": "JobCompleted", "Failed": "JobFailed"}.get(
        primary, "JobStopped"
    )
    detail = {
        "Completed": None,
        "Failed": final.get("FailureReason"),
        "Stopped": final.get("SecondaryStatus"),
    }.get(primary)
    return kind, None if detail is None else str(detail)


def _actual_end(event: sw.JobEnded) -> tuple[str, str | None]:
    if isinstance(event, sw.JobFailed):
        return type(event).__name__, event.failure_reason
    if isinstance(event, sw.JobStopped):
        return type(event).__name__, str(event.reason)
    return type(event).__name__, None


async def soak(  # noqa: C901, PLR0912, PLR0915 - one scenario, read top to bottom
    *, jobs: int, hours: float, seed: int, keep_finished: bool
) -> dict[str, Any]:
    """Run the soak; return its figures and the list of failed checks."""
    rng = random.Random(seed)
    duration = hours * HOUR
    logs = _LogCounter()
    structlog.configure(processors=[logs])
    failures: list[str] = []
    samples: list[_Sample] = []
    clock = ManualClock()
    driver = _Driver(clock)
    fake = FakeSageMaker(clock=clock, seed=seed)
    fake.set_quota(
        "DescribeTrainingJob", per_second=DESCRIBE_QUOTA, burst=DESCRIBE_QUOTA
    )
    fake.set_quota("ListTrainingJobs", per_second=LIST_QUOTA, burst=LIST_QUOTA)
    starts = sorted([0.0] + [rng.uniform(0, duration) for _ in range(jobs - 1)])
    timelines = [plain(training=duration + 2 * HOUR)] + [
        draw(rng, training_median=4 * HOUR) for _ in range(jobs - 1)
    ]
    names = [f"soak-{i:05d}" for i in range(jobs)]
    created: dict[str, float] = {}
    ended: dict[str, str] = {}
    entered: dict[str, list[str]] = collections.defaultdict(list)
    outcomes: collections.Counter[str] = collections.Counter()
    peak_alive = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    heap0 = _heaps()[0]

    async with fake, fake.client() as client:
        fleet = sw.FleetWatcher(client=client, clock=driver, max_in_flight=1, seed=seed)

        def create(i: int) -> Callable[[], None]:
            def action() -> None:
                fake.add_job(names[i], timelines[i])
                created[names[i]] = clock.monotonic()
                fleet.add(names[i])

            return action

        def burst(faults: list[Fault]) -> Callable[[], None]:
            return lambda: fake.inject(*faults)

        def sample(hour: int) -> Callable[[], None]:
            def action() -> None:
                gc.collect()
                library, traced = _heaps()
                samples.append(
                    _Sample(
                        hour=hour,
                        alive=len(created) - len(ended),
                        created=len(created),
                        ended=len(ended),
                        rss_mib=_rss_mib(),
                        library_heap_kib=library,
                        traced_heap_kib=traced,
                    )
                )
                print(
                    f"  hour {hour:2d}: created {len(created):5d}, alive "
                    f"{len(created) - len(ended):4d}, RSS {samples[-1].rss_mib:6.1f}"
                    " MiB"
                    + ("" if library is None else f", library heap {library:8.1f} KiB"),
                    flush=True,
                )

            return action

        for i, start in enumerate(starts):
            driver.at(start, create(i))
        bursts = _bursts(hours)
        for at, _, faults in bursts:
            driver.at(at, burst(faults))
        for hour in range(1, int(hours) + 1):
            driver.at(hour * HOUR, sample(hour))
        fake.inject(*_faults())

        async with fleet:
            driver.run_due()
            async for item in fleet.events(until_idle=False):
                name = item.job_name
                if name in ended:
                    failures.append(f"{name}: {type(item).__name__} after its end")
                    continue
                if isinstance(item, sw.StatusEntered):
                    entered[name].append(str(item.status))
                if isinstance(item, sw.JobLost):
                    failures.append(f"{name}: JobLost {item.error!r}")
                    ended[name] = "JobLost"
                elif isinstance(item, sw.JobEnded):
                    history, seen = _history(fake, name), entered.pop(name, [])
                    if history != seen:
                        failures.append(f"{name}: entered {seen} != {history}")
                    expected, actual = _expected_end(fake, name), _actual_end(item)
                    if expected != actual:
                        failures.append(f"{name}: ended {actual} != {expected}")
                    outcomes[actual[0]] += 1
                    ended[name] = actual[0]
                    if not keep_finished:
                        fleet.remove(name)
                        fake.delete_job(name)
                peak_alive = max(peak_alive, len(created) - len(ended))
                if len(ended) == jobs:
                    break
            stats = fleet.statistics()
        simulated = clock.monotonic()
        received = fake.statistics()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    gc.collect()
    heap_end = _heaps()[0]

    if len(ended) != jobs:
        failures.append(f"{jobs - len(ended)} jobs never ended")
    if stats.lost:
        failures.append(f"the fleet lost {stats.lost} jobs")
    unexpected_logs = {
        k: v for k, v in logs.counts.items() if k != "sagemaker_watch.fleet_poll_failed"
    }
    if unexpected_logs:
        failures.append(f"unexpected log events: {unexpected_logs}")

    steady = [s for s in samples if s.hour >= 2]  # noqa: PLR2004 - from hour 2
    rss_growth = steady[-1].rss_mib - steady[0].rss_mib if steady else 0.0
    rss_slope = _slope([s.hour for s in steady], [s.rss_mib for s in steady])
    if steady and rss_growth > RSS_GROWTH_LIMIT * steady[0].rss_mib:
        failures.append(
            f"RSS grew {rss_growth:.1f} MiB from hour 2 to hour {steady[-1].hour}"
        )
    per_alive = heap_trend = heap_growth = heap_slope = leftover = None
    if steady and steady[0].library_heap_kib is not None:
        per_alive, heap_trend = _trend(steady)
        heap_growth = (steady[-1].library_heap_kib or 0.0) - steady[0].library_heap_kib
        heap_slope = _slope(
            [s.hour for s in steady], [s.library_heap_kib or 0.0 for s in steady]
        )
        if abs(heap_trend) > HEAP_TREND_LIMIT_KIB_PER_HOUR:
            failures.append(
                f"library heap trends {heap_trend:+.1f} KiB/h beyond alive jobs"
            )
    if heap0 is not None and heap_end is not None:
        leftover = heap_end - heap0
        if not keep_finished and leftover > LEFTOVER_LIMIT_KIB:
            failures.append(
                f"{leftover:.0f} KiB of library heap left after every job was removed"
            )

    describes = received.requests.get("DescribeTrainingJob", 0)
    lists = received.requests.get("ListTrainingJobs", 0)
    return {
        "command": "python -m nox -s soak",
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "jobs": jobs,
        "simulated_hours_of_creation": hours,
        "simulated_seconds": round(simulated),
        "seed": seed,
        "keep_finished": keep_finished,
        "tracemalloc": tracemalloc.is_tracing(),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_alive": peak_alive,
        "outcomes": dict(sorted(outcomes.items())),
        "describe_calls": describes,
        "list_calls": lists,
        "describe_calls_per_job": round(describes / jobs, 2),
        "all_calls_per_job": round((describes + lists) / jobs, 2),
        "faulted_by_fake": dict(received.faulted),
        "throttled_by_fake": dict(received.throttled),
        "fleet_throttles": dict(stats.throttles),
        "fleet_errors": dict(stats.errors),
        "fleet_sweeps": stats.sweeps,
        "bursts": [(round(at / HOUR, 2), name) for at, name, _ in bursts],
        "log_events": dict(logs.counts),
        "rss_mib_hour2": round(steady[0].rss_mib, 1) if steady else None,
        "rss_mib_last": round(steady[-1].rss_mib, 1) if steady else None,
        "rss_growth_mib": round(rss_growth, 2),
        "rss_slope_mib_per_hour": round(rss_slope, 3),
        "peak_rss_mib": round(max((s.rss_mib for s in samples), default=0.0), 1),
        "library_heap_growth_kib": None if heap_growth is None else round(heap_growth),
        "library_heap_slope_kib_per_hour": None
        if heap_slope is None
        else round(heap_slope, 1),
        "library_heap_kib_per_alive_job": None
        if per_alive is None
        else round(per_alive, 2),
        "library_heap_trend_kib_per_hour": None
        if heap_trend is None
        else round(heap_trend, 2),
        "library_heap_left_after_all_removed_kib": None
        if leftover is None
        else round(leftover, 1),
        "samples": [dataclasses.asdict(s) for s in samples],
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the soak; print the figures; return 1 if any check failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--quick", action="store_true", help="100 jobs over 4 hours")
    parser.add_argument("--jobs", type=int, help="jobs (default 1000, quick 100)")
    parser.add_argument("--hours", type=float, help="hours of creation (24, quick 4)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace the library's heap (about 20 times slower)",
    )
    parser.add_argument(
        "--keep-finished",
        action="store_true",
        help="never remove finished jobs (measures what they cost)",
    )
    args = parser.parse_args(argv)
    jobs = args.jobs or (100 if args.quick else 1000)
    hours = args.hours or (4.0 if args.quick else 24.0)
    if args.tracemalloc:
        tracemalloc.start(8)
    print(f"soak: {jobs} jobs created over {hours:g} simulated hours", flush=True)
    result = anyio.run(
        lambda: soak(
            jobs=jobs, hours=hours, seed=args.seed, keep_finished=args.keep_finished
        )
    )
    result["mode"] = "quick" if args.quick else "full"
    if args.quick:
        result["command"] += " -- --quick"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("soak-quick.json" if args.quick else "soak.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=2))
    print(f"wrote {out.relative_to(RESULTS.parent.parent)}")
    if result["failures"]:
        print(f"FAILED: {len(result['failures'])} checks", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
