"""The fake's SQS queue over real HTTP, through a stock aiobotocore SQS client."""

from __future__ import annotations

import hashlib
import json

import anyio
import pytest
import pytest_asyncio
from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch.testing import FakeSageMaker, Fault, ManualClock
from sagemaker_watch.testing._sqs import SimulatedQueue


@pytest_asyncio.fixture(name="sim")
async def _sim():
    """A running fake on a manual clock, publishing events into queue "events"."""
    async with FakeSageMaker(
        clock=ManualClock(), quotas={}, events_queue="events"
    ) as fake:
        yield fake


@pytest_asyncio.fixture(name="sqs")
async def _sqs(sim):
    """A stock aiobotocore SQS client for the fake."""
    async with sim.sqs_client() as client:
        yield client


def _statuses(messages):
    return [json.loads(m["Body"])["detail"]["SecondaryStatus"] for m in messages]


@pytest.mark.asyncio
async def test_queue_url_and_get_queue_url(sim, sqs):
    """The queue URL is ``{endpoint}/{account}/{name}``, as GetQueueUrl answers."""
    expected = f"{sim.endpoint_url}/123456789012/events"
    assert expected == sim.queue_url("events")
    assert expected == (await sqs.get_queue_url(QueueName="events"))["QueueUrl"]


@pytest.mark.asyncio
async def test_long_poll_returns_when_an_event_arrives(sim, sqs):
    """A 20 s long poll returns at the simulated instant of the next change."""
    sim.add_job("job", "plain")
    url = sim.queue_url("events")
    first = await sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
    await sqs.delete_message(
        QueueUrl=url, ReceiptHandle=first["Messages"][0]["ReceiptHandle"]
    )
    start = sim.clock.timestamp()
    empty = await sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
    assert "Messages" not in empty
    assert 20.0 == pytest.approx(sim.clock.timestamp() - start)
    while "Messages" not in (
        answer := await sqs.receive_message(
            QueueUrl=url,
            WaitTimeSeconds=20,
            MessageSystemAttributeNames=["SentTimestamp"],
        )
    ):
        pass
    assert ["Downloading"] == _statuses(answer["Messages"])
    assert 120.0 == pytest.approx(sim.clock.timestamp() - start + 0.0, abs=0.001)
    sent = int(answer["Messages"][0]["Attributes"]["SentTimestamp"])
    assert round(sim.clock.timestamp() * 1000) == sent


@pytest.mark.asyncio
async def test_long_poll_wakes_for_a_job_created_meanwhile(sim, sqs):
    """A long poll in flight returns the Starting event of a job created during it."""
    url = sim.queue_url("events")
    sim.clock.autojump_threshold = float("inf")
    answers = []

    async def poll():
        answers.append(await sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(poll)
            await anyio.sleep(0.2)
            sim.add_job("job", "plain")
    assert ["Starting"] == _statuses(answers[0]["Messages"])


@pytest.mark.asyncio
async def test_batches_of_up_to_ten_and_delete_batch(sim, sqs):
    """ReceiveMessage returns up to MaxNumberOfMessages; DeleteMessageBatch deletes."""
    for i in range(12):
        sim.add_job(f"job-{i}", "plain")
    url = sim.queue_url("events")
    answer = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert 10 == len(answer["Messages"])
    for message in answer["Messages"]:
        body = message["Body"]
        assert hashlib.md5(body.encode()).hexdigest() == message["MD5OfBody"]  # noqa: S324
    deleted = await sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(answer["Messages"][:9])
        ]
        + [{"Id": "bad", "ReceiptHandle": "not-a-handle"}],
    )
    assert 9 == len(deleted["Successful"])
    assert ["bad"] == [entry["Id"] for entry in deleted["Failed"]]
    attributes = await sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert {"ApproximateNumberOfMessages": "2"} == attributes["Attributes"]
    sim.advance(30.0)
    assert 3 == len(
        (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))["Messages"]
    )


@pytest.mark.asyncio
async def test_an_undeleted_message_comes_back_after_the_visibility_timeout(sim, sqs):
    """A received message hides for 30 s, then returns with a new handle and count 2."""
    sim.add_job("job", "plain")
    url = sim.queue_url("events")
    [first] = (
        await sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])
    )["Messages"]
    sim.advance(29.0)
    assert "Messages" not in await sqs.receive_message(QueueUrl=url)
    sim.advance(1.0)
    [again] = (
        await sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])
    )["Messages"]
    assert (first["MessageId"], "2") == (
        again["MessageId"],
        again["Attributes"]["ApproximateReceiveCount"],
    )
    assert first["ReceiptHandle"] != again["ReceiptHandle"]
    await sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    sim.advance(30.0)
    assert 1 == len((await sqs.receive_message(QueueUrl=url))["Messages"])


@pytest.mark.asyncio
async def test_errors_read_as_sqs_writes_them(sim, sqs):
    """A missing queue, a bad handle and a bad count give SQS's error codes."""
    with pytest.raises(ClientError) as missing:
        await sqs.receive_message(QueueUrl=sim.queue_url("nope"))
    assert (
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        400,
    ) == (
        missing.value.response["Error"]["Code"],
        missing.value.response["Error"]["QueryErrorCode"],
        missing.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        await sqs.delete_message(QueueUrl=sim.queue_url("events"), ReceiptHandle="x")
    with pytest.raises(ClientError, match="MaxNumberOfMessages"):
        await sqs.receive_message(
            QueueUrl=sim.queue_url("events"), MaxNumberOfMessages=11
        )


@pytest.mark.asyncio
async def test_sqs_throttling_and_5xx_faults_are_seeded(sim, sqs):
    """SQS faults answer RequestThrottled and 503 on SQS calls only, not SageMaker's."""
    sim.add_job("job", "plain")
    sim.inject(
        Fault.sqs_throttle(operation="ReceiveMessage", times=1),
        Fault.sqs_server_error(503, times=1),
    )
    url = sim.queue_url("events")
    with pytest.raises(sqs.exceptions.RequestThrottled):
        await sqs.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as unavailable:
        await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert 503 == unavailable.value.response["ResponseMetadata"]["HTTPStatusCode"]
    async with sim.client() as sagemaker:
        await sagemaker.describe_training_job(TrainingJobName="job")
    assert 1 == len((await sqs.receive_message(QueueUrl=url))["Messages"])


@pytest.mark.asyncio
async def test_duplicated_events_over_http(sim, sqs):
    """A duplicate fault puts two messages with one event id in the queue."""
    sim.inject(Fault.duplicate_event(times=1))
    sim.add_job("job", "plain")
    answer = await sqs.receive_message(
        QueueUrl=sim.queue_url("events"), MaxNumberOfMessages=10
    )
    ids = [json.loads(m["Body"])["id"] for m in answer["Messages"]]
    assert 2 == len(ids)
    assert 1 == len(set(ids))
    assert 1 == sim.service.event_statistics().duplicated


@pytest.mark.asyncio
async def test_send_message_and_create_queue(sqs):
    """SendMessage (a forged hint, say) and CreateQueue work like SQS's."""
    url = (await sqs.create_queue(QueueName="other"))["QueueUrl"]
    sent = await sqs.send_message(QueueUrl=url, MessageBody="hello")
    [message] = (await sqs.receive_message(QueueUrl=url))["Messages"]
    assert (sent["MessageId"], "hello") == (message["MessageId"], message["Body"])


def test_a_stale_receipt_handle_deletes_nothing():
    """Deleting with an earlier handle succeeds but keeps the message, as SQS does."""
    queue = SimulatedQueue("q", account_id="123456789012", region="us-east-1")
    queue.send("body", at=0.0)
    [first] = queue.receive(0.0)
    queue.receive(30.0)
    queue.delete(first["ReceiptHandle"])
    assert 1 == len(queue)


@pytest.mark.asyncio
async def test_sqs_requests_are_counted_by_operation(sim, sqs):
    """Each SQS request counts under its operation; faulted and throttled ones too."""
    sim.inject(Fault.sqs_throttle(operation="ReceiveMessage", times=1))
    url = sim.queue_url("events")
    with pytest.raises(sqs.exceptions.RequestThrottled):
        await sqs.receive_message(QueueUrl=url)
    await sqs.receive_message(QueueUrl=url)
    stats = sim.statistics()
    assert (2, 1, 1) == (
        stats.requests["ReceiveMessage"],
        stats.faulted["ReceiveMessage"],
        stats.throttled["ReceiveMessage"],
    )


async def _conversation(endpoint):
    """One scripted SQS conversation; what each step answered, ids left out."""
    answers = {}
    session = get_session()
    async with session.create_client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy for a local server
    ) as sqs:

        async def call(step, operation, **request):
            try:
                answer = await getattr(sqs, operation)(**request)
            except ClientError as exc:
                error = exc.response["Error"]
                answers[step] = (
                    type(exc).__name__,
                    error["Code"],
                    error.get("QueryErrorCode"),
                    error.get("Type"),
                    exc.response["ResponseMetadata"]["HTTPStatusCode"],
                )
                return None
            answer.pop("ResponseMetadata", None)
            return answer

        url = (await call("create", "create_queue", QueueName="q"))["QueueUrl"]
        missing = url.rsplit("/", 1)[0] + "/nope"
        await call("get_url_missing", "get_queue_url", QueueName="nope")
        sent = await call("send", "send_message", QueueUrl=url, MessageBody="hello")
        answers["send"] = sorted(sent)
        received = await call(
            "receive",
            "receive_message",
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )
        [message] = received["Messages"]
        answers["receive"] = (sorted(message), sorted(message["Attributes"]))
        answers["receive_empty"] = await call("-", "receive_message", QueueUrl=url)
        await call("receive_missing", "receive_message", QueueUrl=missing)
        await call(
            "receive_11", "receive_message", QueueUrl=url, MaxNumberOfMessages=11
        )
        await call("wait_21", "receive_message", QueueUrl=url, WaitTimeSeconds=21)
        await call("delete_bad", "delete_message", QueueUrl=url, ReceiptHandle="x")
        answers["delete"] = await call(
            "-", "delete_message", QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]
        )
        await call("batch_empty", "delete_message_batch", QueueUrl=url, Entries=[])
        answers["batch_bad"] = await call(
            "-",
            "delete_message_batch",
            QueueUrl=url,
            Entries=[{"Id": "a", "ReceiptHandle": "x"}],
        )
        answers["attributes"] = await call(
            "-",
            "get_queue_attributes",
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )
    return answers


@pytest.mark.asyncio
async def test_the_fake_answers_sqs_calls_as_motos_sqs_does():
    """Moto's SQS, an independent implementation, answers this conversation alike."""
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(
        ip_address="127.0.0.1", port=0, verbose=False
    )
    server.start()
    try:
        host, port = server.get_host_and_port()
        moto = await _conversation(f"http://{host}:{port}")
    finally:
        server.stop()
    async with FakeSageMaker(clock=ManualClock(), quotas={}) as fake:
        ours = await _conversation(fake.endpoint_url)
    assert moto == ours


@pytest.mark.asyncio
async def test_a_route_made_later_and_a_job_created_over_http_wake_a_long_poll():
    """create_queue and route_events route later events; a CreateTrainingJob wakes."""
    clock = ManualClock(autojump_threshold=float("inf"))
    async with FakeSageMaker(clock=clock, quotas={}) as fake:
        url = fake.create_queue("later")
        fake.route_events("later")
        answers = []
        async with fake.sqs_client() as sqs, fake.client() as sagemaker:

            async def poll():
                answers.append(
                    await sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
                )

            with anyio.fail_after(5):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(poll)
                    await anyio.sleep(0.2)
                    await sagemaker.create_training_job(
                        TrainingJobName="job",
                        RoleArn="arn:aws:iam::123456789012:role/Role",
                        AlgorithmSpecification={
                            "TrainingImage": "img",
                            "TrainingInputMode": "File",
                        },
                        OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
                        ResourceConfig={
                            "InstanceType": "ml.m5.large",
                            "InstanceCount": 1,
                            "VolumeSizeInGB": 10,
                        },
                        StoppingCondition={"MaxRuntimeInSeconds": 3600},
                    )
        fake.route_events(None)
        fake.add_job("unrouted", "plain")
        fake.service.publish_events()
    assert ["Starting"] == _statuses(answers[0]["Messages"])
    assert 1 == len(fake.service.queue("later"))


@pytest.mark.asyncio
async def test_long_polls_on_a_scaled_clock():
    """On a clock at 1000x, a 20 s long poll returns after about 20 ms of real time."""
    async with FakeSageMaker(speed=1000.0, quotas={}, events_queue="events") as fake:
        url = fake.queue_url("events")
        async with fake.sqs_client() as sqs:
            start = fake.clock.timestamp()
            answer = await sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
            waited = fake.clock.timestamp() - start
    assert "Messages" not in answer
    assert 20.0 <= waited < 200.0


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("send"), st.floats(0, 100)),
            st.tuples(st.just("receive"), st.integers(1, 10)),
            st.tuples(st.just("delete"), st.integers(0, 20)),
            st.tuples(st.just("advance"), st.floats(0, 60)),
        ),
        max_size=40,
    )
)
def test_a_queue_loses_nothing_and_hides_what_it_lent(steps):
    """Every message sent is received until deleted; a lent one hides 30 s exactly."""
    queue = SimulatedQueue("q", account_id="123456789012", region="us-east-1")
    now = 0.0
    visible_at = {}
    handles = {}
    for kind, value in steps:
        if kind == "send":
            body = f"m{len(visible_at)}"
            visible_at[queue.send(body, at=now + value)] = now + value
        elif kind == "advance":
            now += value
        elif kind == "receive":
            due = sorted((t, m) for m, t in visible_at.items() if t <= now)
            got = queue.receive(now, max_messages=value)
            assert min(len(due), value) == len(got)
            for message in got:
                assert visible_at[message["MessageId"]] <= now
                visible_at[message["MessageId"]] = now + 30.0
                handles[message["MessageId"]] = message["ReceiptHandle"]
        elif handles:
            message_id = sorted(handles)[value % len(handles)]
            queue.delete(handles.pop(message_id))
            visible_at.pop(message_id)
        assert len(visible_at) == len(queue)


@pytest.mark.asyncio
async def test_environ_sends_an_aws_queue_url_to_the_fake(sim, monkeypatch):
    """With environ(), the AWS URL of a queue of the fake's account reaches it."""
    for key, value in sim.environ().items():
        monkeypatch.setenv(key, value)
    aws_url = f"https://sqs.{sim.region}.amazonaws.com/{sim.account_id}/events"
    async with get_session().create_client("sqs") as client:
        await client.send_message(QueueUrl=aws_url, MessageBody="hello")
        answer = await client.receive_message(QueueUrl=aws_url)
    assert ["hello"] == [message["Body"] for message in answer["Messages"]]
