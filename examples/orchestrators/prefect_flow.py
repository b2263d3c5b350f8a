"""Wait for SageMaker training jobs from a Prefect 3 flow, one fleet for every wait.

The flow opens one ``FleetWatcher`` (one client, one rate budget, list sweeps
once ten or more jobs are watched) and runs one task per training job on it
concurrently. A job that fails or is stopped fails its task run, with the
FailureReason or the stop reason in the task run's message, and the flow run
fails with it, as Prefect reports any failed task it returns.

Prefect 3 runs an async task awaited in an async flow on the flow's own event
loop, so the tasks can share the fleet; ``.submit()`` and ``.map()`` run each
task in a worker thread on an event loop of its own, where a fleet opened on
the flow's loop cannot serve it (such a wait sees no answer: it times out, or
without a timeout waits forever). So the flow awaits its tasks with
``asyncio.gather``.

Runs against the embedded fake SageMaker (no AWS account needed) and Prefect's
temporary local server (loopback only; telemetry off unless you set it)::

    pip install sagemaker-watch "prefect>=3.9,<4"
    python examples/orchestrators/prefect_flow.py

Against AWS, call ``train_and_wait`` with real job names: the fleet takes the
standard credential chain (or pass *region*).
"""

from __future__ import annotations

import os

# Before Prefect reads its settings: no telemetry from this example's runs.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import asyncio
from contextvars import ContextVar
from typing import TYPE_CHECKING, cast

from prefect import State, flow, task  # State: Prefect may evaluate the hints
from prefect.cache_policies import NO_CACHE

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker

if TYPE_CHECKING:
    from collections.abc import Awaitable

#: The clock the fleet runs on: the embedded fake's compressed time in this
#: demo; unset (the system clock) against AWS.
CLOCK: ContextVar[sw.Clock | None] = ContextVar("CLOCK", default=None)

JOBS = {
    "train-baseline": "plain",
    "train-spot": "spot_interrupted_once",
    "train-broken": "failure",
    "train-too-long": "max_runtime",
}


@task(task_run_name="wait-for-{job_name}", cache_policy=NO_CACHE)
async def wait_for_training(
    job_name: str, fleet: sw.FleetWatcher, give_up_after: float | None
) -> str:
    """Wait until the training job completes; fail the task run if it does not.

    Returns:
        What the completed job reports, for the flow's summary.

    Raises:
        TrainingJobFailed: the job failed; the message has its FailureReason.
        TrainingJobStopped: the job was stopped; the message says how.
        WaitTimeout: *give_up_after* seconds (on the fleet's clock) ran out.
    """
    snapshot = await fleet.wait_until_complete(job_name, timeout=give_up_after)
    return f"Completed after {snapshot.training_time_seconds} s of training"


@flow(name="train-and-wait")
async def train_and_wait(
    job_names: list[str],
    region: str | None = None,
    give_up_after: float | None = 7 * 24 * 3600,
) -> list[State[str]]:
    """Wait for every training job at once on one fleet; print each outcome.

    Returns:
        The task runs' final states: Prefect marks this flow run Failed if any
        of them failed.
    """
    async with sw.FleetWatcher(region=region, clock=CLOCK.get()) as fleet:
        # An async task called with return_state=True returns a coroutine of
        # its final state (Prefect's annotations say the state itself).
        runs = [
            cast(
                "Awaitable[State[str]]",
                wait_for_training(name, fleet, give_up_after, return_state=True),
            )
            for name in job_names
        ]
        states = await asyncio.gather(*runs)
    for name, state in zip(job_names, states, strict=True):
        outcome = await state.aresult(raise_on_failure=False)  # or the exception
        if isinstance(outcome, Exception):
            outcome = f"{state.name}: {str(outcome).splitlines()[0]}"
        print(f"{name:16} {outcome}")
    return states


async def main() -> None:
    """Run the flow against the embedded fake SageMaker, 2,000 times faster."""
    async with FakeSageMaker(speed=2000) as fake:
        for name, lifecycle in JOBS.items():
            fake.add_job(name, lifecycle)
        os.environ.update(fake.environ())  # the fleet's default client: the fake
        CLOCK.set(fake.clock)
        state = await train_and_wait(list(JOBS), return_state=True)
    print(f"flow run: {state.name}: {state.message}")


if __name__ == "__main__":
    asyncio.run(main())
