"""The SQS calls (``_io/sqs.py``) over real HTTP: the fake's queue, then moto's."""

from __future__ import annotations

import json
import pathlib

import pytest
import pytest_asyncio
from botocore.exceptions import ChecksumError, ClientError
from structlog.testing import capture_logs

from sagemaker_watch._core.hints import Hint, NotAHint, NotAHintReason
from sagemaker_watch._core.status import PrimaryStatus, SecondaryStatus
from sagemaker_watch._core.tracker import ErrorKind
from sagemaker_watch._errors import AccessDenied, InvalidEndpoint, NoRegion
from sagemaker_watch._io.client import ClientOptions, sqs_client
from sagemaker_watch._io.failures import classify, give_up_error
from sagemaker_watch._io.source import CallFailed
from sagemaker_watch._io.sqs import SqsQueue, SqsStatistics
from sagemaker_watch.testing import FakeSageMaker, Fault, ManualClock

CANARY = "canary-7f3a9c-hyperparameter-secret"
FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "eventbridge"


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A running fake on a manual clock, publishing events into queue "events"."""
    async with FakeSageMaker(
        clock=ManualClock(), quotas={}, events_queue="events"
    ) as fake:
        yield fake


@pytest_asyncio.fixture(name="sqs")
async def _sqs(fake):
    """A stock aiobotocore SQS client for the fake."""
    async with fake.sqs_client() as client:
        yield client


@pytest.fixture(name="queue")
def _queue(fake, sqs):
    """The library's reader of the fake's "events" queue."""
    return SqsQueue(sqs, fake.queue_url("events"))


def _secret_job(fake, name="job"):
    """Add a job whose HyperParameters and Tags hold the canary."""
    fake.add_job(
        name,
        "plain",
        HyperParameters={"api_key": CANARY},
        Tags=[{"Key": "token", "Value": CANARY}],
    )


def _hints(results):
    return [r for r in results if isinstance(r, Hint)]


@pytest.mark.asyncio
async def test_receive_returns_a_hint_for_the_jobs_change(fake, queue):
    """A new job's Starting event comes back as its hint, read from the message."""
    _secret_job(fake)
    results = await queue.receive()
    assert [("job", PrimaryStatus.IN_PROGRESS, SecondaryStatus.STARTING)] == [
        (h.job_name, h.primary_status, h.secondary_status) for h in results
    ]
    assert results[0].receipt_handle is not None
    expected = SqsStatistics(
        receives=1,
        deletes=0,
        messages=1,
        hints=1,
        not_hints={},
        deleted=0,
        delete_failures={},
        throttles=0,
        errors=0,
    )
    assert expected == queue.statistics()


@pytest.mark.asyncio
async def test_receive_asks_for_a_long_poll_of_up_to_ten(fake, queue):
    """Each receive is one ReceiveMessage with WaitTimeSeconds 20 and up to 10."""
    for i in range(12):
        fake.add_job(f"job-{i}", "plain")
    assert 10 == len(await queue.receive())
    assert 2 == len(await queue.receive())
    assert 2 == fake.request_count("ReceiveMessage")


@pytest.mark.asyncio
async def test_long_poll_returns_at_the_change_on_the_fakes_clock(fake, queue):
    """An empty poll lasts 20 s; the next returns when the job starts Downloading."""
    fake.add_job("job", "plain")
    assert await queue.delete(await queue.receive()) is None
    start = fake.clock.timestamp()
    assert [] == await queue.receive()
    assert 20.0 == pytest.approx(fake.clock.timestamp() - start)
    while not (results := await queue.receive()):
        pass
    assert [SecondaryStatus.DOWNLOADING] == [h.secondary_status for h in results]
    assert 120.0 == pytest.approx(fake.clock.timestamp() - start, abs=0.001)


@pytest.mark.asyncio
async def test_delete_removes_what_was_handled(fake, sqs):
    """Deleted messages do not come back after the visibility timeout."""
    queue = SqsQueue(sqs, fake.queue_url("events"), wait_seconds=0)
    for i in range(12):
        fake.add_job(f"job-{i}", "plain")
    handled = [*await queue.receive(), *await queue.receive()]
    assert 12 == len(handled)
    assert await queue.delete(handled) is None
    assert 2 == fake.request_count("DeleteMessageBatch")
    fake.advance(30.0)
    assert [] == await queue.receive()
    assert (2, 12) == (queue.statistics().deletes, queue.statistics().deleted)


@pytest.mark.asyncio
async def test_an_undeleted_message_comes_back_as_a_duplicate_hint(fake, sqs):
    """Without a delete the same event returns after 30 s: a duplicate hint."""
    queue = SqsQueue(sqs, fake.queue_url("events"), wait_seconds=0)
    fake.add_job("job", "plain")
    [first] = await queue.receive()
    fake.advance(30.0)
    [again] = await queue.receive()
    assert (first.message_id, first.job_name) == (again.message_id, again.job_name)
    assert first.receipt_handle != again.receipt_handle
    # The stale handle deletes nothing and fails nothing, as SQS documents.
    assert await queue.delete([first]) is None
    fake.advance(30.0)
    assert [first.message_id] == [h.message_id for h in await queue.receive()]


@pytest.mark.asyncio
async def test_delete_with_nothing_to_delete_makes_no_call(fake, queue):
    """No receipt handles, no DeleteMessageBatch call."""
    assert await queue.delete([]) is None
    unhandled = NotAHint(reason=NotAHintReason.NOT_A_MESSAGE, message_id=None)
    assert await queue.delete([unhandled]) is None
    assert 0 == fake.request_count("DeleteMessageBatch")


@pytest.mark.asyncio
async def test_failed_delete_entries_are_counted_not_returned(fake, queue):
    """A batch entry SQS refuses (an invalid handle) is counted by code, not raised."""
    fake.add_job("job", "plain")
    [hint] = await queue.receive()
    bogus = NotAHint(
        reason=NotAHintReason.NOT_JSON, message_id="m", receipt_handle="bogus"
    )
    assert await queue.delete([hint, bogus]) is None
    stats = queue.statistics()
    expected = (1, {"ReceiptHandleIsInvalid": 1})
    assert expected == (stats.deleted, dict(stats.delete_failures))


@pytest.mark.asyncio
async def test_messages_that_are_not_hints_are_counted_by_reason(fake, sqs, queue):
    """A body that is not an event reads as NotAHint, counted, deletable."""
    url = fake.queue_url("events")
    await sqs.send_message(QueueUrl=url, MessageBody=f"not json {CANARY}")
    await sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"source": "x"}))
    results = await queue.receive()
    assert [NotAHintReason.NOT_JSON, NotAHintReason.WRONG_SOURCE] == sorted(
        r.reason for r in results
    )
    assert {"not_json": 1, "wrong_source": 1} == dict(queue.statistics().not_hints)
    assert await queue.delete(results) is None
    fake.advance(30.0)
    assert [] == await SqsQueue(sqs, url, wait_seconds=0).receive()


@pytest.mark.asyncio
async def test_throttling_comes_back_classified(fake, queue):
    """SQS's RequestThrottled is a THROTTLED CallFailed, counted, not raised."""
    fake.inject(Fault.sqs_throttle(times=1))
    failed = await queue.receive()
    assert isinstance(failed, CallFailed)
    assert (ErrorKind.THROTTLED, "RequestThrottled") == (
        failed.kind,
        failed.error.code,
    )
    assert (1, 1, 0) == (
        queue.statistics().receives,
        queue.statistics().throttles,
        queue.statistics().errors,
    )


@pytest.mark.parametrize("status", [500, 503])
@pytest.mark.asyncio
async def test_server_errors_come_back_transient(fake, queue, status):
    """SQS's 500 InternalError and 503 ServiceUnavailable are TRANSIENT."""
    fake.inject(Fault.sqs_server_error(status, times=2))
    failed = await queue.receive()
    assert isinstance(failed, CallFailed)
    assert ErrorKind.TRANSIENT == failed.kind
    fake.add_job("job", "plain")
    delete_failed = await queue.delete(
        [NotAHint(reason=NotAHintReason.NOT_JSON, message_id="m", receipt_handle="h")]
    )
    assert isinstance(delete_failed, CallFailed)
    assert ErrorKind.TRANSIENT == delete_failed.kind
    assert 2 == queue.statistics().errors


@pytest.mark.asyncio
async def test_no_such_queue_is_fatal(fake, sqs):
    """A queue that does not exist is FATAL, named by SQS's code."""
    queue = SqsQueue(sqs, fake.queue_url("nope"))
    failed = await queue.receive()
    assert isinstance(failed, CallFailed)
    assert (ErrorKind.FATAL, "AWS.SimpleQueueService.NonExistentQueue") == (
        failed.kind,
        failed.error.code,
    )


@pytest.mark.parametrize("code", ["AccessDenied", "KmsAccessDenied"])
@pytest.mark.asyncio
async def test_access_denied_is_fatal_access_denied(fake, queue, code):
    """A refused queue (by IAM or by its KMS key) is FATAL, an AccessDenied."""
    fake.inject(Fault(kind="error", code=code, status=403, service="sqs"))
    failed = await queue.receive()
    assert isinstance(failed, CallFailed)
    assert (ErrorKind.FATAL, AccessDenied) == (failed.kind, type(failed.error))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("RequestThrottled", ErrorKind.THROTTLED),
        ("KmsThrottled", ErrorKind.THROTTLED),
        ("OverLimit", ErrorKind.THROTTLED),
        ("InternalError", ErrorKind.TRANSIENT),
        ("AWS.SimpleQueueService.NonExistentQueue", ErrorKind.FATAL),
        ("KmsDisabled", ErrorKind.FATAL),
    ],
)
def test_classify_knows_sqs_codes(code, expected):
    """SQS's own codes sort as throttled, transient or fatal."""
    error = ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "ReceiveMessage",
    )
    assert expected == classify(error)


def test_a_body_checksum_mismatch_is_transient():
    """The SQS client's MD5 check of a body failing is a garbled answer: retry."""
    error = ChecksumError(
        checksum_type="MD5", expected_checksum="a", actual_checksum="b"
    )
    assert ErrorKind.TRANSIENT == classify(error)


def test_kms_access_denied_gives_up_as_access_denied():
    """KmsAccessDenied gives up as AccessDenied naming the operation."""
    error = ClientError({"Error": {"Code": "KmsAccessDenied"}}, "ReceiveMessage")
    mapped = give_up_error(error, ErrorKind.FATAL, job_name=None, endpoint=None)
    assert (AccessDenied, "KmsAccessDenied") == (type(mapped), mapped.code)


@pytest.mark.asyncio
async def test_the_long_poll_fits_in_the_attempt_bound(sqs):
    """The attempt bound is the long poll plus a margin, unless given."""
    assert 30.0 == SqsQueue(sqs, "u").attempt_timeout
    assert 12.0 == SqsQueue(sqs, "u", wait_seconds=2).attempt_timeout
    assert 5.0 == SqsQueue(sqs, "u", wait_seconds=0, attempt_timeout=5).attempt_timeout


@pytest.mark.asyncio
async def test_a_receive_past_its_bound_is_abandoned_as_transient(fake, sqs):
    """A long poll the clock never ends is cut at the attempt bound, TRANSIENT."""
    fake.clock.autojump_threshold = float("inf")
    queue = SqsQueue(sqs, fake.queue_url("events"), wait_seconds=1, attempt_timeout=1.2)
    failed = await queue.receive()
    assert isinstance(failed, CallFailed)
    assert (ErrorKind.TRANSIENT, "TimeoutError") == (failed.kind, failed.error.code)


@pytest.mark.parametrize(
    "keywords",
    [
        {"wait_seconds": 21},
        {"wait_seconds": -1},
        {"max_messages": 0},
        {"max_messages": 11},
        {"wait_seconds": 20, "attempt_timeout": 20},
    ],
)
@pytest.mark.asyncio
async def test_settings_out_of_range_are_refused(sqs, keywords):
    """Waits past SQS's 20 s, counts past 10 and bounds under the poll raise."""
    with pytest.raises(ValueError, match="SqsQueue"):
        SqsQueue(sqs, "u", **keywords)


@pytest.mark.asyncio
async def test_the_body_never_shows(fake, sqs, queue):
    """A canary in HyperParameters, Tags or a foreign body is in no repr, str or log."""
    url = fake.queue_url("events")
    with capture_logs() as logs:
        _secret_job(fake)
        await sqs.send_message(QueueUrl=url, MessageBody=f"<{CANARY}>")
        results = await queue.receive()
        await queue.delete(results)
        fake.inject(Fault.sqs_throttle(times=1), Fault.sqs_server_error(times=1))
        failures = [await queue.receive(), await queue.delete(results)]
    assert 2 == len(results)
    shown = [
        repr(queue),
        str(queue),
        repr(queue.statistics()),
        *(repr(r) for r in results),
        *(str(r) for r in results),
        *(repr(f) for f in failures),
        *(str(f.error) for f in failures if isinstance(f, CallFailed)),
        repr(logs),
    ]
    assert [] == [text for text in shown if CANARY in text]


# -- the library's own SQS client ------------------------------------------------


@pytest.fixture(name="credentials")
def _credentials(monkeypatch):
    """Dummy credentials in the standard chain."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.mark.asyncio
@pytest.mark.usefixtures("credentials")
async def test_sqs_client_for_a_local_queue_url_calls_its_origin(fake):
    """A queue URL that is not AWS's is the endpoint: the fake's queue answers."""
    url = fake.queue_url("events")
    fake.add_job("job", "plain")
    options = ClientOptions(region="us-east-1", endpoint_url="http://sagemaker.invalid")
    async with sqs_client(options, queue_url=url) as client:
        assert fake.endpoint_url == client.meta.endpoint_url
        assert 1 == client.meta.config.retries["total_max_attempts"]
        assert ["job"] == [h.job_name for h in await SqsQueue(client, url).receive()]


@pytest.mark.parametrize(
    ("url", "region", "endpoint"),
    [
        (
            "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
            "eu-west-1",
            "https://sqs.eu-west-1.amazonaws.com",
        ),
        (
            "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q",
            "cn-north-1",
            "https://sqs.cn-north-1.amazonaws.com.cn",
        ),
        (
            "https://ap-south-1.queue.amazonaws.com/123456789012/q",
            "ap-south-1",
            "https://sqs.ap-south-1.amazonaws.com",
        ),
    ],
)
@pytest.mark.asyncio
@pytest.mark.usefixtures("credentials")
async def test_sqs_client_for_an_aws_queue_url_takes_its_region(url, region, endpoint):
    """An AWS queue URL names the region, over the options'; botocore's endpoint."""
    options = ClientOptions(region="us-west-2")
    async with sqs_client(options, queue_url=url) as client:
        assert (region, endpoint) == (
            client.meta.region_name,
            client.meta.endpoint_url,
        )


@pytest.mark.asyncio
@pytest.mark.usefixtures("credentials")
async def test_sqs_client_refuses_what_it_cannot_use():
    """A queue URL that is not http(s), or no region for a local one, raises."""
    with pytest.raises(InvalidEndpoint):
        async with sqs_client(ClientOptions(region="us-east-1"), queue_url="q"):
            pass
    with pytest.raises(NoRegion):
        async with sqs_client(ClientOptions(), queue_url="http://127.0.0.1:1/1/q"):
            pass


# -- moto: a second, independent SQS ----------------------------------------------


@pytest.mark.asyncio
async def test_moto_receive_and_delete(moto_sqs):
    """Against moto's SQS, the documented event reads as its hint and is deleted."""
    url = (await moto_sqs.create_queue(QueueName="hints-receive"))["QueueUrl"]
    body = (FIXTURES / "training-job-state-change.json").read_text()
    event = json.loads(body)
    await moto_sqs.send_message(QueueUrl=url, MessageBody=body)
    queue = SqsQueue(moto_sqs, url, wait_seconds=1)
    [hint] = await queue.receive()
    assert event["detail"]["TrainingJobName"] == hint.job_name
    assert await queue.delete([hint]) is None
    attributes = await moto_sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )
    expected = {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
    assert expected == attributes["Attributes"]
    assert (1, 1, 1) == (
        queue.statistics().hints,
        queue.statistics().deleted,
        queue.statistics().deletes,
    )


@pytest.mark.asyncio
async def test_moto_no_such_queue_is_fatal(moto_url, moto_sqs):
    """Moto's answer for a missing queue classifies as ours does: FATAL."""
    queue = SqsQueue(moto_sqs, f"{moto_url}/123456789012/missing", wait_seconds=0)
    failed = await queue.receive()
    assert isinstance(failed, CallFailed)
    assert ErrorKind.FATAL == failed.kind
