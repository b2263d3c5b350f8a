"""Stream a training job's events and react to each with ``match``.

Runs against the embedded fake SageMaker by default, on a spot job that is
interrupted once (no AWS account needed):

    python examples/stream_events.py

Pass a real job's name to stream its events with your AWS credentials instead.
"""

from __future__ import annotations

import json
import sys

import anyio

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker


async def follow(events: sw.Watch) -> None:
    """Print a line for each event; keep the resume token of the last one."""
    resume_token = None
    async with events:
        async for event in events:
            resume_token = event.resume_token
            match event:
                case sw.JobObserved(primary_status=primary, secondary_status=secondary):
                    print(f"watching {event.job_name}: {primary} / {secondary}")
                case sw.Interrupted(message=message):
                    print(f"  spot interruption: {message}")
                case sw.StatusEntered(status=status, message=message):
                    print(f"  entered {status}: {message}")
                case sw.StatusMessageChanged(message=message):
                    print(f"    {message}")
                case sw.JobFailed(failure_reason=reason):
                    print(f"  failed: {reason}")
                case sw.JobStopped(reason=reason):
                    print(f"  stopped: {reason}")
                case sw.JobCompleted(final_metrics=metrics):
                    print(f"  completed: {json.dumps(dict(metrics))}")
                case _:
                    pass
    print(f"resume later with resume={resume_token!r}")


async def main() -> None:
    """Follow a real job if one is named, else a spot job on the fake SageMaker."""
    if len(sys.argv) > 1:
        async with sw.watch(sys.argv[1]) as events:
            await follow(events)
        return
    async with FakeSageMaker(speed=1000) as fake, fake.client() as client:
        fake.add_job("spot-job", "spot_interrupted_once")
        await follow(sw.watch("spot-job", client=client, clock=fake.clock))


if __name__ == "__main__":
    anyio.run(main)
