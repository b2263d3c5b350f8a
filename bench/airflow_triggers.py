"""Deferred training waits: ``TrainingJobTrigger`` against the provider's trigger.

N deferred training tasks (N = 10, 100, 500) wait on the same N jobs, first through
``sagemaker_watch.integrations.airflow.TrainingJobTrigger`` (one fleet shared by
every trigger of the process), then through the amazon provider's own
``airflow.providers.amazon.aws.triggers.sagemaker.SageMakerTrigger`` built exactly
as the deferrable ``SageMakerTrainingOperator`` builds it at its defaults
(``check_interval`` 30 s, ``max_attempts`` 60, ``max_ingestion_time`` None). Each
side gets a fresh fake SageMaker (quotas on: DescribeTrainingJob 20/s,
ListTrainingJobs 2/s, on simulated time, as in ``bench.fleet``) holding the same
jobs, drawn with a fixed seed, all created at once (a DAG fanning out N trainings).
The triggers run as the triggerer's ``TriggerRunner`` runs them: re-created from
their serialised form, one asyncio loop, ``anext(trigger.run())`` each.

Time is compressed: the fake runs on a ``ScaledClock`` at *speed* simulated
seconds per real second, our fleet sleeps on that clock, and the provider's two
sleeps are scaled the same way: ``waiter_delay = 30 / speed`` (it sleeps with
``asyncio.sleep(waiter_delay)``) and botocore's retry back-off (its endpoint's
``_sleep``, divided by *speed*; our client has botocore's retries off, so this
touches the provider's clients only). A probe in the triggers' loop measures how
late the loop runs (real ms, and that times *speed* in simulated seconds), so the
delays can be checked not to be the machine's.

Measured per side: DescribeTrainingJob and ListTrainingJobs requests and the
throttling errors the fake returned, tasks that ended wrongly (an outcome that is
not the job's: the provider's ``timeout`` for a job still running, an ``error``),
and detection delay (simulated seconds from the job's terminal transition in the
fake to the trigger's event; correct outcomes only).

Run (Airflow and the amazon provider installed, e.g. ``nox -s bench_airflow``)::

    python -m bench.airflow_triggers --n 10 100 500

Writes ``bench/results/airflow-triggers.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import json
import logging
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
#: Where ``main`` writes its results, and BENCHMARKS.md's section reads them.
RESULTS_FILE = RESULTS / "airflow-triggers.json"
#: The fake's quotas on simulated time, as in ``bench.fleet``.
DESCRIBE_QUOTA = 20.0
LIST_QUOTA = 2.0
#: The deferrable SageMakerTrainingOperator's defaults (provider 9.x):
#: ``check_interval`` (CHECK_INTERVAL_SECOND) and ``max_attempts or 60``.
PROVIDER_DELAY = 30.0
PROVIDER_MAX_ATTEMPTS = 60
#: Simulated seconds per real second, by side and N: as fast as each side's client
#: keeps up. A poll's real latency times the speed is simulated time the client
#: adds to each wait, so the provider's N clients (N / 30 requests per simulated
#: second, each client its own connection pool) run slower than our one fleet.
SPEEDS = {
    "ours": {10: 300.0, 100: 120.0, 500: 60.0},
    "provider": {10: 60.0, 100: 20.0, 500: 8.0},
}
CONN_ID = "sagemaker_fake"
TERMINAL = {"Completed", "Failed", "Stopped"}
#: Each side's event status for a job's final status.
RIGHT = {
    "ours": {"Completed": "completed", "Failed": "failed", "Stopped": "stopped"},
    "provider": {"Completed": "success", "Failed": "failed", "Stopped": "stopped"},
}


def population() -> Any:  # noqa: ANN401 - bench.populations.Population
    """The tuning population with Training's median at 30 min, clipped to 5 min-2 h.

    The published ``tuning`` population (bench/populations.py, issue 11), its
    Training shortened so that a run ends in minutes: still about half of the jobs
    run past the provider's 30 minutes, up to about 2.5 h with a spot wait.
    """
    from .populations import TUNING  # noqa: PLC0415

    return dataclasses.replace(
        TUNING, name="airflow", training_median=1800.0, training_range=(300.0, 7200.0)
    )


def _setup_airflow() -> Path:
    """Point Airflow at a temporary home before it is imported; no database."""
    home = Path(tempfile.mkdtemp(prefix="airflow-bench-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
    )
    return home


def _scale_provider_backoff(speed: float) -> None:
    """Make botocore's retry back-off sleep in simulated time (the provider's only)."""
    from aiobotocore.endpoint import AioEndpoint  # noqa: PLC0415

    async def scaled(self: Any, amount: float) -> None:  # noqa: ANN401, ARG001
        await asyncio.sleep(amount / speed)

    AioEndpoint._sleep = scaled  # type: ignore[method-assign]  # noqa: SLF001


def _recreate(trigger: Any) -> Any:  # noqa: ANN401 - a BaseTrigger
    """Re-create *trigger* from its serialised form, as the triggerer does."""
    path, kwargs = trigger.serialize()
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _terminal_time(answer: dict[str, Any]) -> float | None:
    """When the job entered its terminal status in the fake (POSIX seconds)."""
    transitions = answer.get("SecondaryStatusTransitions", [])
    if answer["TrainingJobStatus"] not in TERMINAL or not transitions:
        return None
    start = transitions[-1]["StartTime"]  # Completed, Failed, Stopped, MaxRuntime...
    return start if isinstance(start, float) else start.timestamp()


async def _drive(triggers: list[Any], clock: Any) -> tuple[list[Any], list[float]]:  # noqa: ANN401
    """Run every trigger in this loop until each fired; probe the loop's lateness."""
    fired: list[Any] = [None] * len(triggers)

    async def one(i: int, trigger: Any) -> None:  # noqa: ANN401
        run = trigger.run()
        try:
            event = await anext(run)
            payload = dict(event.payload)
        except Exception as exc:  # noqa: BLE001 - the triggerer fails the task
            payload = {"status": f"raised {type(exc).__name__}", "message": str(exc)}
        finally:
            await run.aclose()
        fired[i] = (payload, clock.now().timestamp())

    lags: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - start - 0.01)

    prober = asyncio.ensure_future(probe())
    await asyncio.gather(*(one(i, t) for i, t in enumerate(triggers)))
    done.set()
    await prober
    return fired, lags


def run_side(side: str, n: int, speed: float, seed: int) -> dict[str, Any]:
    """Wait on *n* jobs through one side's triggers; return what it cost and did."""
    from anyio.from_thread import start_blocking_portal  # noqa: PLC0415

    from sagemaker_watch.integrations.airflow import (  # noqa: PLC0415
        TrainingJobTrigger,
    )
    from sagemaker_watch.testing import FakeSageMaker  # noqa: PLC0415

    rng = random.Random(seed)
    pop = population()
    timelines = [pop.draw(rng) for _ in range(n)]
    names = [f"deferred-{i:04d}" for i in range(n)]
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(FakeSageMaker(speed=speed)) as fake,
    ):

        def prepare() -> None:
            fake.set_quota(
                "DescribeTrainingJob", per_second=DESCRIBE_QUOTA, burst=DESCRIBE_QUOTA
            )
            fake.set_quota("ListTrainingJobs", per_second=LIST_QUOTA, burst=LIST_QUOTA)
            for name, timeline in zip(names, timelines, strict=True):
                fake.add_job(name, timeline)

        portal.call(prepare)
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {
                    "region_name": "us-east-1",
                    "endpoint_url": fake.endpoint_url,
                },
            }
        )
        TrainingJobTrigger.clock = fake.clock
        if side == "ours":
            triggers = [
                _recreate(TrainingJobTrigger(name, aws_conn_id=CONN_ID))
                for name in names
            ]
        else:
            from airflow.providers.amazon.aws.triggers.sagemaker import (  # noqa: PLC0415
                SageMakerTrigger,
            )

            triggers = [
                _recreate(
                    SageMakerTrigger(
                        job_name=name,
                        job_type="Training",
                        waiter_delay=PROVIDER_DELAY / speed,  # type: ignore[arg-type]
                        waiter_max_attempts=PROVIDER_MAX_ATTEMPTS,
                        aws_conn_id=CONN_ID,
                    )
                )
                for name in names
            ]
        start = fake.clock.now().timestamp()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        fired, lags = asyncio.run(_drive(triggers, fake.clock))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        received = portal.call(fake.statistics)
        answers = portal.call(lambda: {name: fake.describe_job(name) for name in names})
    return _summarise(side, n, speed, start, fired, answers, received, lags) | {
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
    }


def _summarise(  # noqa: PLR0917 - one row's inputs
    side: str,
    n: int,
    speed: float,
    start: float,
    fired: list[Any],
    answers: dict[str, dict[str, Any]],
    received: Any,  # noqa: ANN401 - FakeStatistics
    lags: list[float],
) -> dict[str, Any]:
    """One row: calls, throttles, wrong endings, detection delay, loop lateness."""
    delays: list[float] = []
    slowest: tuple[float, str] = (0.0, "")
    wrong: dict[str, int] = {}
    examples: dict[str, str] = {}
    outcomes: dict[str, int] = {}
    lifetimes = 0.0
    for (payload, at), (name, answer) in zip(fired, answers.items(), strict=True):
        status = str(payload.get("status"))
        outcomes[status] = outcomes.get(status, 0) + 1
        lifetimes += at - start
        final = answer["TrainingJobStatus"]
        ended = _terminal_time(answer)
        if final in TERMINAL and RIGHT[side][final] == status and ended is not None:
            delays.append(at - ended)
            if at - ended > slowest[0]:
                path = "→".join(
                    t["Status"] for t in answer["SecondaryStatusTransitions"]
                )
                slowest = (at - ended, f"{name}: {path}")
        else:
            still = "running" if ended is None or ended > at else "ended"
            key = f"{status} (job {final}, {still} at the event)"
            wrong[key] = wrong.get(key, 0) + 1
            examples.setdefault(key, str(payload.get("message", ""))[:160])
    describes = received.requests.get("DescribeTrainingJob", 0)
    elapsed = max(at for _, at in fired) - start
    return {
        "side": side,
        "n": n,
        "speed": speed,
        "simulated_seconds": round(elapsed),
        "describe_calls": describes,
        "list_calls": received.requests.get("ListTrainingJobs", 0),
        "describe_throttled": received.throttled.get("DescribeTrainingJob", 0),
        "list_throttled": received.throttled.get("ListTrainingJobs", 0),
        "describes_per_wait_hour": describes / max(lifetimes / 3600, 1e-9),
        "seconds_between_a_waits_describes": lifetimes / max(describes, 1),
        "outcomes": outcomes,
        "wrong": sum(wrong.values()),
        "wrong_by_kind": wrong,
        "wrong_examples": examples,
        "right": len(delays),
        "delay_p50": _pct(delays, 0.5),
        "delay_p95": _pct(delays, 0.95),
        "delay_max": max(delays, default=None),
        "delay_mean": statistics.fmean(delays) if delays else None,
        "slowest": slowest[1],
        "loop_lag_ms_p50": 1000 * (_pct(lags, 0.5) or 0.0),
        "loop_lag_ms_p95": 1000 * (_pct(lags, 0.95) or 0.0),
        "loop_lag_ms_max": 1000 * max(lags, default=0.0),
        "loop_lag_simulated_s_p95": speed * (_pct(lags, 0.95) or 0.0),
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = [
        (
            "| N | trigger | speed | Describe calls | List calls | throttled "
            "(Describe / List) | Describe per wait-hour (s apart) | ended wrongly | "
            "delay p50 / p95 / max s | loop late p95 ms (sim s) | wall s |"
        ),
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        label = (
            "TrainingJobTrigger (shared fleet)"
            if row["side"] == "ours"
            else "SageMakerTrigger (provider defaults)"
        )
        lines.append(
            f"| {row['n']} | {label} | {row['speed']:g} | {row['describe_calls']:,} "
            f"| {row['list_calls']:,} | {row['describe_throttled']:,} / "
            f"{row['list_throttled']:,} | {row['describes_per_wait_hour']:.1f} "
            f"({row['seconds_between_a_waits_describes']:.1f}) "
            f"| {row['wrong']} of {row['n']} | {_fmt(row['delay_p50'])} / "
            f"{_fmt(row['delay_p95'])} / {_fmt(row['delay_max'])} | "
            f"{row['loop_lag_ms_p95']:.1f} ({row['loop_lag_simulated_s_p95']:.1f}) "
            f"| {row['wall_seconds']:.0f} |"
        )
    return "\n".join(lines)


def _by(rows: list[dict[str, Any]], side: str, n: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["side"] == side and r["n"] == n), None)


def section(result: dict[str, Any]) -> list[str]:
    """BENCHMARKS.md's section for *result* (what ``main`` wrote), as lines."""
    rows, meta = result["rows"], result["meta"]
    lines = [
        (
            "## 8. Airflow: deferred training waits, shared fleet against the "
            "provider's trigger (issue 12)"
        ),
        "",
        "Reproduce: `python -m nox -s bench_airflow` (a venv with "
        "`sagemaker-watch[airflow]`, then `python -m bench.airflow_triggers "
        "--n 10 100 500`; about 15 minutes). "
        f"Finished {meta['when']} at {meta['commit']} "
        f"(load {meta['load_before']:.1f} when it began, 2 cores), "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + f"; seed {meta['seed']}.",
        "",
        (
            "N deferred training tasks wait on the same N jobs through each trigger, "
            "run as Airflow's triggerer runs them (re-created from `serialize()`, one "
            "asyncio loop, `anext(trigger.run())` each), each side on a fresh fake "
            "SageMaker with quotas on (DescribeTrainingJob 20/s, ListTrainingJobs 2/s "
            "on simulated time, as in section 2) and an Airflow AWS connection from "
            "an environment variable (`endpoint_url` in its extra; no metadata "
            "database needed by either trigger). The jobs: the `tuning` population "
            "(section 1) with Training's median at 30 min and clipped to 5 min-2 h, "
            "so that a run ends in minutes while about half the jobs run past 30 "
            "minutes; all created at once (a DAG fanning out N trainings). "
            "`SageMakerTrigger` is built as the deferrable "
            "`SageMakerTrainingOperator` builds it at its defaults: "
            f"`waiter_delay` = `check_interval` = {PROVIDER_DELAY:.0f} s, "
            f"`waiter_max_attempts` = `max_attempts or 60` = {PROVIDER_MAX_ATTEMPTS} "
            "(`max_ingestion_time` None, so no task timeout): it gives up 59 × 30 s "  # noqa: RUF001
            "= 29.5 minutes after deferring, whatever the job is doing. Ours is "
            "`TrainingJobTrigger` at its defaults (one shared `FleetWatcher`: "
            "describe budget 10/s, list 1/s, the schedule of section 1)."
        ),
        "",
        (
            "Time is compressed per side (*speed*: simulated seconds per real "
            "second), as fast as its client keeps up: the provider's 30 s becomes "
            "`waiter_delay = 30 / speed` real seconds (it sleeps with "
            "`asyncio.sleep`), and botocore's retry back-off in its clients is "
            "divided by the speed too (ours has botocore's retries off). Delays are "
            "simulated seconds from the job's terminal transition in the fake to the "
            "trigger's event, over the tasks that ended right. *s apart* is the "
            "simulated time between one wait's describes on average: for the "
            "provider, 30 s plus what its real latency times the speed adds (its "
            "60 attempts then span more than 29.5 minutes); "
            "*loop late* is how late a 10 ms sleep in the triggers' loop wakes "
            "(p95, real ms, and that times the speed in simulated seconds)."
        ),
        "",
        table(rows),
        "",
    ]
    for n in sorted({r["n"] for r in rows}):
        ours, theirs = _by(rows, "ours", n), _by(rows, "provider", n)
        if ours is None or theirs is None:
            continue
        gave_up = sum(
            count
            for kind, count in theirs["wrong_by_kind"].items()
            if kind.startswith("timeout")
        )
        lines.append(
            f"* N = {n}, ours against the provider's: DescribeTrainingJob "
            f"{ours['describe_calls']:,} against {theirs['describe_calls']:,} "
            f"calls, {ours['describes_per_wait_hour']:.1f} against "
            f"{theirs['describes_per_wait_hour']:.1f} per hour of waiting "
            f"(ours waited for every job to end; the provider's stopped at "
            f"29.5 minutes); throttled "
            f"{ours['describe_throttled'] + ours['list_throttled']:,} against "
            f"{theirs['describe_throttled']:,}; ended wrongly {ours['wrong']} "
            f"against {theirs['wrong']} of {n} ({gave_up} `timeout` on a job "
            f"still running); delay p50 / p95 {_fmt(ours['delay_p50'])} / "
            f"{_fmt(ours['delay_p95'])} s against {_fmt(theirs['delay_p50'])} / "
            f"{_fmt(theirs['delay_p95'])} s."
        )
    big = max(r["n"] for r in rows)
    ours, theirs = _by(rows, "ours", big), _by(rows, "provider", big)
    if ours is not None and theirs is not None:
        lines += ["", *_reading(ours, theirs)]
    rerun = RESULTS / "airflow-triggers-ours-500-rerun.json"
    if rerun.exists():
        again = json.loads(rerun.read_text())["rows"][0]
        lines += [
            "",
            (
                f"Our largest delay at N = 500 in this run did not repeat: the same "
                f"side re-run alone ({rerun.name}) gave "
                f"{again['describe_calls']:,} describes and {again['list_calls']:,} "
                f"lists, delay p50 / p95 / max {_fmt(again['delay_p50'])} / "
                f"{_fmt(again['delay_p95'])} / {_fmt(again['delay_max'])} s, 0 ended "
                f"wrongly (the run above shared the 2 cores with other work, load "
                f"about 5; at speed {again['speed']:g} a real stall of one second is "
                f"{again['speed']:g} simulated seconds)."
            ),
        ]
    lines.append("")
    return lines


def _reading(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """What the largest N's rows mean, in paragraphs."""
    n = ours["n"]
    ours_calls = ours["describe_calls"] + ours["list_calls"]
    ours_hours = ours["describe_calls"] / ours["describes_per_wait_hour"]
    late = max(ours["loop_lag_simulated_s_p95"], theirs["loop_lag_simulated_s_p95"])
    return [
        (
            f"**One client against one per trigger.** Every `TrainingJobTrigger` of "
            f"the loop subscribes to one `FleetWatcher` (one aiobotocore client, one "
            f"rate budget); each `SageMakerTrigger` opens its own client (its own "
            f"botocore session and connection pool) and polls alone. At N = {n} the "
            f"provider's loop stalled up to {theirs['loop_lag_ms_max'] / 1000:.1f} s "
            f"(real) while its {n} clients were built; ours "
            f"{ours['loop_lag_ms_max'] / 1000:.1f} s."
        ),
        "",
        (
            f"**Calls.** Ours waited for all {n} jobs to end "
            f"({ours_hours:,.0f} hours of waiting) with {ours_calls:,} requests "
            f"({ours['describe_calls']:,} DescribeTrainingJob, {ours['list_calls']:,} "
            f"ListTrainingJobs: {ours_calls / ours_hours:.1f} per hour of waiting, "
            f"listing in {ours['simulated_seconds']:,} s at "
            f"{ours['list_calls'] / ours['simulated_seconds']:.2f}/s within its 1/s "
            f"budget); the provider's made {theirs['describe_calls']:,} describes in "
            f"the {theirs['simulated_seconds']:,} s before its last trigger fired, "
            f"{theirs['describes_per_wait_hour']:.0f} per hour of waiting: one per "
            f"trigger every 30 s whatever the job does. At N = 10 the two cost "
            f"about the same per hour (the fleet polls each job on its schedule, "
            f"and a sweep finds little to skip); the fleet's saving grows with N."
        ),
        "",
        (
            f"**Throttling.** {theirs['describe_throttled']:,} of the provider's "
            f"describes at N = {n} were answered `ThrottlingException` ({n} triggers "
            f"polling together crowd the 20/s quota, worst at the start when all "
            f"poll at once); in provider 9.39 botocore's retries and the waiter's "
            f"(a throttle does not count as an attempt) absorb them, so no task "
            f"failed of it here (until mid-2026 the provider failed the task at "
            f"once, issue 12); a throttled poll is retried later, which can only "
            f"lengthen its delays (its max: {_fmt(theirs['delay_max'])} s). Ours: "
            f"{ours['describe_throttled'] + ours['list_throttled']} throttled; the "
            f"fleet stays inside its budget."
        ),
        "",
        (
            f"**Wrong endings.** The provider's trigger fired `timeout` for "
            f"{theirs['wrong']} of {n} tasks, each for a job still training: at its "
            f"operator's defaults it gives up after 60 polls, about 30 minutes, and "
            f"the task fails (`Error while running job: ... max attempts reached`) "
            f"while SageMaker trains and bills on; about half of these jobs run "
            f"longer than that, and real ones run for hours or days. A user's "
            f"remedy is a larger `max_attempts`, whose count starts again when a "
            f"triggerer restarts. Ours: {ours['wrong']}, at every N."
        ),
        "",
        (
            f"**Delay.** The provider's delay is spread over its 30 s poll (p50 "
            f"{_fmt(theirs['delay_p50'])} s, p95 {_fmt(theirs['delay_p95'])} s); "
            f"ours follows the schedule of section 1 and the fleet's sweeps (p50 "
            f"{_fmt(ours['delay_p50'])} s, p95 {_fmt(ours['delay_p95'])} s) with "
            f"fewer calls."
        ),
        "",
        (
            f"**The clients kept up.** A 10 ms sleep in the triggers' loop woke at "
            f"most {max(ours['loop_lag_ms_p95'], theirs['loop_lag_ms_p95']):.0f} ms "
            f"late at p95, at most {late:.1f} simulated seconds: small against "
            f"the delays. The provider's polls "
            f"came {theirs['seconds_between_a_waits_describes']:.1f} s apart instead "
            f"of 30 (its real latency times the speed, throttled retries included), "
            f"so its 60 attempts spanned a little more than 29.5 minutes: fewer "
            f"wrong give-ups and longer delays than at real speed, if anything. The "
            f"speeds differ per side because the provider's N clients make N / 30 "
            f"requests per simulated second and ours far fewer; each side's delays "
            f"are in simulated seconds."
        ),
    ]


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run both sides for each N; write the results and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--speed", type=float, default=None, help="override the speed for every N"
    )
    parser.add_argument("--side", choices=["ours", "provider"], action="append")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    parser.add_argument(
        "--markdown",
        type=Path,
        help="print BENCHMARKS.md's section from these results, run nothing",
    )
    args = parser.parse_args(argv)
    if args.markdown is not None:
        print("\n".join(section(json.loads(args.markdown.read_text()))))
        return 0
    home = _setup_airflow()
    load = os.getloadavg()[0]
    # Both sides log at INFO into the task's log (ours each transition, the
    # provider each poll): off here, so that neither side's logging is compressed.
    logging.disable(logging.INFO)
    import structlog  # noqa: PLC0415
    from airflow.triggers.base import BaseTrigger  # noqa: F401, PLC0415 - configures

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
    )
    rows: list[dict[str, Any]] = []
    try:
        for n in args.n:
            for side in args.side or ["ours", "provider"]:
                speed = args.speed or SPEEDS[side].get(n, 8.0)
                _scale_provider_backoff(speed)
                row = run_side(side, n, speed, args.seed)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    meta = {
        "commit": _commit(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "load_before": load,
        "cores": os.cpu_count(),
        "seed": args.seed,
        "versions": _versions(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(table(rows))
    return 0


def _versions() -> dict[str, str]:
    from importlib.metadata import version  # noqa: PLC0415

    return {
        name: version(name)
        for name in ("apache-airflow", "apache-airflow-providers-amazon", "aiobotocore")
    }


if __name__ == "__main__":
    raise SystemExit(main())
