"""sw.logs() against moto's CloudWatch Logs: a second, independent implementation.

The reader's own tests read the test kit's CloudWatch Logs, which the same
project wrote; here the logs are moto's (server mode, over real HTTP): the
streams a training job would have (``JOB/algo-N-EPOCH`` in
``/aws/sagemaker/TrainingJobs``, a second start's streams beside the first's)
are created and filled with ``PutLogEvents`` through a stock client, and
``logs()`` follows them with a SageMaker client on the test kit's fake (the
job's status: when to look for streams, when to drain) and a CloudWatch Logs
client on moto. What moto supports: ``DescribeLogStreams`` by prefix,
``GetLogEvents`` from the head and by forward token; its ingestion times are
real time, the fake's clock is compressed real time (a ``ManualClock`` would
jump while a task waits on moto's thread).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections import Counter

import pytest
import pytest_asyncio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker, ScaledClock, failure, plain

#: The log group of training jobs (as SageMaker names it).
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
#: Simulated seconds per real second.
SPEED = 200.0
#: Short phases (simulated s): a job runs about half a real second.
PHASES = {"starting": 20, "downloading": 10}
#: A start's Unix seconds in stream names: the first start and a restart.
EPOCHS = (1_700_000_000, 1_700_003_600)


@pytest_asyncio.fixture(name="moto_logs")
async def _moto_logs(moto_url):
    """A stock aiobotocore CloudWatch Logs client for moto, the log group created."""
    async with get_session().create_client(
        "logs",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy for moto
        config=AioConfig(retries={"mode": "standard", "total_max_attempts": 1}),
    ) as client:
        with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
            await client.create_log_group(logGroupName=LOG_GROUP)
        yield client


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """The fake SageMaker on compressed real time, writing no logs of its own."""
    async with FakeSageMaker(clock=ScaledClock(speed=SPEED), quotas={}) as fake:
        yield fake


def _lines(job, hosts, per_stream, burst):
    """What each host of each start writes: ``{stream: [(ms, message), ...]}``.

    Timestamps are recent (moto refuses lines older than 14 days); each write
    puts *burst* lines at one millisecond, the last two of them equal.
    """
    base = int(time.time() * 1000) - 600_000
    written = {}
    for start, epoch in enumerate(EPOCHS):
        for host in range(1, hosts + 1):
            rows = []
            for step in range(per_stream):
                at = base + start * 300_000 + step * 1_000 + host
                for k in range(burst):
                    rows.append(
                        (at, f"[algo-{host}] start {start} step {step} #{min(k, 1)}")
                    )
            written[f"{job}/algo-{host}-{epoch}"] = rows
    return written


async def _put(client, written):
    """Create each stream and put its lines, in one PutLogEvents each."""
    for stream, rows in written.items():
        await client.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        await client.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in rows],
        )


async def _follow(fake, moto_logs, job):
    """Everything ``logs()`` hands out for *job*: SageMaker the fake, logs moto."""
    async with fake.client() as client:
        # A hold of 60 simulated s (0.3 s real) covers a round of reads of moto.
        settings = sw.CloudWatchLogs(client=moto_logs, window=60.0, active=2.0)
        return [
            item
            async for item in sw.logs(
                job, client=client, clock=fake.clock, settings=settings, events=True
            )
        ]


@pytest.mark.asyncio
@pytest.mark.parametrize("lifecycle", ["plain", "failure"])
async def test_every_put_line_once_from_every_stream_of_moto(
    fake, moto_logs, lifecycle
):
    """Three hosts, two starts, bursts of equal lines: each put line handed out once."""
    job = f"moto-{lifecycle}-{uuid.uuid4().hex[:8]}"
    timeline = (
        plain(**PHASES, training=60, uploading=10)
        if lifecycle == "plain"
        else failure(**PHASES, training=60)
    )
    fake.add_job(job, dataclasses.replace(timeline, logs=None))
    written = _lines(job, hosts=3, per_stream=30, burst=3)
    await _put(moto_logs, written)
    items = await _follow(fake, moto_logs, job)
    lines = [item for item in items if isinstance(item, sw.LogLine)]
    expected = Counter(
        (stream, t, m) for stream, rows in written.items() for t, m in rows
    )
    seen = Counter(
        (line.stream, round(line.timestamp.timestamp() * 1000), line.message)
        for line in lines
    )
    assert expected == seen
    assert isinstance(items[-1], sw.JobEnded)
    assert sorted(line.timestamp for line in lines) == [
        line.timestamp for line in lines
    ]
    assert {f"algo-{h}" for h in (1, 2, 3)} == {line.host for line in lines}


@pytest.mark.asyncio
async def test_a_stream_put_while_following_is_found(fake, moto_logs):
    """A restart's stream created after the reader started: its lines come too."""
    job = f"moto-late-{uuid.uuid4().hex[:8]}"
    fake.add_job(job, dataclasses.replace(plain(**PHASES, training=300), logs=None))
    written = _lines(job, hosts=1, per_stream=10, burst=1)
    first, second = sorted(written)
    await _put(moto_logs, {first: written[first]})
    async with fake.client() as client:
        settings = sw.CloudWatchLogs(client=moto_logs, window=0.0, active=2.0)
        seen = []
        async with sw.logs(
            job, client=client, clock=fake.clock, settings=settings
        ) as lines:
            async for line in lines:
                seen.append((line.stream, line.message))
                if len(seen) == len(written[first]):
                    await _put(moto_logs, {second: written[second]})
    expected = [(s, m) for s in (first, second) for _, m in written[s]]
    assert Counter(expected) == Counter(seen)
