"""Wait for a training job from plain, blocking Python: no async, no event loop.

Runs against the embedded fake SageMaker by default (no AWS account needed):

    python examples/wait_blocking.py

Pass a real job's name to follow it with your AWS credentials instead:

    python examples/wait_blocking.py my-training-job

Ctrl-C stops it at any moment, as it stops any script.
"""

from __future__ import annotations

import os
import sys

from anyio.from_thread import start_blocking_portal

import sagemaker_watch as sw
from sagemaker_watch import blocking
from sagemaker_watch.testing import FakeSageMaker


def follow(job_name: str, clock: sw.Clock | None = None) -> int:
    """Wait for Training, print the statuses, say how it ended; return a status."""
    snapshot = blocking.wait_for_status(job_name, "Training", clock=clock)
    print(f"{job_name} is {snapshot.secondary_status}; its statuses:")
    with blocking.watch(job_name, clock=clock) as events:
        for event in events:  # until the job ends; Ctrl-C closes it cleanly
            if isinstance(event, sw.StatusEntered):
                print(f"  {event.status}: {event.message}")
    try:
        final = blocking.wait_until_complete(job_name, clock=clock, timeout=6 * 3600)
    except sw.TrainingJobFailed as exc:
        print(f"{job_name} failed: {exc.failure_reason}")
        return 1
    except sw.TrainingJobStopped as exc:
        print(f"{job_name} was stopped ({exc.reason})")
        return 1
    print(
        f"{job_name} completed (billed {final.billable_time_seconds} s): "
        f"{final.model_artifacts}"
    )
    return 0


def main() -> int:
    """Follow a real job if one is named, else one on the fake SageMaker."""
    if len(sys.argv) > 1:
        return follow(sys.argv[1])
    # The fake is async: it serves from an event loop on a thread of its own,
    # while this script blocks. The default client finds it through the
    # environment, as it finds AWS through yours.
    fake = FakeSageMaker(speed=1000)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(fake),
    ):
        portal.call(fake.add_job, "my-job", "plain")
        os.environ.update(portal.call(fake.environ))
        return follow("my-job", clock=fake.clock)


if __name__ == "__main__":
    sys.exit(main())
