"""Run every benchmark side by side; write bench/results/latest.json, BENCHMARKS.md.

Usage: ``python -m bench`` (about 5 minutes) or ``python -m bench --quick``
(under two minutes). Through nox: ``python -m nox -s bench`` and
``python -m nox -s bench -- --quick``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import anyio

from . import fleet, latency, overhead
from ._report import write_markdown, write_plot

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="a run under 2 minutes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    quick = args.quick
    latency_jobs = 8 if quick else 40
    fleet_sizes = [1000] if quick else [1000, 10000]
    fleet_seconds = 1800.0 if quick else 7200.0
    independent_seconds = 180.0 if quick else 600.0

    print(f"1. calls vs latency, {latency_jobs} jobs per poller")
    latency_rows = anyio.run(latency.run, latency_jobs, args.seed)
    fleet_rows = []
    for size in fleet_sizes:
        print(f"2. fleet of {size} jobs, {fleet_seconds:g} simulated s")
        fleet_rows.append(
            fleet.run_in_subprocess("fleet", size, fleet_seconds, args.seed)
        )
    print(f"2. independent pollers, 1000 jobs, {independent_seconds:g} simulated s")
    fleet_rows.append(
        fleet.run_in_subprocess("independent", 1000, independent_seconds, args.seed)
    )
    print("3. library overhead per poll")
    overhead_row = anyio.run(overhead.run, 300 if quick else 2000)

    result = {
        "mode": "quick" if quick else "full",
        "command": "python -m nox -s bench" + (" -- --quick" if quick else ""),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "latency": latency_rows,
        "fleet": fleet_rows,
        "overhead": overhead_row,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    write_plot(latency_rows, RESULTS / "latency_vs_calls.png")
    write_markdown(result, ROOT / "BENCHMARKS.md")
    print("wrote bench/results/latest.json, BENCHMARKS.md and the plot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
