"""Benchmark 1: calls versus delay, one job at a time, on published populations.

For each population of ``bench/populations.py`` (tuned on ``tuning``, checked on
``held-out``, and ``no ProgressInfo``, what most jobs look like today) the same
drawn jobs are watched by:

* the default ``PollSchedule()``;
* the schedule before issue 11, as settings (``before``: 10 s in every short
  phase, 60 s in Training, jitter 0.5, nothing anticipated);
* the fixed poller making as many calls as the default (its interval solved
  for), and the fixed pollers others use (5 s SageMaker SDK, 30 s Airflow, 120 s
  botocore's waiter);
* for the plot, the default scaled (every delay x0.5, x2) and fixed pollers
  from 5 to 120 s.

The schedules run on the fake's service model through the per-job engine
``watch()`` drives (``bench.schedule_sim``); then the default is run again
through ``watch()`` over real HTTP against ``FakeSageMaker`` on the first jobs
of each population, and both must agree call for call (``confirmed``).
"""

from __future__ import annotations

import math
from typing import Any

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker, ManualClock

from .populations import POPULATIONS
from .schedule_sim import Job, draw, fixed_at, record, run_fixed, run_schedule

#: The schedule before issue 11, as settings of today's PollSchedule.
BEFORE = sw.PollSchedule(
    setup_max_delay=10, closing_max_delay=10, jitter=0.5, anticipate=False
)
#: Fixed pollers others use.
REFERENCES = {
    "fixed 5 s (SageMaker SDK)": 5.0,
    "fixed 30 s (Airflow)": 30.0,
    "fixed 120 s (botocore waiter)": 120.0,
}
#: The default with every delay scaled, for the plot's curve.
SCALES = (0.5, 2.0)
#: Fixed intervals for the plot's curve.
CURVE = (5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120)


def _scaled(factor: float) -> sw.PollSchedule:
    base = sw.PollSchedule()
    return sw.PollSchedule(
        min_delay=base.min_delay * factor,
        max_delay=base.max_delay * factor,
        setup_max_delay=base.setup_max_delay * factor,
        closing_max_delay=base.closing_max_delay * factor,
    )


def _limit(jobs: list[Job]) -> float:
    """The physical limit: one call per change of status (and the first)."""
    return sum(len(job.starts) + 1 for job in jobs) / sum(job.hours for job in jobs)


async def _over_http(
    jobs: list[Job], seed: int
) -> tuple[int, list[float], list[float]]:
    """Watch *jobs* with the default schedule through ``watch()`` over HTTP.

    Each job gets a fake of its own starting at the same simulated instant, as in
    the simulation: the same answers, to the microsecond.
    """
    calls = 0
    transition: list[float] = []
    terminal: list[float] = []
    for i, job in enumerate(jobs):
        async with (
            FakeSageMaker(clock=ManualClock(), quotas={}) as fake,
            fake.client() as c,
        ):
            fake.add_job("job", job.timeline)
            async for event in sw.watch(
                "job", client=c, clock=fake.clock, seed=seed * 1_000_003 + i
            ):
                seen = event.at.timestamp()
                if isinstance(event, sw.StatusEntered) and event.previous_status:
                    transition.append(seen - event.started_at.timestamp())
                if isinstance(event, sw.JobEnded):
                    last = event.snapshot.transitions[-1].started_at.timestamp()
                    terminal.append(seen - last)
            calls += fake.request_count("DescribeTrainingJob", "job")
    return calls, transition, terminal


async def run(jobs: int, seed: int, *, confirm: int = 50) -> list[dict[str, Any]]:
    """Every population: one block of rows, the plot's curves, the HTTP check."""
    blocks = []
    for population in POPULATIONS:
        recorded = [record(t) for t in draw(population, jobs, seed)]
        ours = run_schedule("default", sw.PollSchedule(), recorded, seed)
        rows = [
            ours.figures(),
            run_schedule("before (issue 10)", BEFORE, recorded, seed).figures(),
            {**fixed_at(ours.calls, recorded).figures(), "equal_calls": True},
        ]
        for label, interval in REFERENCES.items():
            rows.append({**run_fixed(interval, recorded).figures(), "poller": label})
        curve = [run_fixed(t, recorded).figures() for t in CURVE]
        scaled = [
            {
                **run_schedule(f"x{f:g}", _scaled(f), recorded, seed).figures(),
                "poller": f"default x{f:g}",
            }
            for f in SCALES
        ]
        head = recorded[:confirm]
        sim = run_schedule("default", sw.PollSchedule(), head, seed)
        calls, transition, terminal = await _over_http(head, seed)
        confirmed = (
            calls == sim.calls
            and len(transition) == len(sim.transition)
            and all(
                math.isclose(a, b, abs_tol=1e-3)
                for a, b in zip(
                    sorted(transition + terminal),
                    sorted(sim.transition + sim.terminal),
                    strict=True,
                )
            )
        )
        blocks.append(
            {
                "population": population.name,
                "jobs": jobs,
                "job_hours": round(sum(j.hours for j in recorded), 1),
                "transitions": sum(len(j.starts) for j in recorded),
                "limit_calls_per_job_hour": round(_limit(recorded), 1),
                "rows": rows,
                "curve": curve,
                "scaled": scaled,
                "confirmed": {"jobs": len(head), "calls": calls, "agree": confirmed},
            }
        )
        print(
            f"  latency: {population.name:16s} default "
            f"{ours.calls_per_hour:6.1f} calls/job-hour; over HTTP "
            f"{'agrees' if confirmed else 'DISAGREES'} on {len(head)} jobs",
            flush=True,
        )
    return blocks


def _cell(row: dict[str, Any], label: str) -> str:
    return " / ".join(f"{row[f'{label}_{q}']:.1f}" for q in ("p50", "p95", "max"))


def table(blocks: list[dict[str, Any]]) -> list[str]:
    """The section's Markdown: one table per population, then what they show."""
    lines: list[str] = []
    for block in blocks:
        confirmed = block["confirmed"]
        same = "made the same" if confirmed["agree"] else "DID NOT make the same"
        lines += [
            (
                f"**{block['population']}** ({block['jobs']} jobs, "
                f"{block['job_hours']:,} job-hours, {block['transitions']:,} "
                f"transitions; physical limit {block['limit_calls_per_job_hour']} "
                "calls per job-hour, one per change). Over real HTTP through "
                f"`watch()`, the default on the first {confirmed['jobs']} jobs "
                f"{same} {confirmed['calls']:,} calls and saw every change as late "
                "as here."
            ),
            "",
            (
                "| poller | calls per job-hour | terminal p50 / p95 / max s "
                "| transition p50 / p95 / max s |"
            ),
            "|---|---:|---:|---:|",
        ]
        for row in block["rows"]:
            name = row["poller"]
            if row.get("equal_calls"):
                name = f"{name} (as many calls as the default)"
            lines.append(
                f"| {name} | {row['calls_per_job_hour']:.1f} | "
                f"{_cell(row, 'terminal')} | {_cell(row, 'transition')} |"
            )
        lines.append("")
    return lines


def plot(blocks: list[dict[str, Any]], path: Any) -> None:  # noqa: ANN401 - a Path
    """Calls per job-hour against p50 and p95 delay, one panel per population."""
    import matplotlib as mpl  # noqa: PLC0415 - only the report needs it

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the backend

    fig, axes = plt.subplots(
        1, len(blocks), figsize=(5 * len(blocks), 4.5), sharey=True, squeeze=False
    )
    for ax, block in zip(axes[0], blocks, strict=True):
        default = block["rows"][0]
        before = block["rows"][1]
        for q, style in (("p50", "-"), ("p95", "--")):
            curve = sorted(block["curve"], key=lambda r: r["calls_per_job_hour"])
            ax.plot(
                [r["calls_per_job_hour"] for r in curve],
                [r[f"transition_{q}"] for r in curve],
                f"s{style}",
                color="tab:gray",
                markersize=3,
                label=f"fixed pollers, {q}",
            )
            ours = sorted(
                [default, *block["scaled"]], key=lambda r: r["calls_per_job_hour"]
            )
            ax.plot(
                [r["calls_per_job_hour"] for r in ours],
                [r[f"transition_{q}"] for r in ours],
                f"o{style}",
                color="tab:blue",
                label=f"PollSchedule x0.5 / default / x2, {q}",
            )
            ax.plot(
                before["calls_per_job_hour"],
                before[f"transition_{q}"],
                "^",
                color="tab:orange",
                label=f"before (issue 10), {q}",
            )
        ax.axvline(
            block["limit_calls_per_job_hour"],
            color="tab:red",
            linestyle=":",
            label="physical limit (one call per change)",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("DescribeTrainingJob calls per job-hour (log)")
        ax.set_title(block["population"])
        ax.grid(visible=True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("delay noticing a transition, s (log)")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle("Calls versus delay, same jobs per population")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
