"""The CloudWatch Logs calls (``_io/logs.py``) over real HTTP: moto, hostile answers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import time

import botocore.session
import pytest
import pytest_asyncio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from sagemaker_watch._core.log_reader import RawLogEvent, StreamRead
from sagemaker_watch._errors import (
    AccessDenied,
    CredentialsError,
    CredentialsRejected,
    EndpointUnreachable,
    RetriesExhausted,
    ServiceError,
)
from sagemaker_watch._io.clock import SystemClock
from sagemaker_watch._io.logs import (
    LOG_GROUP,
    EventsPage,
    LogsFailure,
    LogsFailureKind,
    LogsSource,
    LogsSourceStatistics,
    StreamsPage,
)
from sagemaker_watch._io.ratelimit import Rate, RateBudget
from sagemaker_watch.testing import FakeSageMaker, Fault, LogScript, ManualClock, plain

CANARY = "canary-5d1e-log-line-secret"
#: The end of year 9999 in epoch milliseconds: the latest time a line may carry.
_MAX_MS = 253_402_300_799_999
#: What a training script may print: colours, a bell, a carriage return, a NUL.
CONTROL = "\x1b[31mred\x1b[0m \x07 half\rline \x00 tab\tend"


#: One session for the module: it loads the logs service model once (0.5 s each).
SESSION = get_session()


@contextlib.asynccontextmanager
async def _logs_client(endpoint_url, region="us-east-1"):
    """A stock aiobotocore CloudWatch Logs client for *endpoint_url*, one attempt."""
    async with SESSION.create_client(
        "logs",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy for the test server
        config=AioConfig(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=5,
            read_timeout=5,
        ),
    ) as client:
        yield client


@pytest_asyncio.fixture(name="moto_logs")
async def _moto_logs(moto_url):
    """A stock client for moto's logs, with the SageMaker log group created."""
    async with _logs_client(moto_url) as client:
        with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
            await client.create_log_group(logGroupName=LOG_GROUP)
        yield client


@pytest.fixture(name="source")
def _source(moto_logs):
    """The library's calls over the moto client."""
    return LogsSource(moto_logs)


async def _write(client, stream, lines):
    """Create *stream* and put *lines* (``(timestamp, message)``) in it."""
    await client.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    if lines:
        await client.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in lines],
        )


def _now_ms():
    """Now in epoch milliseconds (moto refuses lines older than 14 days)."""
    return int(time.time() * 1000)


def _seen(page):
    """The ``(timestamp, message)`` pairs of an events page."""
    assert isinstance(page, EventsPage), page
    return [(e.timestamp, e.message) for e in page.events]


HEAD = StreamRead(stream="job/algo-1-1700000000", token=None, start_time=None)
TOKEN = StreamRead(
    stream="job/algo-1-1700000000", token="f/" + "0" * 56, start_time=None
)


# -- moto: the happy paths -------------------------------------------------------


@pytest.mark.asyncio
async def test_list_streams_returns_the_jobs_streams_only(moto_logs, source):
    """A job's streams come back by name; another job sharing its prefix's does not."""
    for stream in ["list-a/algo-2-1700000000", "list-a/algo-1-1700000000"]:
        await _write(moto_logs, stream, [])
    await _write(moto_logs, "list-ab/algo-1-1700000000", [])
    page = await source.list_streams("list-a", token=None)
    expected = StreamsPage(
        names=("list-a/algo-1-1700000000", "list-a/algo-2-1700000000"),
        next_token=None,
    )
    assert expected == page


@pytest.mark.asyncio
async def test_list_streams_pages_with_the_services_token(moto_logs, source):
    """Past 50 streams the answer holds a token, and the next page the rest."""
    names = {f"list-many/algo-{i}-1700000000" for i in range(1, 56)}
    for name in names:
        await _write(moto_logs, name, [])
    first = await source.list_streams("list-many", token=None)
    assert isinstance(first, StreamsPage)
    assert 50 == len(first.names)
    assert first.next_token is not None
    second = await source.list_streams("list-many", token=first.next_token)
    assert isinstance(second, StreamsPage)
    assert (5, None) == (len(second.names), second.next_token)
    assert names == {*first.names, *second.names}


@pytest.mark.asyncio
async def test_read_pages_from_the_head_and_ends_on_the_token_it_was_given(
    moto_logs, source
):
    """Reads go oldest first by token; at the end the token sent comes back as is."""
    start = _now_ms()
    lines = [(start, "a"), (start + 1, "b"), (start + 1, "b"), (start + 2, "c")]
    lines.append((start + 3, "d"))
    await _write(moto_logs, "read-head/algo-1-1700000000", lines)
    request = StreamRead(
        stream="read-head/algo-1-1700000000", token=None, start_time=None
    )
    seen = []
    pages = 0
    while True:
        page = await source.read(request, limit=2)
        pages += 1
        seen += _seen(page)
        if page.next_token == request.token:
            break
        assert page.next_token is not None
        request = StreamRead(
            stream=request.stream, token=page.next_token, start_time=None
        )
    assert lines == seen
    assert 4 == pages
    assert [] == _seen(await source.read(request))


@pytest.mark.asyncio
async def test_read_events_carry_their_ingestion_time(moto_logs, source):
    """Each event is a RawLogEvent with its own and its ingestion time, in ms."""
    start = _now_ms()
    await _write(moto_logs, "read-ingest/algo-1-1", [(start, "x")])
    page = await source.read(
        StreamRead(stream="read-ingest/algo-1-1", token=None, start_time=None)
    )
    assert isinstance(page, EventsPage)
    [event] = page.events
    assert isinstance(event, RawLogEvent)
    assert (start, "x") == (event.timestamp, event.message)
    assert start <= event.ingestion_time <= _now_ms()
    assert f"EventsPage(events=1, next_token={page.next_token!r})" == repr(page)


@pytest.mark.asyncio
async def test_read_by_start_time_leaves_out_earlier_lines(moto_logs, source):
    """Without a token a read starts at its start time, that millisecond included."""
    start = _now_ms()
    lines = [(start + i, f"line {i}") for i in range(5)]
    await _write(moto_logs, "read-time/algo-1-1700000000", lines)
    request = StreamRead(
        stream="read-time/algo-1-1700000000", token=None, start_time=start + 3
    )
    assert lines[3:] == _seen(await source.read(request))


@pytest.mark.asyncio
async def test_messages_are_kept_verbatim(moto_logs, source):
    """Control characters, Unicode and secrets in a line come back as written."""
    start = _now_ms()
    lines = [(start, CONTROL), (start + 1, f"key={CANARY} ✓ 学习")]
    await _write(moto_logs, "read-verbatim/algo-1-1", lines)
    page = await source.read(
        StreamRead(stream="read-verbatim/algo-1-1", token=None, start_time=None)
    )
    assert lines == _seen(page)


@pytest.mark.asyncio
async def test_a_missing_stream_or_group_is_not_found(moto_logs):
    """A stream or a log group not created yet is NOT_FOUND, named by its code."""
    read = await LogsSource(moto_logs).read(
        StreamRead(stream="missing/algo-1-1", token=None, start_time=None)
    )
    listed = await LogsSource(moto_logs, log_group="/aws/nope").list_streams(
        "missing", token=None
    )
    for failed in [read, listed]:
        assert isinstance(failed, LogsFailure)
        assert (LogsFailureKind.NOT_FOUND, "ResourceNotFoundException") == (
            failed.kind,
            failed.code,
        )


@pytest.mark.asyncio
async def test_a_token_the_service_refuses_is_token_rejected(moto_logs, source):
    """An InvalidParameterException to a read with a token is TOKEN_REJECTED."""
    await _write(moto_logs, "token-bad/algo-1-1", [(_now_ms(), "x")])
    failed = await source.read(
        StreamRead(stream="token-bad/algo-1-1", token=f"z/{CANARY}", start_time=None)
    )
    assert isinstance(failed, LogsFailure)
    assert (LogsFailureKind.TOKEN_REJECTED, "InvalidParameterException") == (
        failed.kind,
        failed.code,
    )
    assert CANARY not in failed.message
    assert CANARY not in str(failed.error)


@pytest.mark.asyncio
async def test_statistics_count_calls_events_and_errors(moto_logs, source):
    """Calls, events returned, throttles and errors by code are counted."""
    start = _now_ms()
    await _write(moto_logs, "stats/algo-1-1", [(start, "a"), (start + 1, "b")])
    await source.list_streams("stats", token=None)
    await source.read(StreamRead(stream="stats/algo-1-1", token=None, start_time=None))
    await source.read(StreamRead(stream="stats/algo-9-1", token=None, start_time=None))
    expected = LogsSourceStatistics(
        calls=3, events=2, throttles=0, errors={"ResourceNotFoundException": 1}
    )
    assert expected == source.statistics()
    assert "LogsSource(calls=3, events=2, throttles=0)" == repr(source)


@pytest.mark.asyncio
async def test_a_limit_out_of_range_is_refused(source):
    """GetLogEvents takes 1 to 10,000 events: anything else raises at once."""
    request = StreamRead(stream="j/algo-1-1", token=None, start_time=None)
    for limit in [0, 10_001]:
        with pytest.raises(ValueError, match="limit"):
            await source.read(request, limit=limit)


@pytest.mark.parametrize("seconds", [0, -1.0])
@pytest.mark.asyncio
async def test_a_time_bound_that_is_not_positive_is_refused(moto_logs, seconds):
    """A call's time bound must be positive."""
    with pytest.raises(ValueError, match="timeout"):
        LogsSource(moto_logs, timeout=seconds)


@pytest.mark.asyncio
async def test_a_client_without_credentials_is_denied(moto_url):
    """No credentials anywhere is DENIED, giving up as a CredentialsError."""
    async with SESSION.create_client(
        "logs", region_name="us-east-1", endpoint_url=moto_url
    ) as client:
        failed = await LogsSource(client).read(HEAD)
    assert isinstance(failed, LogsFailure)
    assert (LogsFailureKind.DENIED, None) == (failed.kind, failed.code)
    assert isinstance(failed.error, CredentialsError)
    assert "NoCredentialsError" in failed.message


@pytest.mark.asyncio
async def test_a_synchronous_client_is_a_bug_that_goes_up(moto_url):
    """A botocore (not aiobotocore) client's answer cannot be awaited: TypeError."""
    client = botocore.session.get_session().create_client(
        "logs",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy for moto
    )
    try:
        with pytest.raises(TypeError, match="await"):
            await LogsSource(client).list_streams("job", token=None)
    finally:
        client.close()


# -- hostile answers --------------------------------------------------------------


@pytest_asyncio.fixture(name="hostile")
async def _hostile(moto_url):
    """A hostile endpoint in front of moto: passes through until told otherwise."""
    from hostile import HostileServer  # noqa: PLC0415 - a test helper module

    async with HostileServer(upstream=moto_url) as server:
        yield server


@pytest_asyncio.fixture(name="hostile_source")
async def _hostile_source(hostile):
    """The library's calls through the hostile endpoint."""
    async with _logs_client(hostile.endpoint_url) as client:
        yield LogsSource(client)


def _error(code, message="", status=400):
    """A JSON 1.1 error answer."""
    return {
        "body": json.dumps({"__type": code, "message": message}).encode(),
        "status": status,
    }


async def _both(hostile, source, **rule):
    """The outcome of a read and of a listing, each answered by *rule*."""
    hostile.rule("GetLogEvents", **rule)
    hostile.rule("DescribeLogStreams", **rule)
    return [await source.read(TOKEN), await source.list_streams("job", token=None)]


@pytest.mark.parametrize(
    "rule",
    [
        _error("ThrottlingException", "Rate exceeded"),
        _error("LimitExceededException", "Resource limit exceeded."),
        _error("Throttling", "Rate exceeded"),
        _error("SomethingNew", "slow down", status=429),
    ],
)
@pytest.mark.asyncio
async def test_throttles_are_throttled(hostile, hostile_source, rule):
    """CloudWatch Logs' throttles (and any 429) are THROTTLED, counted, not raised."""
    outcomes = await _both(hostile, hostile_source, **rule)
    assert [LogsFailureKind.THROTTLED] * 2 == [o.kind for o in outcomes]
    assert all(isinstance(o.error, RetriesExhausted) for o in outcomes)
    assert (2, {}) == (
        hostile_source.statistics().throttles,
        dict(hostile_source.statistics().errors),
    )


@pytest.mark.parametrize(
    "rule",
    [
        _error(
            "ServiceUnavailableException",
            "The service cannot complete the request.",
            500,
        ),
        _error("ServiceUnavailableException", "", 400),
        _error("InternalFailure", "", 500),
        {
            "body": b"<html>Bad Gateway</html>",
            "status": 502,
            "headers": {"Content-Type": "text/html"},
        },
        {"body": b"", "status": 503},
    ],
)
@pytest.mark.asyncio
async def test_server_errors_are_transient(hostile, hostile_source, rule):
    """5xx answers and ServiceUnavailableException are TRANSIENT."""
    outcomes = await _both(hostile, hostile_source, **rule)
    assert [LogsFailureKind.TRANSIENT] * 2 == [o.kind for o in outcomes]
    assert 2 == sum(hostile_source.statistics().errors.values())


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("AccessDeniedException", AccessDenied),
        ("UnrecognizedClientException", CredentialsRejected),
        ("InvalidSignatureException", CredentialsRejected),
    ],
)
@pytest.mark.asyncio
async def test_refusals_are_denied_with_the_typed_error(
    hostile, hostile_source, code, error_type
):
    """IAM's refusal and rejected credentials are DENIED, with the error to raise."""
    outcomes = await _both(hostile, hostile_source, **_error(code, CANARY))
    assert [LogsFailureKind.DENIED] * 2 == [o.kind for o in outcomes]
    assert [error_type] * 2 == [type(o.error) for o in outcomes]
    assert [code] * 2 == [o.code for o in outcomes]
    if error_type is AccessDenied:
        assert ["GetLogEvents", "DescribeLogStreams"] == [
            o.error.operation for o in outcomes
        ]


@pytest.mark.asyncio
async def test_expired_credentials_are_transient_then_rejected(hostile, hostile_source):
    """An expired session token is TRANSIENT (it may renew), then rejected."""
    outcomes = await _both(hostile, hostile_source, **_error("ExpiredTokenException"))
    assert [LogsFailureKind.TRANSIENT] * 2 == [o.kind for o in outcomes]
    assert [CredentialsRejected] * 2 == [type(o.error) for o in outcomes]


@pytest.mark.asyncio
async def test_invalid_parameter_without_a_token_is_fatal(hostile, hostile_source):
    """An InvalidParameterException to a request without a token is FATAL."""
    hostile.rule("GetLogEvents", **_error("InvalidParameterException", "bad limit"))
    failed = await hostile_source.read(HEAD)
    assert isinstance(failed, LogsFailure)
    assert (LogsFailureKind.FATAL, ServiceError) == (failed.kind, type(failed.error))


@pytest.mark.asyncio
async def test_an_expired_token_of_either_call_is_token_rejected(
    hostile, hostile_source
):
    """The service's refusal of a read's or a listing's token is TOKEN_REJECTED."""
    hostile.rule(
        "GetLogEvents",
        **_error("InvalidParameterException", "The specified nextToken is invalid."),
    )
    hostile.rule(
        "DescribeLogStreams",
        **_error("InvalidParameterException", "The specified nextToken is invalid."),
    )
    outcomes = [
        await hostile_source.read(TOKEN),
        await hostile_source.list_streams("job", token=TOKEN.token),
    ]
    assert [LogsFailureKind.TOKEN_REJECTED] * 2 == [o.kind for o in outcomes]


def _events_answer(events, forward="f/" + "1" * 56):
    """A GetLogEvents answer body with *events*."""
    return json.dumps(
        {"events": events, "nextForwardToken": forward, "nextBackwardToken": "b/0"}
    ).encode()


GOOD_EVENT = {
    "timestamp": 1_700_000_000_000,
    "message": "ok",
    "ingestionTime": 1_700_000_000_500,
}


@pytest.mark.parametrize(
    "body",
    [
        _events_answer("not a list"),
        _events_answer(7),
        _events_answer({"timestamp": 1}),
        _events_answer([1]),
        _events_answer([None]),
        _events_answer([{**GOOD_EVENT, "timestamp": "1700000000000"}]),
        _events_answer([{**GOOD_EVENT, "timestamp": 1.5}]),
        _events_answer([{**GOOD_EVENT, "timestamp": True}]),
        _events_answer([{**GOOD_EVENT, "timestamp": -1}]),
        _events_answer([{**GOOD_EVENT, "timestamp": 10**30}]),
        _events_answer([{**GOOD_EVENT, "ingestionTime": None}]),
        _events_answer([{**GOOD_EVENT, "message": 42}]),
        _events_answer([{"timestamp": 1, "ingestionTime": 2}]),
        _events_answer([GOOD_EVENT], forward=17),
        _events_answer([GOOD_EVENT], forward=["f/1"]),
        _events_answer([GOOD_EVENT], forward="f/1\x1b[2J"),
        json.dumps({"nextForwardToken": "f/1"}).encode(),
        b"null",
        b"[]",
        b'"events"',
        _events_answer([GOOD_EVENT])[:40],
        b"<html><body>captive portal</body></html>",
        b"\x1f\x8b\x08\x00garbage",
    ],
)
@pytest.mark.asyncio
async def test_a_malformed_read_is_malformed(hostile, hostile_source, body):
    """Events or members of the wrong type, or no answer at all, are MALFORMED."""
    hostile.rule("GetLogEvents", body=body)
    failed = await hostile_source.read(HEAD)
    assert isinstance(failed, LogsFailure), failed
    assert (LogsFailureKind.MALFORMED, None) == (failed.kind, failed.code)
    assert {"MalformedResponse": 1} == dict(hostile_source.statistics().errors)


def _streams_answer(streams, token=None):
    """A DescribeLogStreams answer body with *streams*."""
    answer = {"logStreams": streams}
    if token is not None:
        answer["nextToken"] = token
    return json.dumps(answer).encode()


@pytest.mark.parametrize(
    "body",
    [
        _streams_answer("job/algo-1-1"),
        _streams_answer([7]),
        _streams_answer([{"logStreamName": 7}]),
        _streams_answer([{"arn": "x"}]),
        _streams_answer([{"logStreamName": "job/algo-1-1\x1b[2J"}]),
        _streams_answer([{"logStreamName": "job/algo-1-1"}], token=3),
        json.dumps({"nextToken": "t"}).encode(),
        b"null",
        _streams_answer([{"logStreamName": "job/algo-1-1"}])[:20],
    ],
)
@pytest.mark.asyncio
async def test_a_malformed_listing_is_malformed(hostile, hostile_source, body):
    """Streams or tokens of the wrong type, or no answer at all, are MALFORMED."""
    hostile.rule("DescribeLogStreams", body=body)
    failed = await hostile_source.list_streams("job", token=None)
    assert isinstance(failed, LogsFailure), failed
    assert LogsFailureKind.MALFORMED == failed.kind


@pytest.mark.asyncio
async def test_a_listing_keeps_only_the_jobs_streams(hostile, hostile_source):
    """Names outside the job's prefix, from a careless server, are left out."""
    hostile.rule(
        "DescribeLogStreams",
        body=_streams_answer(
            [
                {"logStreamName": "job/algo-1-1"},
                {"logStreamName": "other/algo-1-1"},
                {"logStreamName": "jobx/algo-1-1"},
            ],
            token="",
        ),
    )
    expected = StreamsPage(names=("job/algo-1-1",), next_token=None)
    assert expected == await hostile_source.list_streams("job", token=None)


@pytest.mark.asyncio
async def test_a_read_takes_what_the_service_answers(hostile, hostile_source):
    """Equal lines at one millisecond stay two; a missing token reads as None."""
    events = [GOOD_EVENT, GOOD_EVENT, {**GOOD_EVENT, "message": CONTROL, "extra": 1}]
    hostile.rule("GetLogEvents", body=json.dumps({"events": events}).encode())
    page = await hostile_source.read(HEAD)
    event = RawLogEvent(
        timestamp=1_700_000_000_000, ingestion_time=1_700_000_000_500, message="ok"
    )
    expected = EventsPage(
        events=(
            event,
            event,
            RawLogEvent(
                timestamp=1_700_000_000_000,
                ingestion_time=1_700_000_000_500,
                message=CONTROL,
            ),
        ),
        next_token=None,
    )
    assert expected == page


@pytest.mark.asyncio
async def test_moto_answers_pass_through_the_hostile_server(moto_logs, hostile_source):
    """The hostile server passes moto's answers on untouched until told otherwise."""
    start = _now_ms()
    await _write(moto_logs, "through/algo-1-1", [(start, "a")])
    assert StreamsPage(names=("through/algo-1-1",), next_token=None) == (
        await hostile_source.list_streams("through", token=None)
    )
    page = await hostile_source.read(
        StreamRead(stream="through/algo-1-1", token=None, start_time=None)
    )
    assert [(start, "a")] == _seen(page)


@pytest.mark.asyncio
async def test_a_slow_answer_is_abandoned_as_transient(hostile):
    """An answer still trickling in after the time bound is cut off, TRANSIENT."""
    hostile.rule("GetLogEvents", body=_events_answer([GOOD_EVENT]), trickle=0.05)
    async with _logs_client(hostile.endpoint_url) as client:
        source = LogsSource(client, timeout=0.3)
        started = time.monotonic()
        failed = await source.read(HEAD)
        elapsed = time.monotonic() - started
    assert isinstance(failed, LogsFailure)
    assert (LogsFailureKind.TRANSIENT, None) == (failed.kind, failed.code)
    assert "TimeoutError" in failed.message
    assert elapsed < 2.0


@pytest.mark.asyncio
async def test_an_endpoint_that_refuses_connections_is_transient():
    """A refused connection is TRANSIENT, and gives up as EndpointUnreachable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with _logs_client(f"http://127.0.0.1:{port}") as client:
        failed = await LogsSource(client).read(HEAD)
    assert isinstance(failed, LogsFailure)
    assert (LogsFailureKind.TRANSIENT, EndpointUnreachable) == (
        failed.kind,
        type(failed.error),
    )


@pytest.mark.asyncio
async def test_a_budget_is_taken_before_each_call_and_told_of_throttles(
    hostile, hostile_source
):
    """Each call takes its operation's token; a throttle lowers that rate alone."""
    budget = RateBudget(
        {
            "GetLogEvents": Rate(per_second=100.0, burst=10.0),
            "DescribeLogStreams": Rate(per_second=100.0, burst=10.0),
        },
        clock=SystemClock(),
    )
    source = LogsSource(hostile_source.client, budget=budget)
    hostile.rule(
        "GetLogEvents", **_error("ThrottlingException", "Rate exceeded"), times=1
    )
    await source.read(HEAD)
    await source.list_streams("job", token=None)
    stats = budget.statistics().operations
    assert (1, 1, 50.0) == (
        stats["GetLogEvents"].taken,
        stats["GetLogEvents"].throttles,
        stats["GetLogEvents"].rate,
    )
    assert (1, 0) == (
        stats["DescribeLogStreams"].taken,
        stats["DescribeLogStreams"].throttles,
    )


@pytest.mark.asyncio
async def test_no_failure_shows_a_body_or_a_control_character(hostile, hostile_source):
    """Codes and messages of hostile errors are cleaned; no body is quoted or logged."""
    with capture_logs() as logs:
        outcomes = [
            *await _both(hostile, hostile_source, **_error("Boom\x1b[2J", CANARY)),
            *await _both(
                hostile,
                hostile_source,
                **_error("ValidationException", f"{CANARY}\x1b[2J"),
            ),
            *await _both(
                hostile, hostile_source, body=f"<html>{CANARY}</html>".encode()
            ),
            *await _both(
                hostile, hostile_source, **_error("AccessDeniedException", CANARY)
            ),
        ]
    assert all(isinstance(o, LogsFailure) for o in outcomes)
    shown = [
        *(o.message for o in outcomes),
        *(o.code or "" for o in outcomes),
        *(repr(o) for o in outcomes),
        *(str(o.error) for o in outcomes),
        repr(hostile_source.statistics()),
        repr(logs),
    ]
    assert [] == [text for text in shown if CANARY in text]
    assert [] == [text for text in shown if not text.isprintable()]
    assert [] == logs


# -- the fake SageMaker's CloudWatch Logs ------------------------------------------


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A running fake on a manual clock, without quotas."""
    async with FakeSageMaker(clock=ManualClock(), quotas={}) as fake:
        yield fake


@pytest_asyncio.fixture(name="fake_source")
async def _fake_source(fake):
    """The library's calls over a stock client for the fake's CloudWatch Logs."""
    async with _logs_client(fake.endpoint_url, fake.region) as client:
        yield LogsSource(client)


async def _read_stream(source, stream, *, limit):
    """Every event of *stream* by forward tokens, and the pages it took."""
    request = StreamRead(stream=stream, token=None, start_time=None)
    events, pages = [], 0
    while True:
        page = await source.read(request, limit=limit)
        assert isinstance(page, EventsPage), page
        pages += 1
        events += page.events
        if page.next_token == request.token:
            return events, pages
        request = StreamRead(stream=stream, token=page.next_token, start_time=None)


@pytest.mark.asyncio
async def test_fake_every_line_of_every_host_once_in_order(fake, fake_source):
    """Two hosts writing bursts of equal timestamps: each line once, as written."""
    fake.add_job(
        "job",
        dataclasses.replace(plain(), logs=LogScript(burst=3)),
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2},
    )
    fake.advance(3000)
    listed = await fake_source.list_streams("job", token=None)
    assert isinstance(listed, StreamsPage)
    assert 2 == len(listed.names)
    assert listed.next_token is None
    written = fake.written_lines("job")
    for stream in listed.names:
        events, pages = await _read_stream(fake_source, stream, limit=100)
        expected = sorted(
            (line for line in written if line.stream == stream),
            key=lambda line: line.timestamp,
        )
        assert [
            RawLogEvent(
                timestamp=line.timestamp,
                ingestion_time=line.ingestion_time,
                message=line.message,
            )
            for line in expected
        ] == events
        assert len(expected) // 100 + 2 == pages
    timestamps = [line.timestamp for line in written]
    assert len(set(timestamps)) < len(timestamps)


@pytest.mark.asyncio
async def test_fake_streams_not_there_yet_are_not_found(fake, fake_source):
    """Before a job's containers start there is no group, then no stream: NOT_FOUND."""
    listed = await fake_source.list_streams("job", token=None)
    fake.add_job("job", plain())
    read = await fake_source.read(HEAD)
    assert [LogsFailureKind.NOT_FOUND] * 2 == [listed.kind, read.kind]


@pytest.mark.asyncio
async def test_fake_an_expired_token_is_token_rejected(fake, fake_source):
    """After the fake expires its tokens, a read by token is TOKEN_REJECTED."""
    fake.add_job("job", plain())
    fake.advance(3000)
    [stream] = (await fake_source.list_streams("job", token=None)).names
    first = await fake_source.read(
        StreamRead(stream=stream, token=None, start_time=None), limit=10
    )
    fake.expire_log_tokens()
    failed = await fake_source.read(
        StreamRead(stream=stream, token=first.next_token, start_time=None)
    )
    assert isinstance(failed, LogsFailure)
    assert (LogsFailureKind.TOKEN_REJECTED, "InvalidParameterException") == (
        failed.kind,
        failed.code,
    )
    again = await fake_source.read(
        StreamRead(stream=stream, token=None, start_time=first.events[-1].timestamp)
    )
    assert first.events[-1] == again.events[0]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault.logs_throttle(times=1), LogsFailureKind.THROTTLED),
        (Fault.logs_server_error(503, times=1), LogsFailureKind.TRANSIENT),
        (Fault.logs_server_error(500, times=1), LogsFailureKind.TRANSIENT),
        (Fault.drop_connection(service="logs", times=1), LogsFailureKind.TRANSIENT),
        (Fault.truncated(service="logs", times=1), LogsFailureKind.TRANSIENT),
        (
            Fault.malformed_body("not_json", service="logs", times=1),
            LogsFailureKind.MALFORMED,
        ),
        (
            Fault.malformed_body("cut_json", service="logs", times=1),
            LogsFailureKind.MALFORMED,
        ),
        (
            Fault.malformed_body("missing_members", service="logs", times=1),
            LogsFailureKind.MALFORMED,
        ),
        (
            Fault.error(
                "AccessDeniedException",
                "User is not authorized to perform: logs:GetLogEvents",
                service="logs",
                times=1,
            ),
            LogsFailureKind.DENIED,
        ),
    ],
)
@pytest.mark.parametrize("operation", ["GetLogEvents", "DescribeLogStreams"])
@pytest.mark.asyncio
async def test_fake_faults_are_classified(fake, fake_source, fault, kind, operation):
    """Each fault the fake injects on either call comes back as its kind, once."""
    fake.add_job("job", plain())
    fake.advance(3000)
    [stream] = (await fake_source.list_streams("job", token=None)).names
    fake.inject(dataclasses.replace(fault, operation=operation))
    request = StreamRead(stream=stream, token=None, start_time=None)

    async def call():
        if operation == "GetLogEvents":
            return await fake_source.read(request)
        return await fake_source.list_streams("job", token=None)

    failed = await call()
    assert isinstance(failed, LogsFailure), failed
    assert kind == failed.kind
    assert not isinstance(await call(), LogsFailure)


@pytest.mark.asyncio
async def test_fake_a_slow_answer_is_cut_at_the_time_bound(fake):
    """A read the fake holds past the bound is abandoned as TRANSIENT."""
    fake.add_job("job", plain())
    fake.advance(3000)
    fake.inject(Fault.slow(0.6, service="logs", operation="GetLogEvents", times=1))
    async with fake.logs_client() as client:
        source = LogsSource(client, timeout=0.2)
        [stream] = (await source.list_streams("job", token=None)).names
        failed = await source.read(
            StreamRead(stream=stream, token=None, start_time=None)
        )
    assert isinstance(failed, LogsFailure)
    assert LogsFailureKind.TRANSIENT == failed.kind


@pytest.mark.asyncio
async def test_fake_quota_throttles_and_the_budget_slows_down():
    """Past GetLogEvents' quota the fake throttles; the budget halves its rate."""
    async with FakeSageMaker(clock=ManualClock()) as fake:
        fake.add_job("job", plain())
        fake.advance(3000)
        budget = RateBudget(
            {"GetLogEvents": Rate(per_second=1000.0, burst=1000.0)}, clock=SystemClock()
        )
        async with fake.logs_client() as client:
            source = LogsSource(client, budget=budget)
            [stream] = (await source.list_streams("job", token=None)).names
            request = StreamRead(stream=stream, token=None, start_time=None)
            outcomes = [await source.read(request, limit=1) for _ in range(30)]
    kinds = [o.kind for o in outcomes if isinstance(o, LogsFailure)]
    assert [LogsFailureKind.THROTTLED] * 5 == kinds
    operation = budget.statistics().operations["GetLogEvents"]
    assert (30, 5) == (operation.taken, operation.throttles)
    assert operation.rate <= 500.0


# -- any answer at all -------------------------------------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_MS = st.integers(min_value=0, max_value=_MAX_MS)
_GOOD_EVENT = st.fixed_dictionaries(
    {"timestamp": _MS, "ingestionTime": _MS, "message": st.text(max_size=12)}
)
#: A good event with one member replaced (by junk, an edge of the range, or
#: nothing) or dropped.
_BAD_EVENT = st.tuples(
    _GOOD_EVENT,
    st.sampled_from(["timestamp", "ingestionTime", "message"]),
    _JSON | st.sampled_from([-1, _MAX_MS + 1, True, 1.0]),
    st.booleans(),
).map(
    lambda t: (
        {k: v for k, v in t[0].items() if k != t[1]} if t[3] else {**t[0], t[1]: t[2]}
    )
)
#: Answers near the real ones: good events, at most one bad one, a token.
_LIKELY = st.fixed_dictionaries(
    {
        "events": st.tuples(
            st.lists(_GOOD_EVENT, max_size=2), st.none() | _BAD_EVENT
        ).map(lambda t: t[0] if t[1] is None else [*t[0], t[1]]),
        "nextForwardToken": st.none() | st.text(max_size=8),
    }
)
#: Answers of any shape.
_ANY = st.fixed_dictionaries(
    {},
    optional={
        "events": st.lists(_GOOD_EVENT | _BAD_EVENT | _JSON, max_size=3) | _JSON,
        "nextForwardToken": st.text(max_size=8) | _JSON,
        "nextBackwardToken": st.text(max_size=8),
    },
)
_BODIES = st.one_of(
    _LIKELY.map(lambda answer: json.dumps(answer).encode()),
    _ANY.map(lambda answer: json.dumps(answer).encode()),
    st.binary(max_size=40),
)


def _expected_outcome(body):  # noqa: PLR0911 - one return per way to be malformed
    """What ``read`` should make of *body*: an ``EventsPage``, or ``"malformed"``.

    Written from botocore's JSON parser: members that are ``null`` are absent,
    and a list member that is an empty string or object reads as empty.
    """
    try:
        answer = json.loads(body.decode())
    except ValueError:
        return "malformed"
    if not isinstance(answer, dict):
        return "malformed"
    rows = answer.get("events")
    if rows in ("", {}):
        rows = []
    if not isinstance(rows, list):
        return "malformed"
    events = []
    for row in rows:
        if not isinstance(row, dict):
            return "malformed"
        times = [row.get("timestamp"), row.get("ingestionTime")]
        if not all(
            type(t) is int and 0 <= t <= _MAX_MS for t in times
        ) or not isinstance(row.get("message"), str):
            return "malformed"
        events.append(
            RawLogEvent(
                timestamp=times[0], ingestion_time=times[1], message=row["message"]
            )
        )
    token = answer.get("nextForwardToken")
    if token in (None, ""):
        token = None
    elif not isinstance(token, str) or not token.isprintable():
        return "malformed"
    return EventsPage(events=tuple(events), next_token=token)


def test_any_answer_is_a_page_of_checked_events_or_malformed():
    """Whatever a 200 answer holds, ``read`` returns checked events or MALFORMED."""
    from hostile import HostileServer  # noqa: PLC0415 - a test helper module

    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    try:
        server = loop.run_until_complete(stack.enter_async_context(HostileServer()))
        client = loop.run_until_complete(
            stack.enter_async_context(_logs_client(server.endpoint_url))
        )

        @settings(max_examples=150, deadline=None)
        @given(body=_BODIES)
        def check(body):
            server.rules.clear()
            server.rule("GetLogEvents", body=body)
            outcome = loop.run_until_complete(LogsSource(client).read(HEAD))
            if isinstance(outcome, LogsFailure):
                assert (LogsFailureKind.MALFORMED, True) == (
                    outcome.kind,
                    outcome.message.isprintable(),
                )
                outcome = "malformed"
            assert _expected_outcome(body) == outcome

        check()
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
