"""Wait for several training jobs at once under one deadline, as orchestrators do.

One caller-owned client serves every waiter; an anyio task group runs them side by
side; a deadline bounds the whole step; each job's outcome is collected, not raised,
so one failure does not cancel the others. Runs against the embedded fake SageMaker
(no AWS account needed):

    python examples/orchestrate.py
"""

from __future__ import annotations

import anyio

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker

JOBS = {
    "train-baseline": "plain",
    "train-spot": "spot_interrupted_once",
    "train-broken": "failure",
    "train-too-long": "max_runtime",
}


async def main() -> None:
    """Run four waiters in a task group under a one-hour (simulated) deadline."""
    outcomes: dict[str, str] = {}
    async with FakeSageMaker(speed=2000) as fake, fake.client() as client:
        for name, lifecycle in JOBS.items():
            fake.add_job(name, lifecycle)

        async def wait(name: str) -> None:
            try:
                snapshot = await sw.wait_until_complete(
                    name, client=client, clock=fake.clock, timeout=4 * 3600
                )
            except sw.TrainingJobFailed as exc:
                reason = (exc.failure_reason or "no reason given").splitlines()[0]
                outcomes[name] = f"Failed: {reason}"
            except sw.TrainingJobStopped as exc:
                outcomes[name] = f"Stopped: {exc.reason}"
            except sw.WaitTimeout as exc:
                outcomes[name] = f"timed out: {exc}"
            else:
                outcomes[name] = f"Completed after {snapshot.training_time_seconds} s"

        with anyio.fail_after(60):  # real seconds: the whole step's deadline
            async with anyio.create_task_group() as tg:
                for name in JOBS:
                    tg.start_soon(wait, name)

    for name in JOBS:
        print(f"{name:16} {outcomes[name]}")


if __name__ == "__main__":
    anyio.run(main)
