"""watch() and the waiters with push hints, over real HTTP: the fake's SQS queue.

The fake publishes each job's EventBridge state-change events into a queue it
serves; the watch long-polls it between describes. What the user sees must be
exactly what it is without hints (the describe is the only truth), whatever
the hints do: duplicated, dropped, late, reordered, absent, or the queue failing.
"""

from __future__ import annotations

import functools
import json

import anyio
import pytest
import pytest_asyncio
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch.testing import (
    EVENT_FAULT_SCENARIOS,
    TIMELINES,
    FakeSageMaker,
    Fault,
    ManualClock,
)

CANARY = "canary-5e1d-hyperparameter-secret"
#: The events a state-change event is sent for, by type name.
ANNOUNCED = {
    "StatusEntered",
    "Interrupted",
    "PrimaryStatusChanged",
    "JobCompleted",
    "JobFailed",
    "JobStopped",
}


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A fake on a hand-driven clock, publishing events into queue "events"."""
    async with FakeSageMaker(
        clock=ManualClock(), quotas={}, events_queue="events", seed=3
    ) as fake:
        yield fake


@pytest_asyncio.fixture(name="clients")
async def _clients(fake):
    """A SageMaker client and an SQS client for the fake."""
    async with fake.client() as sagemaker, fake.sqs_client() as sqs:
        yield sagemaker, sqs


def hints_for(fake, sqs, **options):
    """SqsHints on the fake's queue, through the test's SQS client."""
    return sw.SqsHints(fake.queue_url("events"), client=sqs, **options)


def history(fake, name):
    """The job's secondary statuses, in order, as the service has them."""
    return [t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]]


def lags(fake, name, entered):
    """Seconds from each status's start to the event that showed it."""
    transitions = fake.describe_job(name)["SecondaryStatusTransitions"]
    return [
        event.at.timestamp() - transition["StartTime"]
        for event, transition in zip(entered, transitions, strict=True)
    ]


def announced(events):
    """The (type, status, at) of each event a state change announces."""
    return [
        (type(e).__name__, str(getattr(e, "status", "")), e.at)
        for e in events
        if type(e).__name__ in ANNOUNCED
    ]


async def collect(fake, client, name, **options):
    """Watch *name* to its end; return the events and the watch."""
    watch = sw.watch(name, client=client, clock=fake.clock, seed=1, **options)
    return [event async for event in watch], watch


@pytest.mark.asyncio
@pytest.mark.parametrize("timeline", sorted(TIMELINES))
async def test_hinted_watch_yields_what_a_plain_watch_yields(fake, clients, timeline):
    """Each ready-made lifecycle: the same announced events with hints as without."""
    sagemaker, sqs = clients
    fake.add_job("plain-run", TIMELINES[timeline]())
    fake.add_job("hinted-run", TIMELINES[timeline]())
    results = {}

    async def run(name, **options):
        results[name] = await collect(fake, sagemaker, name, **options)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "plain-run")
        tg.start_soon(functools.partial(run, "hinted-run", hints=hints_for(fake, sqs)))
    plain, _ = results["plain-run"]
    hinted, watch = results["hinted-run"]
    assert [(k, s) for k, s, _ in announced(plain)] == [
        (k, s) for k, s, _ in announced(hinted)
    ]
    entered = [str(e.status) for e in hinted if isinstance(e, sw.StatusEntered)]
    assert history(fake, "hinted-run") == entered
    assert isinstance(hinted[-1], sw.JobEnded)
    assert watch.hint_statistics().hints > 0


@pytest.mark.asyncio
async def test_hints_bring_each_change_at_once_for_about_one_describe(fake, clients):
    """With hints, each change is seen when it happens, with ~1 describe per change."""
    sagemaker, sqs = clients
    fake.add_job("job", TIMELINES["spot_interrupted_once"]())
    events, watch = await collect(fake, sagemaker, "job", hints=hints_for(fake, sqs))
    changes = announced(events)
    entered = [e for e in events if isinstance(e, sw.StatusEntered)]
    # Each status was seen at most a window (1 s) after it began.
    for event, lag in list(zip(entered, lags(fake, "job", entered), strict=True))[1:]:
        assert 0 <= lag <= 1.0, (event.status, lag)
    describes = fake.request_count("DescribeTrainingJob", "job")
    # One describe per hinted change, the first look, and a safety re-check
    # every 300 s of a job that trains for about an hour.
    assert describes <= len(changes) + 1 + 20
    assert 0 == watch.hint_statistics().missed


@pytest.mark.asyncio
@pytest.mark.parametrize("scenario", sorted(EVENT_FAULT_SCENARIOS))
async def test_every_change_once_whatever_the_hints_do(fake, clients, scenario):
    """Dropped, duplicated, late, reordered hints or a failing queue lose nothing."""
    sagemaker, sqs = clients
    fake.inject(*EVENT_FAULT_SCENARIOS[scenario])
    fake.add_job("job", TIMELINES["retry_restart"]())
    events, _ = await collect(
        fake, sagemaker, "job", hints=hints_for(fake, sqs, ceiling=120.0)
    )
    entered = [str(e.status) for e in events if isinstance(e, sw.StatusEntered)]
    assert history(fake, "job") == entered
    assert 1 == sum(isinstance(e, sw.JobEnded) for e in events)
    tokens = [e.resume_token for e in events]
    assert len(tokens) == len(set(tokens))


@pytest.mark.asyncio
async def test_a_lost_hint_costs_at_most_the_ceiling(fake, clients):
    """With every event dropped, changes are still seen, within the safety ceiling."""
    sagemaker, sqs = clients
    fake.inject(Fault.drop_event())
    fake.add_job("job", TIMELINES["plain"]())
    events, watch = await collect(
        fake, sagemaker, "job", hints=hints_for(fake, sqs, ceiling=120.0, silence=1e6)
    )
    entered = [e for e in events if isinstance(e, sw.StatusEntered)]
    assert history(fake, "job") == [str(e.status) for e in entered]
    assert max(lags(fake, "job", entered)) <= 120.0 + 1.0
    statistics = watch.hint_statistics()
    assert statistics.flowing
    assert 0 == statistics.hints
    assert statistics.missed > 0


@pytest.mark.asyncio
async def test_a_silent_queue_falls_back_to_the_schedule_and_a_hint_brings_it_back(
    fake, clients
):
    """An unannounced change in a silent queue: back to polling, logged; then back."""
    sagemaker, sqs = clients
    fake.route_events(None)  # the rule is broken: nothing reaches the queue
    fake.add_job("job", TIMELINES["plain"]())
    hints = hints_for(fake, sqs, ceiling=600.0, silence=60.0)
    watch = sw.watch("job", client=sagemaker, clock=fake.clock, seed=1, hints=hints)
    with capture_logs() as logs:
        seen = []
        async for event in watch:
            seen.append(event)
            if isinstance(event, sw.StatusEntered) and str(event.status) == "Training":
                fake.route_events("events")  # repaired
    fallbacks = [e for e in logs if e["event"] == "sagemaker_watch.hints_fallback"]
    assert ["queue_silent"] == [e["reason"] for e in fallbacks]
    assert "warning" == fallbacks[0]["log_level"]
    flowing = [e for e in logs if e["event"] == "sagemaker_watch.hints_flowing"]
    assert 2 == len(flowing)  # at the start, and once the rule was repaired
    statistics = watch.hint_statistics()
    assert (1, True) == (statistics.fallbacks, statistics.flowing)
    assert history(fake, "job") == [
        str(e.status) for e in seen if isinstance(e, sw.StatusEntered)
    ]


@pytest.mark.asyncio
async def test_a_failing_queue_falls_back_to_the_schedule_and_back(fake, clients):
    """Receives that keep failing: the schedule's pace, logged; success: hints again."""
    sagemaker, sqs = clients
    fake.add_job("job", TIMELINES["plain"]())
    fake.inject(Fault.sqs_server_error(503, operation="ReceiveMessage", times=4))
    with capture_logs() as logs:
        events, watch = await collect(
            fake, sagemaker, "job", hints=hints_for(fake, sqs, ceiling=600.0)
        )
    kinds = [
        e.get("reason", e["event"])
        for e in logs
        if e["event"].startswith("sagemaker_watch.hints_")
        and e["event"] != "sagemaker_watch.hints_receive_failed"
    ]
    assert ["queue_failed", "sagemaker_watch.hints_flowing"] == kinds
    fallback = next(e for e in logs if e["event"] == "sagemaker_watch.hints_fallback")
    assert "ServiceUnavailable" == fallback["error"]  # the warning says why
    failed = [e for e in logs if e["event"] == "sagemaker_watch.hints_receive_failed"]
    assert 4 == len(failed)
    assert {"ServiceUnavailable"} == {e["error"] for e in failed}
    statistics = watch.hint_statistics()
    assert (4, 0) == (statistics.errors, statistics.throttles)
    assert history(fake, "job") == [
        str(e.status) for e in events if isinstance(e, sw.StatusEntered)
    ]


@pytest.mark.asyncio
async def test_no_message_body_in_any_log_line_at_any_level(fake, clients):
    """HyperParameters ride in every event; no log line ever shows them."""
    sagemaker, sqs = clients
    fake.add_job("job", TIMELINES["failure"](), HyperParameters={"token": CANARY})
    fake.add_job("other", TIMELINES["plain"](), HyperParameters={"token": CANARY})
    await sqs.send_message(
        QueueUrl=fake.queue_url("events"),
        MessageBody=json.dumps({"source": "not.sagemaker", "detail": CANARY}),
    )
    await sqs.send_message(QueueUrl=fake.queue_url("events"), MessageBody=CANARY)
    with capture_logs() as logs:
        events, watch = await collect(
            fake,
            sagemaker,
            "job",
            hints=hints_for(fake, sqs),
            schedule=sw.PollSchedule(),
        )
    assert isinstance(events[-1], sw.JobFailed)
    assert logs
    assert CANARY not in repr(logs)
    not_read = [e for e in logs if e["event"] == "sagemaker_watch.hint_not_read"]
    assert {"wrong_source", "not_json"} == {e["reason"] for e in not_read}
    statistics = watch.hint_statistics()
    assert CANARY not in repr(statistics)
    assert statistics.unwatched > 0  # "other"'s events: deleted, not offered


@pytest.mark.asyncio
async def test_the_rendered_log_output_holds_no_body_either(fake, clients, capsys):
    """The rendering of unconfigured structlog (every level) prints no body."""
    sagemaker, sqs = clients
    fake.add_job("job", TIMELINES["plain"](), HyperParameters={"token": CANARY})
    await sqs.send_message(QueueUrl=fake.queue_url("events"), MessageBody=CANARY)
    await collect(fake, sagemaker, "job", hints=hints_for(fake, sqs))
    printed = capsys.readouterr()
    assert "sagemaker_watch.hint_not_read" in printed.out
    assert CANARY not in printed.out + printed.err


@pytest.mark.asyncio
async def test_messages_about_other_jobs_are_deleted_not_left(fake, clients):
    """A queue belongs to its watcher: every message read is deleted."""
    sagemaker, sqs = clients
    fake.add_job("job", TIMELINES["plain"]())
    fake.add_job("other", TIMELINES["plain"]())
    _, watch = await collect(fake, sagemaker, "job", hints=hints_for(fake, sqs))
    attributes = await sqs.get_queue_attributes(
        QueueUrl=fake.queue_url("events"),
        AttributeNames=["ApproximateNumberOfMessagesNotVisible"],
    )
    assert "0" == attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
    assert watch.hint_statistics().unwatched > 0


@pytest.mark.asyncio
async def test_waiters_take_hints(fake, clients):
    """wait_until_complete and wait_for_status with hints resolve at the change."""
    sagemaker, sqs = clients
    fake.add_job("job", TIMELINES["plain"]())
    hints = hints_for(fake, sqs)
    training = await sw.wait_for_status(
        "job", "Training", client=sagemaker, clock=fake.clock, hints=hints
    )
    started = {
        t["Status"]: t["StartTime"] for t in training.raw["SecondaryStatusTransitions"]
    }
    assert 1.0 >= (fake.clock.now() - started["Training"]).total_seconds()
    snapshot = await sw.wait_until_complete(
        "job", client=sagemaker, clock=fake.clock, hints=hints
    )
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status
    assert 1.0 >= (fake.clock.now() - snapshot.training_end_time).total_seconds()


@pytest.mark.asyncio
async def test_a_watch_opens_its_own_sqs_client_when_entered(fake, monkeypatch):
    """Without SqsHints(client=), async with opens one for the queue URL."""
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    fake.add_job("job", TIMELINES["plain"]())
    hints = sw.SqsHints(fake.queue_url("events"))
    async with sw.watch("job", clock=fake.clock, hints=hints) as events:
        seen = [event async for event in events]
        assert events.hint_statistics().hints > 0
    assert isinstance(seen[-1], sw.JobCompleted)


@pytest.mark.asyncio
async def test_hints_without_a_client_need_async_with(fake, clients):
    """Iterating plainly with hints that need a client raises UsageError, no request."""
    sagemaker, _ = clients
    fake.add_job("job", TIMELINES["plain"]())
    hints = sw.SqsHints(fake.queue_url("events"))
    with pytest.raises(sw.UsageError, match="SQS client"):
        await anext(aiter(sw.watch("job", client=sagemaker, hints=hints)))
    assert 0 == fake.request_count()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("ceiling", 0.0),
        ("silence", -1.0),
        ("window", float("nan")),
        ("wait_seconds", 21),
        ("wait_seconds", 0),
        ("max_messages", 0),
        ("pace", float("inf")),
    ],
)
def test_sqs_hints_refuses_settings_out_of_range(option, value):
    """A setting out of range is a ValueError naming it, at construction."""
    with pytest.raises(ValueError, match=option):
        sw.SqsHints("https://sqs.eu-west-1.amazonaws.com/1/q", **{option: value})


def test_sqs_hints_needs_a_queue_url():
    """An empty queue URL is refused at once."""
    with pytest.raises(ValueError, match="queue_url"):
        sw.SqsHints("")


@pytest.mark.asyncio
async def test_a_watch_cancelled_while_deleting_still_deletes(fake, clients):
    """Cancelled mid-delete, the watch finishes deleting what it read (briefly)."""
    sagemaker, sqs = clients
    fake.add_job("job", TIMELINES["plain"]())
    fake.inject(Fault.slow(1.0, operation="DeleteMessageBatch", service="sqs"))
    hints = hints_for(fake, sqs)
    watch = sw.watch("job", client=sagemaker, clock=fake.clock, hints=hints)

    async def consume() -> None:
        async for _ in watch:
            pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        with anyio.fail_after(30):  # real time: until the first delete has arrived
            while fake.request_count("DeleteMessageBatch") == 0:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        tg.cancel_scope.cancel()  # inside the delete's one second
    assert 1 == fake.request_count("DeleteMessageBatch")
    attributes = await sqs.get_queue_attributes(
        QueueUrl=fake.queue_url("events"),
        AttributeNames=["ApproximateNumberOfMessagesNotVisible"],
    )
    assert "0" == attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"]


@pytest.mark.asyncio
async def test_a_relaxed_wait_never_outlasts_the_timeout(fake, clients):
    """The hour-long safety re-check still ends at the watch's timeout."""
    sagemaker, sqs = clients
    fake.add_job("job", TIMELINES["plain"]())
    started = fake.clock.monotonic()
    with pytest.raises(sw.WaitTimeout):
        await sw.wait_until_complete(
            "job",
            client=sagemaker,
            clock=fake.clock,
            timeout=600.0,
            hints=hints_for(fake, sqs),
        )
    assert fake.clock.monotonic() - started == pytest.approx(600.0, abs=1.0)
