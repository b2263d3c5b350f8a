"""Push hints through moto's SQS: a second, independent SQS implementation.

The hints' own tests read the test kit's queue, which the same project wrote;
here SQS is moto's server mode, so the library's ReceiveMessage long polls and
DeleteMessageBatch calls meet an SQS it did not write. SageMaker stays the test
kit's fake, which publishes each job's EventBridge state-change events into its
own queue; a relay plays EventBridge's SQS target: it receives each event from
that queue and sends its body, unchanged, into a moto queue, where ``watch()``,
the waiters and ``FleetWatcher`` read them.

Moto's long poll waits real seconds (and wakes on a real condition variable in
its server thread), so the fake runs on a ``ScaledClock``: one time base for
both. A ``ManualClock`` cannot be used: its autojump takes a task waiting on a
loopback socket for an idle loop, so simulated time would jump while moto's
thread still handles a request, and what a describe shows would depend on
thread scheduling. At ``SPEED`` the phases below last a second or more of real
time and every wait the watchers make ends with a message, so the scaling never
stretches a wait that matters: each test runs in a few real seconds.
"""

from __future__ import annotations

import collections
import json
import uuid

import anyio
import pytest
import pytest_asyncio

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker, ScaledClock, failure, plain

#: Simulated seconds per real second: a phase of 20 simulated seconds is 1 s real.
SPEED = 20.0
#: Messages that are not training job events, by the reason the watcher gives.
NOT_HINTS = {
    "wrong_source": json.dumps(
        {"source": "my.app", "detail-type": "Order Placed", "detail": {"id": 1}}
    ),
    "not_json": "hello from another producer",
}
#: The attributes that say a queue is empty: nothing visible, nothing in flight.
EMPTY = {
    "ApproximateNumberOfMessages": "0",
    "ApproximateNumberOfMessagesNotVisible": "0",
}


@pytest_asyncio.fixture(name="moto_queue")
async def _moto_queue(moto_sqs):
    """A fresh moto queue for this test's hints; its URL."""
    name = f"hints-{uuid.uuid4().hex[:12]}"
    return (await moto_sqs.create_queue(QueueName=name))["QueueUrl"]


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A fake on compressed real time, publishing events into its queue "events"."""
    async with FakeSageMaker(
        clock=ScaledClock(speed=SPEED), quotas={}, events_queue="events", seed=3
    ) as fake:
        yield fake


@pytest_asyncio.fixture(name="fake_clients")
async def _fake_clients(fake):
    """A SageMaker client and an SQS client for the fake."""
    async with fake.client() as sagemaker, fake.sqs_client() as sqs:
        yield sagemaker, sqs


class Relay:
    """EventBridge's SQS target, played by hand: the fake's queue into moto's.

    Attributes:
        forwarded: the bodies sent into moto's queue, in order.
    """

    def __init__(self, *, source, source_url, target, target_url):
        """Move messages from *source_url* (via *source*) to *target_url*."""
        self.source, self.source_url = source, source_url
        self.target, self.target_url = target, target_url
        self.forwarded = []

    async def run(self):
        """Receive from the fake, send each body unchanged to moto, delete; forever."""
        while True:
            answer = await self.source.receive_message(
                QueueUrl=self.source_url, WaitTimeSeconds=20, MaxNumberOfMessages=10
            )
            messages = answer.get("Messages", [])
            for message in messages:
                await self.target.send_message(
                    QueueUrl=self.target_url, MessageBody=message["Body"]
                )
                self.forwarded.append(message["Body"])
            if messages:
                await self.source.delete_message_batch(
                    QueueUrl=self.source_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )

    def jobs(self):
        """How many events were forwarded, per job name."""
        return collections.Counter(
            json.loads(body)["detail"]["TrainingJobName"] for body in self.forwarded
        )


def history(fake, name):
    """The job's secondary statuses, in order, as the service has them."""
    return [t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]]


def entered(events):
    """The statuses of the ``StatusEntered`` events among *events*."""
    return [str(e.status) for e in events if isinstance(e, sw.StatusEntered)]


async def send_not_hints(moto_sqs, url):
    """Put a message from another producer, and one that is not JSON, in *url*."""
    for body in NOT_HINTS.values():
        await moto_sqs.send_message(QueueUrl=url, MessageBody=body)


async def queue_attributes(moto_sqs, url):
    """What moto says is in the queue: visible and in-flight message counts."""
    answer = await moto_sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[*EMPTY])
    return answer["Attributes"]


def assert_forwarded_everything(fake, relay):
    """Every event the fake published went through moto, none is left behind."""
    statistics = fake.service.event_statistics()
    assert (statistics.emitted, statistics.delivered) == (
        len(relay.forwarded),
        len(relay.forwarded),
    )


@pytest.mark.asyncio
async def test_watch_reads_every_change_from_moto(
    fake, fake_clients, moto_sqs, moto_queue
):
    """watch() on moto's queue: each transition once, every message read and deleted."""
    sagemaker, fake_sqs = fake_clients
    relay = Relay(
        source=fake_sqs,
        source_url=fake.queue_url("events"),
        target=moto_sqs,
        target_url=moto_queue,
    )
    await send_not_hints(moto_sqs, moto_queue)
    fake.add_job("job", plain(starting=20, downloading=20, training=40, uploading=20))
    hints = sw.SqsHints(moto_queue, client=moto_sqs)
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(relay.run)
            async with sw.watch(
                "job", client=sagemaker, clock=fake.clock, hints=hints, seed=1
            ) as watch:
                events = [event async for event in watch]
            statistics = watch.hint_statistics()
            tg.cancel_scope.cancel()
    assert history(fake, "job") == entered(events)
    assert isinstance(events[-1], sw.JobCompleted)
    assert_forwarded_everything(fake, relay)
    assert {"job": len(history(fake, "job"))} == relay.jobs()
    assert (len(relay.forwarded), dict.fromkeys(NOT_HINTS, 1)) == (
        statistics.hints,
        statistics.not_hints,
    )
    assert len(relay.forwarded) + len(NOT_HINTS) == statistics.messages
    assert (True, 0, 0, 0, 0) == (
        statistics.flowing,
        statistics.fallbacks,
        statistics.missed,
        statistics.errors,
        statistics.throttles,
    )
    assert statistics.hinted_describes > 0
    assert statistics.deletes > 0
    assert EMPTY == await queue_attributes(moto_sqs, moto_queue)


@pytest.mark.asyncio
async def test_fleet_reads_every_change_of_every_job_from_moto(
    fake, fake_clients, moto_sqs, moto_queue
):
    """FleetWatcher on moto's queue: each job's transitions once, the queue emptied."""
    sagemaker, fake_sqs = fake_clients
    relay = Relay(
        source=fake_sqs,
        source_url=fake.queue_url("events"),
        target=moto_sqs,
        target_url=moto_queue,
    )
    await send_not_hints(moto_sqs, moto_queue)
    # Different lengths: the jobs end apart, each on its own last hint.
    fake.add_job("short", plain(starting=20, downloading=20, training=20, uploading=20))
    fake.add_job("failing", failure(starting=20, downloading=20, training=60))
    fake.add_job("long", plain(starting=30, downloading=20, training=50, uploading=20))
    names = ["failing", "long", "short"]
    hints = sw.SqsHints(moto_queue, client=moto_sqs)
    by_job = collections.defaultdict(list)
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(relay.run)
            async with sw.FleetWatcher(
                client=sagemaker,
                clock=fake.clock,
                hints=hints,
                seed=7,
                sweep_interval=None,
            ) as fleet:
                for name in names:
                    fleet.add(name)
                async for event in fleet:
                    by_job[event.job_name].append(event)
                statistics = fleet.statistics()
            tg.cancel_scope.cancel()
    assert names == sorted(by_job)
    for name in names:
        assert history(fake, name) == entered(by_job[name]), name
        assert 1 == sum(isinstance(e, sw.JobEnded) for e in by_job[name]), name
    assert isinstance(by_job["failing"][-1], sw.JobFailed)
    assert_forwarded_everything(fake, relay)
    assert {name: len(history(fake, name)) for name in names} == relay.jobs()
    hinted = statistics.hints
    assert (len(relay.forwarded), dict.fromkeys(NOT_HINTS, 1), 0) == (
        hinted.hints,
        hinted.not_hints,
        hinted.unwatched,
    )
    assert (True, 0, 0, 0) == (
        hinted.flowing,
        hinted.missed,
        hinted.errors,
        hinted.throttles,
    )
    assert hinted.hinted_describes > 0
    assert hinted.deletes > 0
    assert EMPTY == await queue_attributes(moto_sqs, moto_queue)


@pytest.mark.asyncio
async def test_wait_until_complete_opens_its_own_client_for_moto(
    fake, fake_clients, moto_sqs, moto_queue, monkeypatch
):
    """Given only moto's queue URL and a region, the waiter opens its own SQS client."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sagemaker, fake_sqs = fake_clients
    relay = Relay(
        source=fake_sqs,
        source_url=fake.queue_url("events"),
        target=moto_sqs,
        target_url=moto_queue,
    )
    fake.add_job("job", plain(starting=20, downloading=20, training=20, uploading=20))
    hints = sw.SqsHints(moto_queue, region="us-east-1")
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(relay.run)
            snapshot = await sw.wait_until_complete(
                "job", client=sagemaker, clock=fake.clock, hints=hints, seed=1
            )
            tg.cancel_scope.cancel()
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status
    assert_forwarded_everything(fake, relay)
    assert EMPTY == await queue_attributes(moto_sqs, moto_queue)
