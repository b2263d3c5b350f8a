"""Benchmark 3: library CPU per poll against aiobotocore's own CPU per describe.

The fake SageMaker runs in a subprocess here, so the parent's CPU time is the
client's alone: aiobotocore (serialise, sign, send, parse) per describe call,
then Snapshot.from_response + diff + events on the answers it received.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from typing import Any

import anyio
from aiobotocore.session import get_session

import sagemaker_watch as sw

_SERVER = """
import anyio, sys
from sagemaker_watch.testing import FakeSageMaker
async def main():
    async with FakeSageMaker(speed=600) as fake:
        fake.add_job("job", "spot_interrupted_once")
        print(fake.endpoint_url, flush=True)
        await anyio.sleep(3600)
anyio.run(main)
"""


async def run(calls: int) -> dict[str, Any]:
    """Time *calls* describes and the library's work on their answers."""
    server = subprocess.Popen(  # noqa: S603, ASYNC220 - started once, before timing
        [sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None  # noqa: S101 - piped above
        url = server.stdout.readline().strip()
        session = get_session()
        async with session.create_client(
            "sagemaker",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - a dummy for the fake
        ) as client:
            for _ in range(20):
                await client.describe_training_job(TrainingJobName="job")
            responses = []
            cpu0 = time.process_time()
            for _ in range(calls):
                responses.append(
                    await client.describe_training_job(TrainingJobName="job")
                )
                await anyio.sleep(0.002)
            client_cpu = (time.process_time() - cpu0) / calls
    finally:
        server.terminate()
        server.wait()
    observed = dt.datetime.now(dt.UTC)
    repeats = 5
    cpu0 = time.process_time()
    events = 0
    for _ in range(repeats):
        previous: sw.Snapshot | sw.ResumeCursor | None = None
        for response in responses:
            snapshot = sw.Snapshot.from_response(response, observed_at=observed)
            result = sw.diff_with_anomalies(previous, snapshot)
            events += len(result.events)
            previous = result.cursor
    library_cpu = (time.process_time() - cpu0) / (repeats * calls)
    return {
        "describe_calls": calls,
        "aiobotocore_cpu_per_call_us": client_cpu * 1e6,
        "library_cpu_per_poll_us": library_cpu * 1e6,
        "library_share_of_aiobotocore": library_cpu / client_cpu,
        "events_per_pass": events // repeats,
    }
