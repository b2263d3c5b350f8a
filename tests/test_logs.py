"""sw.logs(): every line of every host once, in time order, over real HTTP.

The fake SageMaker writes each job's CloudWatch Logs (one stream per host and
per container start) and serves them over CloudWatch Logs' protocol; what
``logs()`` hands out is compared with what the fake says was written.
"""

from __future__ import annotations

import collections
import dataclasses

import anyio
import pytest
import pytest_asyncio
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch.testing import (
    FakeSageMaker,
    Fault,
    LogScript,
    ManualClock,
    failure,
    plain,
    retry_restart,
    spot_interrupted_once,
)

#: Several hosts, bursts of equal timestamps and equal lines.
HOSTS = LogScript(hosts=3, burst=3, interval=15.0)

LIFECYCLES = {
    "plain": lambda: plain(training=600),
    "failure": lambda: failure(training=400),
    "spot_interrupted_once": lambda: spot_interrupted_once(
        training=600, interrupted=300
    ),
    "retry_restart": lambda: retry_restart(training=600),
}

CANARY = "canary-5e1f-secret-in-a-log-line"


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A fake on a hand-driven clock, with SageMaker and CloudWatch Logs clients."""
    async with FakeSageMaker(clock=ManualClock(), seed=5) as fake:
        yield fake


def written(fake, name):
    """What the job's hosts wrote, as (stream, ms, message), in time order."""
    return sorted(
        (line.stream, line.timestamp, line.message) for line in fake.written_lines(name)
    )


def key(line):
    """A LogLine as (stream, ms, message)."""
    return (line.stream, round(line.timestamp.timestamp() * 1000), line.message)


async def follow(fake, name, *, settings=None, events=False, **options):
    """Everything ``logs()`` hands out for *name*, with caller-owned clients."""
    async with fake.client() as client, fake.logs_client() as logs_client:
        settings = settings or sw.CloudWatchLogs()
        settings = dataclasses.replace(settings, client=logs_client)
        return [
            item
            async for item in sw.logs(
                name,
                client=client,
                clock=fake.clock,
                settings=settings,
                events=events,
                **options,
            )
        ]


@pytest.mark.asyncio
@pytest.mark.parametrize("lifecycle", sorted(LIFECYCLES))
async def test_every_line_of_every_host_once_then_the_terminal_event(fake, lifecycle):
    """Lines of all hosts and restarts once, in time order; the end event comes last."""
    fake.add_job("job", dataclasses.replace(LIFECYCLES[lifecycle](), logs=HOSTS))
    items = await follow(fake, "job", events=True)
    lines = [item for item in items if isinstance(item, sw.LogLine)]
    assert written(fake, "job") == sorted(map(key, lines))
    assert [line.timestamp for line in lines] == sorted(
        line.timestamp for line in lines
    )
    assert isinstance(items[-1], sw.JobEnded)
    streams = {line.stream for line in lines}
    restarts = 2 if lifecycle in {"spot_interrupted_once", "retry_restart"} else 1
    assert 3 * restarts == len(streams)
    assert {f"algo-{i}" for i in (1, 2, 3)} == {line.host for line in lines}


@pytest.mark.asyncio
async def test_a_failed_jobs_last_lines_come_before_its_failure(fake):
    """The traceback, written just before the failure, is drained before JobFailed."""
    fake.add_job("job", failure(training=300))
    items = await follow(fake, "job", events=True)
    failed = items[-1]
    assert isinstance(failed, sw.JobFailed)
    lines = [item.message for item in items if isinstance(item, sw.LogLine)]
    assert failed.failure_reason.splitlines() == lines[-4:]
    last_line = max(i for i, item in enumerate(items) if isinstance(item, sw.LogLine))
    assert all(isinstance(item, sw.Event) for item in items[last_line + 1 :])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([Fault.logs_throttle(probability=0.3)], id="throttled"),
        pytest.param([Fault.logs_server_error(probability=0.3)], id="5xx"),
        pytest.param(
            [Fault.drop_connection(probability=0.2, service="logs")], id="dropped"
        ),
        pytest.param(
            [Fault.truncated(probability=0.2, service="logs")], id="truncated"
        ),
    ],
)
async def test_faults_lose_nothing_and_repeat_nothing(fake, faults):
    """Throttles, 5xx, dropped and cut answers: every line still comes once."""
    fake.add_job("job", dataclasses.replace(plain(training=900), logs=HOSTS))
    fake.inject(*faults)
    lines = await follow(fake, "job")
    assert written(fake, "job") == sorted(map(key, lines))


@pytest.mark.asyncio
async def test_late_lines_and_late_streams_are_found(fake):
    """Batches ingested minutes late, streams that appear late: every line once."""
    script = dataclasses.replace(HOSTS, late=0.3, stream_delay=40.0)
    fake.add_job("job", dataclasses.replace(failure(training=900), logs=script))
    # Late batches come up to 300 s late: the drain waits for them.
    lines = await follow(fake, "job", settings=sw.CloudWatchLogs(drain=300.0))
    assert written(fake, "job") == sorted(map(key, lines))


@pytest.mark.asyncio
async def test_expired_tokens_lose_nothing_and_repeat_nothing(fake):
    """Every token expiring mid-job: the reader reads on by time, nothing twice."""
    fake.add_job("job", dataclasses.replace(plain(training=900), logs=HOSTS))
    lines = []
    async with fake.client() as client, fake.logs_client() as logs_client:
        settings = sw.CloudWatchLogs(client=logs_client)
        async for line in sw.logs(
            "job", client=client, clock=fake.clock, settings=settings
        ):
            lines.append(line)
            if len(lines) % 20 == 0:
                fake.expire_log_tokens()
    assert written(fake, "job") == sorted(map(key, lines))


@pytest.mark.asyncio
async def test_resume_hands_out_exactly_the_lines_that_followed(fake):
    """A reader made from a token after k lines hands out exactly the rest."""
    fake.add_job("job", dataclasses.replace(plain(training=600), logs=HOSTS))
    async with fake.client() as client, fake.logs_client() as logs_client:
        settings = sw.CloudWatchLogs(client=logs_client)
        head = []
        first = sw.logs("job", client=client, clock=fake.clock, settings=settings)
        async for line in first:
            head.append(line)
            if len(head) == 25:
                break
        token = first.resume_token
        tail = [
            line
            async for line in sw.logs(
                "job", client=client, clock=fake.clock, settings=settings, resume=token
            )
        ]
    assert written(fake, "job") == sorted(map(key, head + tail))


@pytest.mark.asyncio
async def test_no_log_line_reaches_the_librarys_own_logs(fake):
    """A secret in a log line is handed to the caller only, never logged."""
    fake.add_job(
        "job", failure(training=300, failure_reason=f"AlgorithmError: {CANARY}")
    )
    fake.inject(Fault.logs_server_error(probability=0.3))
    with capture_logs() as logs:
        lines = await follow(fake, "job")
    assert any(CANARY in line.message for line in lines)
    assert logs
    assert not [entry for entry in logs if CANARY in repr(entry)]


@pytest.mark.asyncio
async def test_one_settings_object_is_one_budget_for_every_job(fake):
    """Ten jobs followed with one CloudWatchLogs stay within its read rate."""
    names = [f"job-{i}" for i in range(10)]
    for name in names:
        fake.add_job(name, dataclasses.replace(plain(training=600), logs=HOSTS))
    started = fake.clock.monotonic()
    done = {}
    async with fake.client() as client, fake.logs_client() as logs_client:
        settings = sw.CloudWatchLogs(client=logs_client, read_rate=2.0, list_rate=0.5)

        async def one(name):
            done[name] = [
                line
                async for line in sw.logs(
                    name, client=client, clock=fake.clock, settings=settings
                )
            ]

        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(one, name)
    elapsed = fake.clock.monotonic() - started
    for name in names:
        assert written(fake, name) == sorted(map(key, done[name]))
    reads = fake.request_count("GetLogEvents")
    assert reads <= 2.0 * elapsed + 1, (reads, elapsed)
    assert fake.request_count("DescribeLogStreams") <= 0.5 * elapsed + 1


@pytest.mark.asyncio
async def test_idle_streams_are_read_less_often_than_active_ones(fake):
    """A long quiet stretch of a stream costs far fewer reads than polling it."""
    quiet = LogScript(hosts=1, interval=600.0)
    fake.add_job("job", dataclasses.replace(plain(training=3600), logs=quiet))
    lines = await follow(fake, "job")
    assert written(fake, "job") == sorted(map(key, lines))
    # Every 5 s for an hour would be 720 reads; idle streams back off to 60 s.
    assert fake.request_count("GetLogEvents") < 150


@pytest.mark.asyncio
async def test_logs_opening_its_own_clients_must_be_entered(fake):
    """Without clients of its own, iterating outside async with raises UsageError."""
    fake.add_job("job", plain(training=60))
    with pytest.raises(sw.UsageError):
        await anext(aiter(sw.logs("job", clock=fake.clock)))
    assert 0 == fake.statistics().total


@pytest.mark.asyncio
async def test_logs_from_the_environment_like_watch(fake, monkeypatch):
    """Entered, logs() opens both clients from the environment the fake sets."""
    for key_, value in fake.environ().items():
        monkeypatch.setenv(key_, value)
    fake.add_job("job", dataclasses.replace(plain(training=300), logs=HOSTS))
    async with sw.logs("job", clock=fake.clock) as lines:
        got = [line async for line in lines]
    assert written(fake, "job") == sorted(map(key, got))


def test_a_bad_resume_token_fails_at_once():
    """An unreadable token raises InvalidResumeToken before anything is opened."""
    with pytest.raises(sw.InvalidResumeToken):
        sw.logs("job", resume="garbage")


@pytest.mark.asyncio
async def test_a_timeout_raises_wait_timeout(fake):
    """timeout= bounds the whole follow, as a watch's does."""
    fake.add_job("job", plain(training=3600))
    with pytest.raises(sw.WaitTimeout):
        await follow(fake, "job", timeout=600.0)


def test_settings_out_of_range_are_refused():
    """Negative or zero rates and an idle shorter than active are refused."""
    for bad in ({"read_rate": 0}, {"window": -1.0}, {"idle": 1.0, "active": 5.0}):
        with pytest.raises(ValueError, match="must"):
            sw.CloudWatchLogs(**bad)


@pytest.mark.asyncio
async def test_without_follow_the_lines_there_are_and_no_end(fake):
    """follow=False: a running job's lines so far, once, then the iteration ends."""
    fake.add_job("job", dataclasses.replace(plain(training=3600), logs=HOSTS))
    fake.advance(900)
    cut = fake.clock.now().timestamp() * 1000
    items = await follow(fake, "job", events=True, follow=False)
    lines = [item for item in items if isinstance(item, sw.LogLine)]
    there = {
        (w.stream, w.timestamp, w.message)
        for w in fake.written_lines("job")
        if w.ingestion_time <= cut
    }
    assert there
    assert there <= set(map(key, lines))
    # Nothing twice: no line more often than it was written.
    assert not collections.Counter(map(key, lines)) - collections.Counter(
        written(fake, "job")
    )
    assert not [item for item in items if isinstance(item, sw.JobEnded)]
    assert "InProgress" == str(items[0].snapshot.primary_status)
