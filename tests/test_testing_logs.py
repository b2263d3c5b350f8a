"""The fake's CloudWatch Logs: what jobs write, when it arrives, and how it is read."""

from __future__ import annotations

import collections
import dataclasses

import pytest
import pytest_asyncio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch.testing import (
    ApiError,
    FakeSageMaker,
    Fault,
    LogScript,
    ManualClock,
    SimulatedSageMaker,
    WrittenLine,
    failure,
    plain,
    spot_interrupted_once,
    user_stop,
)
from sagemaker_watch.testing._logs import LOG_GROUP

GROUP = {"logGroupName": LOG_GROUP}


@pytest.fixture(name="clock")
def _clock():
    """The simulated time of the service."""
    return ManualClock()


@pytest.fixture(name="service")
def _service(clock):
    """An empty simulated service on a manual clock, with no quotas."""
    return SimulatedSageMaker(clock=clock, quotas={})


def _with_logs(timeline, **script):
    return dataclasses.replace(timeline, logs=LogScript(**script))


def _streams(service, prefix):
    answer = service.call(
        "DescribeLogStreams", {**GROUP, "logStreamNamePrefix": prefix}
    )
    return [row["logStreamName"] for row in answer["logStreams"]]


def _read_all(service, stream, *, limit=10000, token=None, start_time=None):
    """Page forward through *stream* until the token comes back unchanged."""
    events = []
    while True:
        request = {**GROUP, "logStreamName": stream, "startFromHead": True}
        request["limit"] = limit
        if token is not None:
            request["nextToken"] = token
        elif start_time is not None:
            request["startTime"] = start_time
        answer = service.call("GetLogEvents", request)
        events += answer["events"]
        if answer["nextForwardToken"] == token:
            return events, token
        token = answer["nextForwardToken"]


def _as_lines(stream, events):
    return [
        WrittenLine(
            stream=stream,
            timestamp=e["timestamp"],
            ingestion_time=e["ingestionTime"],
            message=e["message"],
        )
        for e in events
    ]


# -- what a job writes -------------------------------------------------------------


def test_a_plain_job_writes_a_line_every_interval_while_its_container_runs(
    service, clock
):
    """One host writes every 20 s from the first phase on the instances to the end."""
    service.add_job("job", plain())
    created = clock.timestamp()
    clock.advance(3000)
    lines = service.written_lines("job")
    begin, end = created + 120, created + 120 + 60 + 1800 + 30
    expected = [round((begin + 20 * k) * 1000) for k in range(95)]
    assert begin + 20 * 94 < end <= begin + 20 * 95
    assert expected == [line.timestamp for line in lines]
    assert {f"job/algo-1-{int(begin)}"} == {line.stream for line in lines}
    assert "[algo-1] epoch 1 step 0 loss=2.0500" == lines[0].message


def test_a_stream_per_host_per_container_start(service, clock):
    """A spot job interrupted once opens two streams per host, named by their starts."""
    service.add_job(
        "spot",
        spot_interrupted_once(),
        ResourceConfig={"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2},
    )
    created = clock.timestamp()
    clock.advance(5000)
    first, second = int(created + 150), int(created + 150 + 60 + 600 + 600 + 150)
    expected = [
        f"spot/algo-1-{first}",
        f"spot/algo-1-{second}",
        f"spot/algo-2-{first}",
        f"spot/algo-2-{second}",
    ]
    assert expected == _streams(service, "spot/")
    assert set(expected) == {line.stream for line in service.written_lines("spot")}


def test_hosts_in_the_script_win_over_the_instance_count(service, clock):
    """``LogScript(hosts=3)`` writes three streams whatever the request says."""
    service.add_job("job", _with_logs(plain(), hosts=3))
    clock.advance(200)
    assert 3 == len(_streams(service, "job/"))


def test_a_timeline_without_logs_writes_none(service, clock):
    """``logs=None``: no line, no stream, and without any stream no log group."""
    service.add_job("quiet", dataclasses.replace(plain(), logs=None))
    clock.advance(3000)
    assert () == service.written_lines("quiet")
    with pytest.raises(ApiError) as caught:
        service.call("DescribeLogStreams", GROUP)
    error = caught.value
    assert ("ResourceNotFoundException", 400) == (error.code, error.status)
    assert "The specified log group does not exist." == caught.value.message
    assert {"logGroups": []} == service.call("DescribeLogGroups", {})


def test_a_burst_writes_equal_timestamps_and_equal_lines(service, clock):
    """``burst=3``: three lines at each millisecond, the last two identical."""
    service.add_job("job", _with_logs(plain(), burst=3))
    clock.advance(3000)
    lines = service.written_lines("job")
    per_ms = collections.Counter(line.timestamp for line in lines)
    assert {3} == set(per_ms.values())
    first = [line.message for line in lines[:3]]
    expected = [
        "[algo-1] epoch 1 step 0 loss=2.0500",
        "[algo-1] step 0 gradients synchronised",
        "[algo-1] step 0 gradients synchronised",
    ]
    assert expected == first


def test_a_failed_job_ends_with_a_traceback_and_its_failure_reason(service, clock):
    """algo-1's last lines are a traceback ending in the FailureReason's text."""
    service.add_job(
        "bad", failure(), ResourceConfig={"InstanceType": "x", "InstanceCount": 2}
    )
    clock.advance(1000)
    reason = service.describe_job("bad")["FailureReason"]
    ended = service.describe_job("bad")["TrainingEndTime"]
    mine = [line for line in service.written_lines("bad") if "algo-1" in line.stream]
    tail = [line.message for line in mine[-(len(reason.splitlines()) + 5) :]]
    assert "Traceback (most recent call last):" == tail[0]
    assert reason == "\n".join(tail[5:])
    assert all(line.timestamp < round(ended * 1000) for line in mine)
    others = [line for line in service.written_lines("bad") if "algo-2" in line.stream]
    assert not any("Traceback" in line.message for line in others)


def test_written_lines_are_those_written_so_far(service, clock):
    """Before the container starts nothing is written; then lines up to now."""
    service.add_job("job", plain())
    assert () == service.written_lines("job")
    clock.advance(120 + 45)
    assert 3 == len(service.written_lines("job"))
    with pytest.raises(KeyError):
        service.written_lines("nobody")


def test_a_stop_keeps_what_was_written_and_ends_the_stream(service, clock):
    """A user stop cuts the lines at the Stopping transition; earlier ones stay."""
    service.add_job("job", user_stop())
    clock.advance(500)
    before = service.written_lines("job")
    service.stop_job("job")
    clock.advance(2000)
    after = service.written_lines("job")
    assert before == after[: len(before)]
    stopping = next(
        t["StartTime"]
        for t in service.describe_job("job")["SecondaryStatusTransitions"]
        if t["Status"] == "Stopping"
    )
    assert after[-1].timestamp < round(stopping * 1000)
    assert round(stopping * 1000) - after[-1].timestamp <= 20_000


def test_the_same_seed_writes_the_same_logs():
    """Lines and ingestion times are a function of the seed: same seed, same logs."""
    runs = []
    for seed in (7, 7, 8):
        other = ManualClock()
        service = SimulatedSageMaker(clock=other, quotas={}, seed=seed)
        service.add_job("job", _with_logs(plain(), late=0.3))
        other.advance(3000)
        runs.append(service.written_lines("job"))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert [line.timestamp for line in runs[0]] == [line.timestamp for line in runs[2]]


def test_lines_arrive_in_batches_after_a_delay(service, clock):
    """A batch's lines arrive together, 0.5 to 2 s after the batch's last second."""
    service.add_job("job", _with_logs(plain(), interval=1.0, batch=5.0))
    start = clock.timestamp() + 120
    clock.advance(3000)
    lines = service.written_lines("job")
    batches = collections.defaultdict(set)
    for line in lines:
        batch = int((line.timestamp / 1000 - start) // 5)
        batches[batch].add(line.ingestion_time)
        sent = start + (batch + 1) * 5
        assert sent + 0.5 <= line.ingestion_time / 1000 <= sent + 2.0
    assert {1} == {len(times) for times in batches.values()}


def test_late_batches_arrive_minutes_late(service, clock):
    """``late=1.0``: batches arrive 60 to 300 s late, none after the container stops.

    The agent flushes what is left when the container stops (and the host is
    gone soon after), so the last minutes' batches arrive at the stop.
    """
    service.add_job("job", _with_logs(plain(), late=1.0))
    clock.advance(5000)
    lines = service.written_lines("job")
    # The container stops within one write interval (20 s) of its last line.
    stop = max(line.timestamp for line in lines) + 20_000
    delays = [(line.ingestion_time - line.timestamp) / 1000 for line in lines]
    assert all(line.ingestion_time <= stop + 2_000 for line in lines)
    early = [
        d
        for line, d in zip(lines, delays, strict=True)
        if line.timestamp < stop - 310_000
    ]
    assert early
    assert all(60 <= delay <= 300 + 5 + 2 for delay in early)


def test_a_delayed_stream_appears_late_with_its_lines(service, clock):
    """``stream_delay=30``: no stream for 30 s, then lines arrive no earlier."""
    service.add_job("job", _with_logs(plain(), stream_delay=30.0))
    appears = clock.timestamp() + 120 + 30
    clock.advance(120 + 29)
    with pytest.raises(ApiError):
        service.call("DescribeLogStreams", GROUP)
    clock.advance(1)
    assert 1 == len(_streams(service, "job/"))
    clock.advance(3000)
    lines = service.written_lines("job")
    assert min(line.ingestion_time for line in lines) >= round(appears * 1000)


# -- over HTTP, through a stock aiobotocore ``logs`` client -----------------------


@pytest_asyncio.fixture(name="sim")
async def _sim():
    """A running fake on a manual clock, without quotas."""
    async with FakeSageMaker(clock=ManualClock(), quotas={}) as fake:
        yield fake


@pytest_asyncio.fixture(name="logs")
async def _logs(sim):
    """A stock aiobotocore CloudWatch Logs client for the fake."""
    async with sim.logs_client() as client:
        yield client


async def _codes(call):
    with pytest.raises(ClientError) as caught:
        await call
    error = caught.value.response["Error"]
    return (
        error["Code"],
        error["Message"],
        caught.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )


@pytest.mark.asyncio
async def test_streams_and_events_over_http(sim, logs):
    """DescribeLogStreams and GetLogEvents parse with botocore's model: all lines."""
    sim.add_job("job", plain())
    sim.advance(3000)
    listed = await logs.describe_log_streams(
        logGroupName=LOG_GROUP, logStreamNamePrefix="job/"
    )
    (row,) = listed["logStreams"]
    name = row["logStreamName"]
    written = sim.written_lines("job")
    assert written[0].timestamp == row["firstEventTimestamp"]
    assert written[-1].timestamp == row["lastEventTimestamp"]
    assert f"{name}" == row["arn"].rpartition(":log-stream:")[2]
    events, token = [], None
    while True:
        extra = {"nextToken": token} if token else {}
        page = await logs.get_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=name,
            startFromHead=True,
            limit=40,
            **extra,
        )
        events += page["events"]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert list(written) == _as_lines(name, events)
    assert token.startswith("f/")
    assert 58 == len(token)


@pytest.mark.asyncio
async def test_filter_log_events_and_describe_log_groups_over_http(sim, logs):
    """FilterLogEvents interleaves the streams; DescribeLogGroups shows the group."""
    sim.add_job(
        "job", plain(), ResourceConfig={"InstanceType": "x", "InstanceCount": 2}
    )
    sim.advance(3000)
    found = await logs.filter_log_events(
        logGroupName=LOG_GROUP,
        logStreamNamePrefix="job/",
        filterPattern='"step 3 " loss',
    )
    assert [
        "[algo-1] epoch 1 step 3 loss=2.0104",
        "[algo-2] epoch 1 step 3 loss=2.0104",
    ] == [e["message"] for e in found["events"]]
    groups = await logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/")
    assert [LOG_GROUP] == [g["logGroupName"] for g in groups["logGroups"]]


@pytest.mark.asyncio
async def test_errors_over_http(sim, logs):
    """Missing group and stream, bad tokens and limits: the service's errors."""
    group = (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
        400,
    )
    assert group == await _codes(logs.describe_log_streams(logGroupName=LOG_GROUP))
    sim.add_job("job", plain())
    sim.advance(200)
    stream = (
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
        400,
    )
    assert stream == await _codes(
        logs.get_log_events(logGroupName=LOG_GROUP, logStreamName="job/algo-9-1")
    )
    (name,) = [
        s["logStreamName"]
        for s in (await logs.describe_log_streams(logGroupName=LOG_GROUP))["logStreams"]
    ]
    invalid = ("InvalidParameterException", "The specified nextToken is invalid.", 400)
    assert invalid == await _codes(
        logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=name, nextToken="f/123"
        )
    )
    code, message, status = await _codes(
        logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=name, limit=10001)
    )
    assert ("InvalidParameterException", 400) == (code, status)
    assert "Member must have value less than or equal to 10000" in message
    code, _, _ = await _codes(
        logs.describe_log_streams(logGroupName=LOG_GROUP, limit=51)
    )
    assert "InvalidParameterException" == code


@pytest.mark.asyncio
async def test_environ_points_a_default_logs_client_at_the_fake(sim, monkeypatch):
    """``environ()`` sets AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: a plain client works."""
    for key, value in sim.environ().items():
        monkeypatch.setenv(key, value)
    assert sim.endpoint_url == sim.environ()["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"]
    sim.add_job("job", plain())
    sim.advance(200)
    async with get_session().create_client("logs") as client:
        answer = await client.describe_log_streams(logGroupName=LOG_GROUP)
    assert 1 == len(answer["logStreams"])


@pytest.mark.asyncio
async def test_requests_are_counted_and_quotas_throttle():
    """Logs requests count under their names; GetLogEvents' 25/s quota throttles."""
    async with FakeSageMaker(clock=ManualClock()) as fake:
        fake.add_job("job", plain())
        fake.advance(200)
        async with fake.logs_client() as client:
            (row,) = (await client.describe_log_streams(logGroupName=LOG_GROUP))[
                "logStreams"
            ]
            for _ in range(25):
                await client.get_log_events(
                    logGroupName=LOG_GROUP, logStreamName=row["logStreamName"]
                )
            throttled = await _codes(
                client.get_log_events(
                    logGroupName=LOG_GROUP, logStreamName=row["logStreamName"]
                )
            )
            fake.advance(1.0)
            await client.get_log_events(
                logGroupName=LOG_GROUP, logStreamName=row["logStreamName"]
            )
        assert ("ThrottlingException", "Rate exceeded", 400) == throttled
        statistics = fake.statistics()
        assert 27 == statistics.requests["GetLogEvents"]
        assert 1 == statistics.requests["DescribeLogStreams"]
        assert 1 == statistics.throttled["GetLogEvents"]


# -- tokens: positions, expiry, late lines -------------------------------------------


def _only_stream(service, prefix="job/"):
    (name,) = _streams(service, prefix)
    return name


def _get(service, stream, **members):
    return service.call("GetLogEvents", {**GROUP, "logStreamName": stream, **members})


def test_only_ingested_lines_are_visible(service, clock):
    """A read returns exactly the lines whose ingestion time has come, in order."""
    service.add_job("job", plain())
    clock.advance(120 + 100)
    stream = _only_stream(service)
    now = round(clock.timestamp() * 1000)
    events, _ = _read_all(service, stream)
    expected = [
        line for line in service.written_lines("job") if line.ingestion_time <= now
    ]
    assert expected == _as_lines(stream, events)
    assert len(expected) < len(service.written_lines("job"))


def test_without_start_from_head_the_newest_events_come(service, clock):
    """No token, no ``startFromHead``: the newest *limit* events, oldest first."""
    service.add_job("job", plain())
    clock.advance(3000)
    stream = _only_stream(service)
    answer = _get(service, stream, limit=3)
    written = service.written_lines("job")
    assert [line.message for line in written[-3:]] == [
        e["message"] for e in answer["events"]
    ]
    back = _get(service, stream, limit=3, nextToken=answer["nextBackwardToken"])
    assert [line.message for line in written[-6:-3]] == [
        e["message"] for e in back["events"]
    ]
    assert (
        answer["nextForwardToken"]
        == (
            _get(service, stream, nextToken=answer["nextForwardToken"])[
                "nextForwardToken"
            ]
        )
    )


def test_a_token_of_another_stream_is_invalid(service, clock):
    """A token names its stream: another stream's read rejects it."""
    service.add_job("job", plain(), ResourceConfig={"InstanceCount": 2})
    clock.advance(200)
    one, two = _streams(service, "job/")
    token = _get(service, one, startFromHead=True)["nextForwardToken"]
    with pytest.raises(ApiError) as caught:
        _get(service, two, startFromHead=True, nextToken=token)
    expected = ("InvalidParameterException", "The specified nextToken is invalid.")
    assert expected == (caught.value.code, caught.value.message)


def test_tokens_expire_after_their_ttl(clock):
    """A token is valid for ``log_token_ttl`` simulated seconds from its issue."""
    service = SimulatedSageMaker(clock=clock, quotas={}, log_token_ttl=600.0)
    service.add_job("job", plain())
    clock.advance(200)
    stream = _only_stream(service)
    token = _get(service, stream, startFromHead=True)["nextForwardToken"]
    clock.advance(599)
    fresh = _get(service, stream, startFromHead=True, nextToken=token)
    assert fresh["events"]
    clock.advance(1)
    with pytest.raises(ApiError) as caught:
        _get(service, stream, startFromHead=True, nextToken=token)
    assert "The specified nextToken is invalid." == caught.value.message
    assert _get(
        service, stream, startFromHead=True, nextToken=fresh["nextForwardToken"]
    )


def test_the_token_returned_at_the_end_keeps_its_first_issue_time(clock):
    """At the end of a stream the same token comes back, and expires all the same."""
    service = SimulatedSageMaker(clock=clock, quotas={}, log_token_ttl=600.0)
    service.add_job("job", plain())
    clock.advance(3000)
    stream = _only_stream(service)
    _, token = _read_all(service, stream)
    clock.advance(599)
    assert token == _get(service, stream, nextToken=token)["nextForwardToken"]
    clock.advance(1)
    with pytest.raises(ApiError):
        _get(service, stream, nextToken=token)


def test_expire_log_tokens_rejects_every_token_issued_so_far(service, clock):
    """After ``expire_log_tokens()`` old tokens fail; new reads get valid ones."""
    service.add_job("job", plain())
    clock.advance(3000)
    stream = _only_stream(service)
    token = _get(service, stream, startFromHead=True, limit=5)["nextForwardToken"]
    service.expire_log_tokens()
    with pytest.raises(ApiError) as caught:
        _get(service, stream, startFromHead=True, nextToken=token)
    assert "InvalidParameterException" == caught.value.code
    again = _get(service, stream, startFromHead=True, limit=5)["nextForwardToken"]
    assert token != again
    assert _get(service, stream, startFromHead=True, nextToken=again)["events"]


def test_a_late_line_before_a_token_is_found_only_by_start_time(service, clock):
    """Late batches: token reads miss what lands behind them; ``startTime`` finds it."""
    service.add_job("job", _with_logs(plain(), late=0.3))
    stream = _only_stream_after(service, clock, 120)
    token = None
    seen = []
    for _ in range(200):
        clock.advance(15)
        events, token = _read_all(service, stream, token=token)
        seen += events
    written = service.written_lines("job")
    assert len(set(_as_lines(stream, seen))) == len(seen)
    missed = collections.Counter(written) - collections.Counter(_as_lines(stream, seen))
    assert missed, "with 30 % late batches some lines land behind the token"
    again, _ = _read_all(service, stream, start_time=written[0].timestamp)
    assert sorted(written, key=lambda line: line.timestamp) == sorted(
        _as_lines(stream, again), key=lambda line: line.timestamp
    )


def _only_stream_after(service, clock, seconds):
    clock.advance(seconds)
    return _only_stream(service)


@settings(max_examples=25, deadline=None)
@given(
    polls=st.lists(st.floats(0.5, 90.0), min_size=1, max_size=60),
    limit=st.integers(1, 50),
    burst=st.integers(1, 3),
)
def test_following_tokens_delivers_every_line_once_in_order(polls, limit, burst):
    """Without late batches, forward tokens read at any pace deliver each line once."""
    clock = ManualClock()
    service = SimulatedSageMaker(clock=clock, quotas={})
    service.add_job("job", _with_logs(plain(training=300), burst=burst))
    stream = _only_stream_after(service, clock, 120)
    token, seen = None, []
    for pause in [*polls, 1000.0]:
        clock.advance(pause)
        events, token = _read_all(service, stream, limit=limit, token=token)
        seen += events
    assert list(service.written_lines("job")) == _as_lines(stream, seen)


# -- faults on CloudWatch Logs -------------------------------------------------------


async def _read(logs, stream="job/algo-1-1714987920"):
    return await logs.get_log_events(
        logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=True
    )


@pytest_asyncio.fixture(name="running")
async def _running(sim):
    """The fake with one plain job 200 s in: its stream exists."""
    sim.add_job("job", plain())
    sim.advance(200)
    return sim


@pytest.mark.asyncio
async def test_logs_throttle_answers_throttling_then_lets_through(running, logs):
    """``Fault.logs_throttle(times=2)``: two throttles, counted, then the data."""
    running.inject(Fault.logs_throttle(operation="GetLogEvents", times=2))
    throttled = ("ThrottlingException", "Rate exceeded", 400)
    assert throttled == await _codes(_read(logs))
    assert throttled == await _codes(_read(logs))
    assert (await _read(logs))["events"]
    statistics = running.statistics()
    assert 2 == statistics.faulted["GetLogEvents"]
    assert 2 == statistics.throttled["GetLogEvents"]


@pytest.mark.asyncio
async def test_logs_faults_strike_logs_requests_only(running, logs, sim):
    """A logs fault leaves SageMaker alone, and a SageMaker fault leaves logs alone."""
    running.inject(Fault.logs_throttle(), Fault.throttle())
    async with sim.client() as client:
        with pytest.raises(ClientError):
            await client.describe_training_job(TrainingJobName="job")
    code, _, _ = await _codes(_read(logs))
    assert "ThrottlingException" == code
    running.clear_faults()
    assert (await _read(logs))["events"]


@pytest.mark.asyncio
async def test_logs_faults_match_the_job_of_the_stream(running, logs):
    """``job_name`` picks the job named by the stream or the prefix of a request."""
    running.add_job("other", plain())
    running.advance(200)
    running.inject(Fault.logs_throttle(job_name="other"))
    assert (await _read(logs))["events"]
    code, _, _ = await _codes(
        logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix="other/")
    )
    assert "ThrottlingException" == code


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "ServiceUnavailableException"), (500, "InternalFailure")],
)
async def test_logs_server_errors(running, logs, status, code):
    """``Fault.logs_server_error``: 503 ServiceUnavailableException or 500."""
    running.inject(Fault.logs_server_error(status, times=1))
    answer = await _codes(logs.describe_log_streams(logGroupName=LOG_GROUP))
    assert (code, status) == (answer[0], answer[2])
    assert (await logs.describe_log_streams(logGroupName=LOG_GROUP))["logStreams"]


@pytest.mark.asyncio
async def test_logs_wire_faults(running, logs):
    """Dropped connections, truncated and malformed bodies strike logs requests too."""
    running.inject(
        Fault.drop_connection(times=1, service="logs"),
        Fault.truncated(times=1, service="logs"),
    )
    for _ in range(2):
        with pytest.raises(ConnectionClosedError):
            await _read(logs)
    for kind in ("not_json", "cut_json"):
        running.inject(Fault.malformed_body(kind, times=1, service="logs"))
        assert ["ResponseMetadata"] == list(await _read(logs))
    running.inject(Fault.malformed_body("missing_members", times=1, service="logs"))
    assert ["ResponseMetadata"] == list(await _read(logs))
    assert (await _read(logs))["events"]


@pytest.mark.asyncio
async def test_slow_logs_answers_trip_the_read_timeout(running):
    """``Fault.slow(service="logs")`` delays logs answers past a read timeout."""
    running.inject(Fault.slow(0.3, times=1, service="logs"))
    async with running.logs_client(config=AioConfig(read_timeout=0.05)) as logs:
        with pytest.raises(ReadTimeoutError):
            await _read(logs)
        assert (await _read(logs))["events"]


# -- listing streams, filtering events, log groups -----------------------------------


def test_describe_log_streams_pages_by_name(service, clock):
    """Fifty streams a page by default; ``limit`` and ``nextToken`` page on."""
    service.add_job("job", plain(), ResourceConfig={"InstanceCount": 7})
    clock.advance(200)
    names, token = [], None
    while True:
        request = {**GROUP, "logStreamNamePrefix": "job/", "limit": 3}
        if token:
            request["nextToken"] = token
        answer = service.call("DescribeLogStreams", request)
        assert len(answer["logStreams"]) <= 3
        names += [row["logStreamName"] for row in answer["logStreams"]]
        token = answer.get("nextToken")
        if token is None:
            break
    assert sorted(names) == names
    assert 7 == len(names)
    descending = service.call(
        "DescribeLogStreams",
        {**GROUP, "logStreamNamePrefix": "job/", "descending": True},
    )
    assert names[::-1] == [row["logStreamName"] for row in descending["logStreams"]]


def test_describe_log_streams_by_last_event_time(service, clock):
    """``orderBy=LastEventTime`` sorts by the last event; it refuses a prefix."""
    service.add_job("early", plain())
    clock.advance(60)
    service.add_job("late", plain())
    clock.advance(3000)
    answer = service.call(
        "DescribeLogStreams", {**GROUP, "orderBy": "LastEventTime", "descending": True}
    )
    assert ["late", "early"] == [
        row["logStreamName"].partition("/")[0] for row in answer["logStreams"]
    ]
    with pytest.raises(ApiError) as caught:
        service.call(
            "DescribeLogStreams",
            {**GROUP, "orderBy": "LastEventTime", "logStreamNamePrefix": "late/"},
        )
    assert "InvalidParameterException" == caught.value.code


def test_a_new_stream_shows_no_event_times_until_its_first_line_arrives(service, clock):
    """A stream exists from its container's start; its event times come with lines."""
    service.add_job("job", plain())
    clock.advance(120)
    (row,) = service.call("DescribeLogStreams", GROUP)["logStreams"]
    assert {"logStreamName", "creationTime", "arn", "storedBytes"} == set(row)
    assert round(clock.timestamp() * 1000) == row["creationTime"]


def test_filter_log_events_pages_through_every_stream(service, clock):
    """Interleaved by timestamp across hosts; ``nextToken`` only while more remain."""
    service.add_job("job", plain(training=200), ResourceConfig={"InstanceCount": 3})
    clock.advance(3000)
    events, token, pages = [], None, 0
    while True:
        request = {**GROUP, "logStreamNamePrefix": "job/", "limit": 7}
        if token:
            request["nextToken"] = token
        answer = service.call("FilterLogEvents", request)
        events += answer["events"]
        pages += 1
        token = answer.get("nextToken")
        if token is None:
            break
    written = service.written_lines("job")
    assert len(written) == len(events)
    assert sorted(written, key=lambda line: (line.timestamp, line.stream)) == [
        WrittenLine(
            stream=e["logStreamName"],
            timestamp=e["timestamp"],
            ingestion_time=e["ingestionTime"],
            message=e["message"],
        )
        for e in events
    ]
    assert -(-len(events) // 7) == pages
    assert len({e["eventId"] for e in events}) == len(events)


def test_filter_log_events_by_names_time_and_pattern(service, clock):
    """Stream names, a time window and a pattern of terms narrow the events."""
    service.add_job("job", failure(), ResourceConfig={"InstanceCount": 2})
    clock.advance(3000)
    one, two = _streams(service, "job/")
    written = service.written_lines("job")
    start, end = written[3].timestamp, written[9].timestamp
    window = service.call(
        "FilterLogEvents",
        {**GROUP, "logStreamNames": [two], "startTime": start, "endTime": end},
    )
    expected = [
        line.message
        for line in written
        if line.stream == two and start <= line.timestamp < end
    ]
    assert expected == [e["message"] for e in window["events"]]
    traceback = service.call(
        "FilterLogEvents", {**GROUP, "filterPattern": '"File " -main ?train ?nothing'}
    )
    assert ['  File "/opt/ml/code/train.py", line 212, in <module>'] == [
        e["message"] for e in traceback["events"]
    ]
    assert {one} == {e["logStreamName"] for e in traceback["events"]}


def test_describe_log_groups_shows_the_group_once_it_exists(service, clock):
    """The training jobs' group appears with the first stream, filtered by prefix."""
    service.add_job("job", plain())
    assert {"logGroups": []} == service.call("DescribeLogGroups", {})
    clock.advance(120)
    (group,) = service.call("DescribeLogGroups", {"logGroupNamePrefix": "/aws/sage"})[
        "logGroups"
    ]
    assert LOG_GROUP == group["logGroupName"]
    assert round(clock.timestamp() * 1000) == group["creationTime"]
    assert group["arn"].endswith(f"log-group:{LOG_GROUP}:*")
    other = service.call("DescribeLogGroups", {"logGroupNamePrefix": "/aws/lambda"})
    assert {"logGroups": []} == other


def test_a_log_group_arn_names_the_group(service, clock):
    """``logGroupIdentifier`` takes the group's ARN instead of its name."""
    service.add_job("job", plain())
    clock.advance(200)
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs"
    answer = service.call("DescribeLogStreams", {"logGroupIdentifier": arn})
    assert 1 == len(answer["logStreams"])
    with pytest.raises(ApiError):
        service.call("DescribeLogStreams", {"logGroupIdentifier": arn, **GROUP})


def test_a_garbled_token_is_invalid(service, clock):
    """A token with one digit changed, or cut short, is refused."""
    service.add_job("job", plain())
    clock.advance(3000)
    stream = _only_stream(service)
    token = _get(service, stream, startFromHead=True, limit=5)["nextForwardToken"]
    flipped = token[:-9] + str((int(token[-9]) + 1) % 10) + token[-8:]
    for bad in (flipped, token[:-1], "b" + token[1:], token.replace("f/", "x/")):
        with pytest.raises(ApiError) as caught:
            _get(service, stream, startFromHead=True, nextToken=bad)
        assert "The specified nextToken is invalid." == caught.value.message


@settings(max_examples=25, deadline=None)
@given(
    polls=st.lists(st.floats(0.5, 120.0), min_size=1, max_size=40),
    late=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_with_late_batches_tokens_never_repeat_or_go_back(polls, late, seed):
    """Token reads deliver a growing, duplicate-free part; ``startTime`` the rest."""
    clock = ManualClock()
    service = SimulatedSageMaker(clock=clock, quotas={}, seed=seed)
    service.add_job("job", _with_logs(plain(training=600), late=late, burst=2))
    stream = _only_stream_after(service, clock, 120)
    token, seen = None, []
    for pause in polls:
        clock.advance(pause)
        now = round(clock.timestamp() * 1000)
        events, token = _read_all(service, stream, token=token)
        assert all(e["ingestionTime"] <= now for e in events)
        seen += events
        everything, _ = _read_all(service, stream, start_time=0)
        visible = [
            line for line in service.written_lines("job") if line.ingestion_time <= now
        ]
        assert sorted(visible, key=_line_key) == sorted(
            _as_lines(stream, everything), key=_line_key
        )
    timestamps = [e["timestamp"] for e in seen]
    assert sorted(timestamps) == timestamps
    delivered = collections.Counter(_as_lines(stream, seen))
    assert not delivered - collections.Counter(service.written_lines("job"))


def _line_key(line):
    return (line.timestamp, line.ingestion_time, line.message)


@pytest.mark.asyncio
async def test_logs_requests_are_counted_per_job(running, logs):
    """A logs request counts for the job its stream (or prefix) names."""
    await _read(logs)
    await logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix="job/")
    await logs.describe_log_streams(logGroupName=LOG_GROUP)
    assert 1 == running.request_count("GetLogEvents", "job")
    assert 1 == running.request_count("DescribeLogStreams", "job")
    assert 2 == running.request_count("DescribeLogStreams")
