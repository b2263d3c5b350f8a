"""Run every benchmark side by side; write bench/results/latest.json, BENCHMARKS.md.

Usage: ``python -m bench`` (the full set, about 65 minutes on an idle machine) or
``python -m bench --quick`` (about 10 minutes). Through nox: ``python -m nox -s bench``
and ``python -m nox -s bench -- --quick``. One command writes the whole of
BENCHMARKS.md: calls versus latency, fleet scale, per-poll overhead and the ways into
``watch()``, the CLI with 50 jobs, the soak, the cost of one call and of starting
up (``bench.calls``) and the fleet's change-to-event delay (``bench.fleet_freshness``),
each before and after issue 11's changes, push hints against polling
(``bench.hints``, issue 13) and training logs against the SDK's polling
(``bench.logs``, issue 14).

``--only overhead,cli`` re-runs some sections and takes the others from the last
results of the same mode (``bench/results/latest.json``, or ``latest-quick.json``
for ``--quick``; a section never run is left out of the report); the results are
written after every section, so a run cut short keeps what it measured. Every
section records when, at which commit and under what load it ran, and the report
prints that beside it. On a shared machine, read the ratios measured within one
section, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from . import calls, cli_fleet, fleet, fleet_freshness, hints, latency, logs, overhead
from ._report import write_markdown

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECTIONS = (
    "latency",
    "fleet",
    "overhead",
    "cli",
    "soak",
    "calls",
    "freshness",
    "hints",
    "logs",
)


def _commit() -> str:
    """The checkout's commit, with ``+`` when it has uncommitted changes."""
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
        # Not a checkout (a `git archive` of one): the commit is named outside.
        return os.environ.get("BENCH_COMMIT", "unknown")
    return head + ("+" if dirty else "")


def _timed(name: str, run: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """Run one section; return its figures and when, where and under what load."""
    load_before = os.getloadavg()
    wall0 = time.perf_counter()
    figures = run()
    return figures, {
        "section": name,
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "wall_seconds": round(time.perf_counter() - wall0, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
    }


def _soak(*, quick: bool, seed: int) -> dict[str, Any]:
    """Run ``python -m bench.soak`` in its own interpreter; return its figures."""
    args = [sys.executable, "-m", "bench.soak", "--seed", str(seed)]
    status = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [*args, "--quick"] if quick else args, cwd=ROOT, check=False
    ).returncode
    out = RESULTS / ("soak-quick.json" if quick else "soak.json")
    result: dict[str, Any] = json.loads(out.read_text())
    result["exit_status"] = status
    return result


def _issue_11(name: str, *, quick: bool, seed: int) -> dict[str, Any]:
    """Run issue 11's section *name*, old and new side by side; return its figures."""
    if name == "calls":
        print("6. CPU per call, import and --version, old and new", flush=True)
        return calls.run(quick=quick)
    jobs = [1000] if quick else [1000, 10000]
    seconds = 1800.0 if quick else 5400.0
    print(
        f"7. fleet change-to-event delay, {' and '.join(map(str, jobs))} jobs, "
        f"{seconds:g} simulated s, before and after",
        flush=True,
    )
    return fleet_freshness.run(jobs=jobs, duration=seconds, seed=seed)


def _run_section(name: str, *, quick: bool, seed: int) -> dict[str, Any]:  # noqa: PLR0911 - a branch per section
    """Run section *name*; return its figures."""
    if name == "latency":
        jobs = 60 if quick else 1000
        print(f"1. calls vs delay, {jobs} jobs per population", flush=True)
        return {"populations": anyio.run(latency.run, jobs, seed)}
    if name == "fleet":
        sizes = [1000] if quick else [1000, 10000]
        seconds = 1800.0 if quick else 7200.0
        independent_seconds = 180.0 if quick else 600.0
        rows = []
        for size in sizes:
            print(f"2. fleet of {size} jobs, {seconds:g} simulated s", flush=True)
            rows.append(fleet.run_in_subprocess("fleet", size, seconds, seed))
        print(
            f"2. independent pollers, 1000 jobs, {independent_seconds:g} simulated s",
            flush=True,
        )
        rows.append(
            fleet.run_in_subprocess("independent", 1000, independent_seconds, seed)
        )
        return {"rows": rows}
    if name == "overhead":
        print("3. library overhead per poll, and the ways into watch()", flush=True)
        per_poll = anyio.run(overhead.run, 300 if quick else 2000)
        ways = anyio.run(overhead.ways, 1.0 if quick else 2.0, 3 if quick else 5)
        return {"per_poll": per_poll, "ways": ways}
    if name == "cli":
        duration = 1800.0 if quick else 3600.0
        print(
            f"4. sagemaker-watch watch, 50 jobs, {duration:g} simulated s", flush=True
        )
        return {"rows": cli_fleet.run(jobs=50, duration=duration, seed=seed)}
    if name in {"calls", "freshness"}:
        return _issue_11(name, quick=quick, seed=seed)
    if name == "hints":
        figures = hints.run(quick=quick, seed=seed)
        hints.results_file(quick=quick).write_text(json.dumps(figures, indent=2) + "\n")
        return figures
    if name == "logs":
        figures = logs.run(quick=quick, seed=seed)
        logs.results_file(quick=quick).write_text(json.dumps(figures, indent=2) + "\n")
        return figures
    print("5. soak", flush=True)
    return _soak(quick=quick, seed=seed)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; return the exit status (1 if a soak check failed)."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="a run of a few minutes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only",
        help=f"comma-separated sections to re-run ({','.join(SECTIONS)}); the "
        "others come from the last bench/results/latest.json (latest-quick.json "
        "with --quick)",
    )
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    only = SECTIONS if args.only is None else tuple(args.only.split(","))
    if unknown := set(only) - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    latest = RESULTS / ("latest-quick.json" if args.quick else "latest.json")
    result: dict[str, Any] = {}
    if args.only is not None and latest.exists():
        result = json.loads(latest.read_text())
        if "runs" not in result:  # written before sections recorded their runs
            result = {}
        elif result.get("mode") != mode:
            parser.error(f"{latest} is a {result.get('mode')} run")
    result.update(
        mode=mode,
        command="python -m nox -s bench" + (" -- --quick" if args.quick else ""),
        python=sys.version.split()[0],
        machine=platform.machine(),
        seed=args.seed,
    )
    runs = {run["section"]: run for run in result.get("runs", [])}
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in SECTIONS:
        if name in only:
            result[name], runs[name] = _timed(
                name,
                functools.partial(_run_section, name, quick=args.quick, seed=args.seed),
            )
            result["runs"] = [runs[n] for n in SECTIONS if n in runs]
            # After every section: a run cut short keeps what it measured.
            latest.write_text(json.dumps(result, indent=2) + "\n")
    report(result)
    return 1 if result.get("soak", {}).get("failures") else 0


def report(result: dict[str, Any]) -> None:
    """Write BENCHMARKS.md and the plot from *result* (and the baseline, if any)."""
    if "populations" in result.get("latency", {}):
        latency.plot(result["latency"]["populations"], RESULTS / "latency_vs_calls.png")
    baseline = RESULTS / "baseline.json"
    write_markdown(
        result,
        ROOT / "BENCHMARKS.md",
        baseline=json.loads(baseline.read_text()) if baseline.exists() else None,
    )
    print("wrote the results in bench/results/, BENCHMARKS.md and the plot")


if __name__ == "__main__":
    sys.exit(main())
