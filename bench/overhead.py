"""Benchmark 3: library CPU per poll against aiobotocore's own CPU per describe.

The fake SageMaker runs in a subprocess here, so the parent's CPU time is the
client's alone: aiobotocore (serialise, sign, send, parse) per describe call,
then Snapshot.from_response + diff + events on the answers it received.

``ways()`` compares the per-poll CPU of the ways in, side by side in one run:
the README's first example (``async with sw.watch(name) as events``, which is
also how a watch that opens its own client must be used), ``async with`` around
a watch given explicit settings, a caller's client, and, for reference, what
the former plain ``async for`` cost (a client created for every poll). Run it
alone with ``python -m bench.overhead``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import os
import statistics
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import anyio
from aiobotocore.session import get_session

import sagemaker_watch as sw
from sagemaker_watch._core.diff import ResumeCursor, diff_with_anomalies
from sagemaker_watch._io.client import ClientOptions
from sagemaker_watch._io.source import AioBotocoreSource

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

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


@contextlib.contextmanager
def _server(script: str = _SERVER) -> Any:  # noqa: ANN401 - a generator of the URL
    """Run the fake SageMaker in a subprocess; yield its endpoint URL."""
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None  # noqa: S101 - piped above
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait()


async def run(calls: int) -> dict[str, Any]:
    """Time *calls* describes and the library's work on their answers."""
    with _server() as url:
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
    observed = dt.datetime.now(dt.UTC)
    repeats = 5
    cpu0 = time.process_time()
    events = 0
    for _ in range(repeats):
        previous: sw.Snapshot | ResumeCursor | None = None
        for response in responses:
            snapshot = sw.Snapshot.from_response(response, observed_at=observed)
            result = diff_with_anomalies(previous, snapshot)
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


#: Many long jobs (10 h of training at 60x: 10 real minutes), so that every way in
#: polls its own through a whole window however loaded the machine is.
_WAYS_SERVER = """
import anyio, sys
from sagemaker_watch.testing import FakeSageMaker, spot_interrupted_once
async def main():
    async with FakeSageMaker(speed=60) as fake:
        for k in range(40):
            fake.add_job(f"job-{k}", spot_interrupted_once(training=36000))
        print(fake.endpoint_url, flush=True)
        await anyio.sleep(3600)
anyio.run(main)
"""
_FAST = sw.PollSchedule.fixed(0.01)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Sample:
    """One way in, one window: its set-up and its steady polls."""

    setup_cpu: float  # CPU seconds from entering until the first event
    steady_cpu: float  # CPU seconds per describe after the first event
    steady_polls: int  # describes after the first event


async def _cpu_per_poll(
    drive: Callable[[str], contextlib.AbstractAsyncContextManager[sw.Watch]],
    name: str,
    seconds: float,
) -> _Sample:
    """Watch *name* for *seconds* of real time; return what its polls cost.

    The set-up (a client of its own, if the way opens one, and the first poll)
    is counted apart from the steady polls that follow the first event, so the
    per-poll figure does not depend on the window's length or the load. The
    garbage of the way before (a whole botocore session, for the ways that open a
    client) is collected first, so that it is not charged to this one.
    """
    gc.collect()
    cpu0 = time.process_time()
    first_cpu, first_calls = cpu0, 0
    async with drive(name) as events:
        with anyio.move_on_after(seconds):
            async for _event in events:
                if first_calls == 0:
                    first_cpu = time.process_time()
                    first_calls = events._source.statistics().calls  # noqa: SLF001
        end_cpu = time.process_time()
        calls = events._source.statistics().calls  # noqa: SLF001 - the bench counts
    steady = max(calls - first_calls, 1)
    return _Sample(
        setup_cpu=first_cpu - cpu0,
        steady_cpu=(end_cpu - first_cpu) / steady,
        steady_polls=steady,
    )


async def ways(seconds: float = 2.0, rounds: int = 5) -> dict[str, Any]:
    """Per-poll CPU of each way in, side by side, against one fake in a subprocess."""
    with _server(_WAYS_SERVER) as url:
        env = {
            "AWS_ENDPOINT_URL_SAGEMAKER": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # a dummy for the fake
            "AWS_REGION": "us-east-1",
        }
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            return await _ways(seconds, rounds)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


async def _ways(seconds: float, rounds: int) -> dict[str, Any]:
    async with sw.sagemaker_client() as client:

        @contextlib.asynccontextmanager
        async def readme(name: str) -> AsyncIterator[sw.Watch]:
            # The README's first example: async with sw.watch(name) as events.
            async with sw.watch(name, schedule=_FAST) as events:
                yield events

        @contextlib.asynccontextmanager
        async def async_with(name: str) -> AsyncIterator[sw.Watch]:
            async with sw.watch(
                name, schedule=_FAST, region="us-east-1", endpoint_url=None
            ) as events:
                yield events

        @contextlib.asynccontextmanager
        async def caller_client(name: str) -> AsyncIterator[sw.Watch]:
            # A caller's client: iterated plainly, no async with needed.
            yield sw.watch(name, client=client, schedule=_FAST)

        drivers = {
            "readme": readme,
            "async_with": async_with,
            "caller_client": caller_client,
        }
        await _cpu_per_poll(readme, "job-39", 0.5)  # warm caches and imports
        # Rounds in rotated order, medians: no way gains from going first.
        samples: dict[str, list[_Sample]] = {way: [] for way in drivers}
        order = list(drivers)
        for round_ in range(rounds):
            for index, way in enumerate(order[round_ % 3 :] + order[: round_ % 3]):
                name = f"job-{round_ * len(order) + index}"
                samples[way].append(await _cpu_per_poll(drivers[way], name, seconds))
        figures: dict[str, Any] = {"seconds": seconds, "rounds": rounds}
        for way, runs in samples.items():
            figures[f"{way}_cpu_per_poll_us"] = (
                statistics.median(run.steady_cpu for run in runs) * 1e6
            )
            figures[f"{way}_setup_cpu_ms"] = (
                statistics.median(run.setup_cpu for run in runs) * 1e3
            )
            figures[f"{way}_polls"] = sum(run.steady_polls for run in runs)
    figures["client_per_poll_cpu_per_poll_us"] = await _client_per_poll(seconds)
    base = figures["async_with_cpu_per_poll_us"]
    figures["readme_over_async_with"] = figures["readme_cpu_per_poll_us"] / base
    figures["caller_client_over_async_with"] = (
        figures["caller_client_cpu_per_poll_us"] / base
    )
    figures["client_per_poll_over_async_with"] = (
        figures["client_per_poll_cpu_per_poll_us"] / base
    )
    return figures


async def _client_per_poll(seconds: float) -> float:
    """CPU per describe of the former plain async for: a new client every poll."""
    source = AioBotocoreSource(None, client_options=ClientOptions())
    cpu0 = time.process_time()
    with anyio.move_on_after(seconds):
        while True:
            await source.describe_once("job-30")
            await anyio.sleep(0.01)
    return (time.process_time() - cpu0) / max(source.statistics().calls, 1) * 1e6


if __name__ == "__main__":
    for key, value in anyio.run(ways).items():
        shown = f"{value:10.2f}" if isinstance(value, float) else f"{value:10}"
        print(f"{key:40} {shown}")
