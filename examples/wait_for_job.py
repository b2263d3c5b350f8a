"""Wait for one training job and say how it ended.

Runs against the embedded fake SageMaker by default (no AWS account needed):

    python examples/wait_for_job.py

Pass a real job's name to wait for it with your AWS credentials instead:

    python examples/wait_for_job.py my-training-job
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import anyio

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker

if TYPE_CHECKING:
    from types_aiobotocore_sagemaker import SageMakerClient


async def wait_for(
    job_name: str,
    client: SageMakerClient | None = None,
    clock: sw.Clock | None = None,
) -> int:
    """Wait for *job_name*; print the outcome and return an exit status."""
    try:
        snapshot = await sw.wait_until_complete(
            job_name, client=client, clock=clock, timeout=6 * 3600
        )
    except sw.TrainingJobFailed as exc:
        print(f"{job_name} failed: {exc.failure_reason}")
        return 1
    except sw.TrainingJobStopped as exc:
        print(f"{job_name} was stopped ({exc.reason})")
        return 1
    except sw.WaitTimeout as exc:
        last = exc.snapshot.secondary_status if exc.snapshot else "never seen"
        print(f"{job_name} is still running ({last})")
        return 1
    print(
        f"{job_name} completed in {snapshot.training_time_seconds} s "
        f"(billed {snapshot.billable_time_seconds} s): {snapshot.model_artifacts}"
    )
    return 0


async def main() -> int:
    """Wait for a real job if one is named, else for one on the fake SageMaker."""
    if len(sys.argv) > 1:
        return await wait_for(sys.argv[1])
    async with FakeSageMaker(speed=1000) as fake, fake.client() as client:
        fake.add_job("my-job", "plain")
        return await wait_for("my-job", client=client, clock=fake.clock)


if __name__ == "__main__":
    sys.exit(anyio.run(main))
