"""Render benchmark results: a PNG plot and the BENCHMARKS.md tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


def write_plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Plot calls per job against p50 transition delay, ours as a curve."""
    import matplotlib as mpl  # noqa: PLC0415 - only the report needs it

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the backend

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for prefix, marker, label in (
        ("ours", "o-", "PollSchedule (default and scaled)"),
        ("fixed", "s--", "fixed-interval pollers"),
    ):
        points = sorted(
            (r["calls_per_job"], r["transition_delay_p50"], r["poller"])
            for r in rows
            if r["poller"].startswith(prefix)
        )
        ax.plot([p[0] for p in points], [p[1] for p in points], marker, label=label)
        for x, y, name in points:
            ax.annotate(
                name, (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points"
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("DescribeTrainingJob calls per job (log)")
    ax.set_ylabel("p50 delay noticing a transition, s (log)")
    ax.set_title("Calls versus detection latency, same timelines")
    ax.grid(visible=True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _f(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def write_markdown(result: dict[str, Any], path: Path) -> None:
    """Write BENCHMARKS.md from *result*."""
    lines = [
        "# Benchmarks",
        "",
        "Reproduce with `python -m nox -s bench` (full, about 5 minutes) or",
        "`python -m nox -s bench -- --quick` (under two minutes); both run",
        "`python -m bench` and rewrite this file, `bench/results/latest.json` and",
        "`bench/results/latency_vs_calls.png`. Benchmarks never run in CI.",
        "",
        (
            f"These figures: `{result['command']}` ({result['mode']} run), Python "
            f"{result['python']} on {result['machine']}. All times are simulated"
        ),
        "seconds",
        "against the fake SageMaker, with realistic timelines: Starting 1-5 min,",
        "Downloading 0.5-5 min, Training log-normal around 30 min (5 min to 4 h),",
        "Uploading 20 s-2 min; 70 % complete plainly, 10 % are spot-interrupted once,",
        "8 % fail, 5 % are stopped by the user, 4 % hit MaxRuntime, 3 % restart.",
        "",
        "## 1. Calls versus detection latency (one job at a time)",
        "",
        "Each poller watches the same timelines with `sw.watch()`. Delay = when the",
        "event was observed minus the transition's `StartTime`.",
        "",
        (
            "| poller | calls/job | transition p50 s | transition p95 s "
            "| terminal p50 s | terminal p95 s |"
        ),
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {r['poller']} | {_f(r['calls_per_job'])} | "
        f"{_f(r['transition_delay_p50'])} | {_f(r['transition_delay_p95'])} | "
        f"{_f(r['terminal_delay_p50'])} | {_f(r['terminal_delay_p95'])} |"
        for r in result["latency"]
    )
    lines += [
        "",
        "![calls versus latency](bench/results/latency_vs_calls.png)",
        "",
        "## 2. Fleet scale, quotas on",
        "",
        "The fake enforces DescribeTrainingJob 20/s (our assumption of the account",
        "quota) and ListTrainingJobs 2/s, on simulated time. All jobs are created at",
        "once at the start (a thundering start, the hard case). One FleetWatcher with",
        "its defaults (DescribeTrainingJob 10/s, ListTrainingJobs 1/s, sweeps every",
        "5 s, re-checks every 15 min or slower) on a hand-driven clock, against the",
        "same jobs watched by one `sw.watch(..., schedule=PollSchedule.fixed(30))`",
        "each, sharing one client, on a 10x compressed clock (the only way to run",
        "them concurrently). Each configuration runs in its own subprocess, with the",
        "fake in that subprocess: CPU and RSS include the fake's server, so they are",
        "upper bounds for the library. CPU share = process CPU time / simulated time,",
        "i.e. the share of one core the same work takes in real time. Staleness p95",
        "is the median, over samples every simulated minute after the first look at",
        "every job, of the p95 of now minus each job's last observation (a list",
        "sweep that shows a job unchanged counts as observing it).",
        "",
        (
            "| poller | jobs | simulated s | CPU share | peak RSS MiB "
            "| staleness p95 s | describes/transition | List/s "
            "| throttled by service | errors surfaced |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["fleet"]:
        stale = r.get("staleness_p95_steady")
        lines.append(
            f"| {r['poller']} | {r['jobs']:,} | {r['simulated_seconds']:,} | "
            f"{r['cpu_share_of_one_core']:.2%} | {_f(r['peak_rss_mib'], 0)} | "
            f"{'n/a' if stale is None else _f(stale)} | "
            f"{_f(r['describe_calls_per_transition'], 2)} | "
            f"{_f(r['list_calls_per_second'], 2)} | {r['throttled_by_service']:,} | "
            f"{r['throttling_errors_surfaced']} |"
        )
    o = result["overhead"]
    lines += [
        "",
        "Independent pollers hit the quota constantly; they surface no error inside",
        "this window only because each poll retries throttling for up to 15 minutes",
        "(`RetryPolicy()`), which also makes their observations late.",
        "",
        "## 3. Library overhead per poll",
        "",
        "One process, the fake in a subprocess: the client's CPU per",
        "DescribeTrainingJob call (aiobotocore: serialise, sign, send, parse) against",
        "the library's CPU per poll (`Snapshot.from_response` + diff + events) on",
        f"the same {o['describe_calls']:,} answers.",
        "",
        "| aiobotocore CPU per call | library CPU per poll | library share |",
        "|---:|---:|---:|",
        (
            f"| {_f(o['aiobotocore_cpu_per_call_us'], 0)} µs | "
            f"{_f(o['library_cpu_per_poll_us'], 1)} µs | "
            f"{o['library_share_of_aiobotocore']:.1%} |"
        ),
        "",
    ]
    # The soak (``python -m bench.soak``) owns the sections from "## Soak" on.
    kept = ""
    if path.exists():
        old = path.read_text()
        if (start := old.find("\n## Soak")) != -1:
            kept = old[start:]
    path.write_text("\n".join(lines) + kept)
