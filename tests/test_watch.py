"""Tests for watch(): every lifecycle end to end over real HTTP against the fake."""

from __future__ import annotations

import json
import math

import anyio
import pytest
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch.testing import (
    TIMELINES,
    FakeSageMaker,
    Fault,
    ManualClock,
    plain,
)

#: What each ready-made lifecycle ends with: the terminal event and its detail.
OUTCOMES = {
    "plain": (sw.JobCompleted, None),
    "spot_interrupted_once": (sw.JobCompleted, None),
    "spot_interrupted_twice_max_wait": (sw.JobStopped, "MaxWaitTimeExceeded"),
    "spot_capacity_never": (sw.JobStopped, "MaxWaitTimeExceeded"),
    "retry_restart": (sw.JobCompleted, None),
    "failure": (sw.JobFailed, None),
    "max_runtime": (sw.JobStopped, "MaxRuntimeExceeded"),
    "user_stop": (sw.JobStopped, "Stopped"),
    "unknown_status": (sw.JobCompleted, None),
}


#: A slow schedule, so that tests replaying whole lifecycles stay quick.
COARSE = sw.PollSchedule(
    min_delay=10, setup_max_delay=30, closing_max_delay=30, max_delay=300
)


async def collect(events):
    """Drain an event stream into a list."""
    return [event async for event in events]


def entered(events):
    """The statuses of every StatusEntered (and Interrupted) event, in order."""
    return [str(e.status) for e in events if isinstance(e, sw.StatusEntered)]


def final_history(fake, name):
    """The statuses in the job's final SecondaryStatusTransitions, per the fake."""
    return [t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]]


def test_every_ready_made_lifecycle_has_an_expected_outcome():
    """The outcome table above covers every lifecycle the fake ships."""
    assert set(TIMELINES) == set(OUTCOMES)


@pytest.mark.asyncio
@pytest.mark.parametrize("lifecycle", sorted(OUTCOMES))
async def test_each_lifecycle_yields_every_transition_once_and_one_terminal_event(
    sim, lifecycle
):
    """Every transition is entered once, in order, and the outcome event is last."""
    fake, client = sim
    fake.add_job("job-1", lifecycle)
    events = await collect(sw.watch("job-1", client=client, clock=fake.clock, seed=1))

    expected_type, reason = OUTCOMES[lifecycle]
    assert isinstance(events[0], sw.JobObserved)
    assert final_history(fake, "job-1") == entered(events)
    assert [expected_type] == [type(e) for e in events if isinstance(e, sw.JobEnded)]
    assert isinstance(events[-1], expected_type)
    if reason is not None:
        assert reason == str(events[-1].reason)
    assert all(e.job_name == "job-1" for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)


@pytest.mark.asyncio
async def test_spot_interruption_is_an_interrupted_event(sim):
    """A spot interruption arrives as Interrupted, which is also a StatusEntered."""
    fake, client = sim
    fake.add_job("spot", "spot_interrupted_once")
    events = await collect(sw.watch("spot", client=client, clock=fake.clock))
    interruptions = [e for e in events if isinstance(e, sw.Interrupted)]
    assert 1 == len(interruptions)
    assert "Training" == interruptions[0].previous_status
    assert interruptions[0].to_json()["event"] == "interrupted"


@pytest.mark.asyncio
async def test_failure_carries_the_failure_reason(sim):
    """JobFailed carries SageMaker's FailureReason verbatim."""
    fake, client = sim
    fake.add_job("bad", "failure")
    events = await collect(sw.watch("bad", client=client, clock=fake.clock))
    assert fake.describe_job("bad")["FailureReason"] == events[-1].failure_reason


@pytest.mark.asyncio
async def test_unknown_status_is_carried_not_dropped(sim):
    """A status the library never heard of is entered like any other."""
    fake, client = sim
    fake.add_job("odd", "unknown_status")
    events = await collect(sw.watch("odd", client=client, clock=fake.clock))
    unknown = [
        e for e in events if isinstance(e, sw.StatusEntered) and not e.status.is_known
    ]
    assert 1 <= len(unknown)


@pytest.mark.asyncio
async def test_message_rewritten_in_place_is_reported(sim):
    """A StatusMessage rewritten within one status yields StatusMessageChanged."""
    fake, client = sim
    fake.add_job("msgs", plain())
    schedule = sw.PollSchedule(
        min_delay=1, setup_max_delay=5, closing_max_delay=5, max_delay=30
    )
    events = await collect(
        sw.watch("msgs", client=client, clock=fake.clock, schedule=schedule)
    )
    changes = [e for e in events if isinstance(e, sw.StatusMessageChanged)]
    assert changes
    assert all(c.message != c.previous_message for c in changes)


@pytest.mark.asyncio
async def test_caller_owned_client_is_left_open(sim):
    """A client passed in is still usable after the watch ends."""
    fake, client = sim
    fake.add_job("mine", "plain")
    await collect(sw.watch("mine", client=client, clock=fake.clock))
    response = await client.describe_training_job(TrainingJobName="mine")
    assert "Completed" == response["TrainingJobStatus"]


@pytest.mark.asyncio
async def test_invalid_name_fails_before_any_request(sim):
    """An invalid job name raises InvalidJobName and sends nothing."""
    fake, client = sim
    with pytest.raises(sw.InvalidJobName):
        sw.watch("not_a_valid name", client=client)
    assert 0 == fake.statistics().total


@pytest.mark.asyncio
async def test_garbage_resume_token_fails_at_once(sim):
    """An unreadable resume token raises InvalidResumeToken before any request."""
    fake, client = sim
    with pytest.raises(sw.InvalidResumeToken):
        sw.watch("job", client=client, resume="garbage")
    assert 0 == fake.statistics().total


def _resume_points(count, between=6):
    """Events to resume from: the first two, the last two, and *between* spread out.

    Each resume replays the lifecycle from its start, so all of them would cost
    a full lifecycle per event; the pure cursor is resumed from every token of
    random timelines in ``test_diff``.
    """
    inner = range(2, count - 2)
    step = max(1, len(inner) // between)
    return sorted({0, 1, *inner[::step], count - 2, count - 1} & set(range(count)))


@pytest.mark.asyncio
@pytest.mark.parametrize("lifecycle", sorted(OUTCOMES))
async def test_resume_from_any_event_repeats_nothing_and_misses_nothing(lifecycle):
    """A watcher re-created from event k's token emits exactly what followed it."""
    async with FakeSageMaker(clock=ManualClock()) as fake, fake.client() as client:
        fake.add_job("job", lifecycle)
        options = {"client": client, "clock": fake.clock, "schedule": COARSE}
        full = await collect(sw.watch("job", **options))
        for k in _resume_points(len(full)):
            fake.delete_job("job")
            fake.advance(60)
            fake.add_job("job", lifecycle)
            head = []
            async for event in sw.watch("job", **options):
                head.append(event)
                if len(head) == k + 1:
                    break
            tail = await collect(
                sw.watch("job", **options, resume=head[-1].resume_token)
            )
            assert final_history(fake, "job") == entered(head + tail)
            assert not any(isinstance(e, sw.JobObserved) for e in tail)
            ended = [e for e in head + tail if isinstance(e, sw.JobEnded)]
            assert 1 == len(ended)
            assert ended[0] is (head + tail)[-1]


@pytest.mark.asyncio
async def test_resume_token_of_another_job_generation_raises_job_replaced(sim):
    """Resuming with a token from a deleted job of the same name raises JobReplaced."""
    fake, client = sim
    fake.add_job("reused", "plain")
    first = await anext(aiter(sw.watch("reused", client=client, clock=fake.clock)))
    fake.delete_job("reused")
    fake.advance(60)
    fake.add_job("reused", "plain")
    with pytest.raises(sw.JobReplaced):
        await collect(
            sw.watch(
                "reused", client=client, clock=fake.clock, resume=first.resume_token
            )
        )


@pytest.mark.asyncio
async def test_name_reused_mid_watch_raises_job_replaced(sim):
    """A job deleted and created again under the watch is not spliced: JobReplaced."""
    fake, client = sim
    fake.add_job("reused", "plain")
    events = sw.watch("reused", client=client, clock=fake.clock)
    await anext(events)
    fake.delete_job("reused")
    fake.advance(60)
    fake.add_job("reused", "plain")
    with pytest.raises(sw.JobReplaced):
        await collect(events)


@pytest.mark.asyncio
async def test_job_deleted_mid_watch_raises_not_found_at_once(sim):
    """A job seen before that disappears raises TrainingJobNotFound, no grace."""
    fake, client = sim
    fake.add_job("gone", "plain")
    events = sw.watch("gone", client=client, clock=fake.clock)
    await anext(events)
    fake.delete_job("gone")
    before = fake.request_count("DescribeTrainingJob")
    with pytest.raises(sw.TrainingJobNotFound):
        await collect(events)
    assert 1 == fake.request_count("DescribeTrainingJob") - before


@pytest.mark.asyncio
async def test_missing_job_is_retried_for_the_grace_period_then_not_found(sim):
    """A name never seen is retried for not_found_grace, then TrainingJobNotFound."""
    fake, client = sim
    start = fake.clock.monotonic()
    with pytest.raises(sw.TrainingJobNotFound) as info:
        await collect(sw.watch("never-was", client=client, clock=fake.clock))
    assert "never-was" == info.value.job_name
    assert fake.request_count("DescribeTrainingJob") > 1
    assert 30.0 <= fake.clock.monotonic() - start <= 60.0


@pytest.mark.asyncio
async def test_job_created_during_the_grace_period_is_found(sim):
    """Eventual consistency: a job visible a few seconds late is still watched."""
    fake, client = sim

    async def create_later():
        await anyio.sleep(0.01)
        fake.add_job("late", "plain")

    async with anyio.create_task_group() as tg:
        tg.start_soon(create_later)
        policy = sw.RetryPolicy(
            initial_delay=0.001, max_delay=0.001, not_found_grace=1e9
        )
        events = await collect(
            sw.watch("late", client=client, clock=fake.clock, retry=policy)
        )
    assert isinstance(events[-1], sw.JobCompleted)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "fault",
    [
        Fault.throttle(operation="DescribeTrainingJob", times=4),
        Fault.server_error(503, times=4),
        Fault.server_error(500, times=4),
        Fault.drop_connection(times=3),
        Fault.truncated(times=3),
        Fault.malformed_body("not_json", times=3),
        Fault.malformed_body("cut_json", times=3),
        Fault.malformed_body("missing_members", times=3),
    ],
    ids=repr,
)
async def test_transient_faults_are_retried_and_nothing_is_lost(sim, fault):
    """Throttling, 5xx, drops and bad bodies are retried; events stay exactly once."""
    fake, client = sim
    fake.add_job("job", "spot_interrupted_once")
    fake.inject(fault)
    events = await collect(sw.watch("job", client=client, clock=fake.clock))
    assert final_history(fake, "job") == entered(events)
    assert isinstance(events[-1], sw.JobCompleted)


@pytest.mark.asyncio
async def test_each_retry_is_logged_with_attempt_and_delay(sim):
    """A throttled poll logs one retry line per attempt, with job, attempt, delay."""
    fake, client = sim
    fake.add_job("job", "plain")
    fake.inject(Fault.throttle(times=2))
    with capture_logs() as logs:
        await anext(aiter(sw.watch("job", client=client, clock=fake.clock)))
    retries = [
        entry for entry in logs if entry["event"].endswith("poll_retry_scheduled")
    ]
    assert [1, 2] == [entry["attempt"] for entry in retries]
    for entry in retries:
        assert {
            "event": "sagemaker_watch.poll_retry_scheduled",
            "log_level": "info",
            "job_name": "job",
            "attempt": entry["attempt"],
            "delay": entry["delay"],
            "error": "ThrottlingException",
        } == entry
        assert entry["delay"] >= 0


@pytest.mark.asyncio
async def test_fatal_errors_are_raised_at_once_typed_and_chained(sim):
    """AccessDenied is not retried: ServiceError with the botocore error chained."""
    fake, client = sim
    fake.add_job("job", "plain")
    fake.inject(Fault.error("AccessDeniedException", "User is not authorized"))
    with pytest.raises(sw.ServiceError) as info:
        await collect(sw.watch("job", client=client, clock=fake.clock))
    assert "AccessDeniedException" == info.value.code
    assert info.value.__cause__ is not None
    assert 1 == fake.request_count("DescribeTrainingJob")


@pytest.mark.asyncio
async def test_endless_transient_errors_end_in_retries_exhausted(sim):
    """When 5xx never stops, the poll gives up within the policy: RetriesExhausted."""
    fake, client = sim
    fake.add_job("job", "plain")
    fake.inject(Fault.server_error(503))
    policy = sw.RetryPolicy(max_attempts=5, max_elapsed=None)
    with pytest.raises(sw.RetriesExhausted) as info:
        await collect(sw.watch("job", client=client, clock=fake.clock, retry=policy))
    assert "ServiceUnavailable" == info.value.code
    assert 5 == fake.request_count("DescribeTrainingJob")


@pytest.mark.asyncio
async def test_training_phase_is_polled_within_the_schedule_ceiling(sim):
    """A long Training phase costs about what the schedule promises, not more."""
    fake, client = sim
    fake.add_job("long", plain(training=6 * 3600))
    await collect(sw.watch("long", client=client, clock=fake.clock, seed=7))
    calls = fake.request_count("DescribeTrainingJob")
    hours = fake.clock.monotonic() / 3600
    assert 60 <= calls / hours <= 130


@pytest.mark.asyncio
async def test_breaking_out_early_leaves_no_client_open(fake_sagemaker, monkeypatch):
    """Without client=, breaking out of the async with block leaves nothing open."""
    fake = fake_sagemaker
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    fake.add_job("job", "plain")
    async with sw.watch("job", clock=fake.clock) as events:
        async for _event in events:
            break
    await _settle()
    assert 0 == _open_connections(fake)
    assert 1 == fake.request_count("DescribeTrainingJob")


@pytest.mark.asyncio
async def test_own_client_iterated_outside_async_with_raises(
    fake_sagemaker, monkeypatch
):
    """Without client=, a plain async for raises UsageError before any request."""
    fake = fake_sagemaker
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    fake.add_job("job", "plain")
    with pytest.raises(sw.UsageError, match=r"async with sw\.watch") as info:
        async for _event in sw.watch("job", clock=fake.clock):
            pass
    assert isinstance(info.value, RuntimeError)
    await _settle()
    assert 0 == _open_connections(fake)
    assert 0 == fake.request_count("DescribeTrainingJob")


@pytest.mark.asyncio
async def test_async_with_keeps_one_client_and_closes_it(fake_sagemaker, monkeypatch):
    """Inside async with, one client serves every poll and closes on exit."""
    fake = fake_sagemaker
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    fake.add_job("job", "plain")
    async with sw.watch("job", clock=fake.clock) as events:
        async for event in events:
            if isinstance(event, sw.StatusEntered) and event.status == "Training":
                assert 1 == _open_connections(fake)
                break
    await _settle()
    assert 0 == _open_connections(fake)


@pytest.mark.asyncio
async def test_reentering_a_watch_raises(sim):
    """A watch is entered once; a second async with raises UsageError."""
    fake, client = sim
    fake.add_job("job", "plain")
    events = sw.watch("job", client=client, clock=fake.clock)
    async with events:
        pass
    with pytest.raises(sw.UsageError, match="already entered"):
        async with events:
            pass


@pytest.mark.asyncio
async def test_cancel_scope_interrupts_a_sleeping_watch_and_leaves_nothing(monkeypatch):
    """anyio.move_on_after ends a watch mid-sleep; no connection or task remains."""
    async with FakeSageMaker(speed=1.0) as fake:
        for key, value in fake.environ().items():
            monkeypatch.setenv(key, value)
        fake.add_job("job", plain(training=3600))
        tasks_before = len(_tasks())
        seen = []
        with anyio.CancelScope() as scope:
            async with sw.watch("job", clock=fake.clock) as events:
                async for event in events:
                    seen.append(event)
                    # Cut 0.2 s after the first poll: the watch is then asleep.
                    scope.deadline = min(scope.deadline, anyio.current_time() + 0.2)
        assert scope.cancelled_caught
        assert seen
        await _settle()
        assert 0 == _open_connections(fake)
        assert tasks_before == len(_tasks())


@pytest.mark.asyncio
async def test_own_client_serves_every_poll_on_one_connection(
    fake_sagemaker, monkeypatch
):
    """Without client=, the block's one client polls on one connection, closed after."""
    fake = fake_sagemaker
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    fake.add_job("job", "plain")
    async with sw.watch("job", clock=fake.clock, schedule=COARSE) as events:
        async for _event in events:
            await _settle()
            assert 1 >= _open_connections(fake)
    await _settle()
    assert 0 == _open_connections(fake)
    assert 1 < fake.request_count("DescribeTrainingJob")


def _tasks():
    import asyncio  # noqa: PLC0415

    return asyncio.all_tasks()


async def _settle():
    """Let the server notice closed connections."""
    for _ in range(5):
        await anyio.sleep(0.01)


def _open_connections(fake):
    """Connections the fake's HTTP server holds open right now."""
    server = fake._runner.server
    return len(server.connections)


@pytest.mark.asyncio
async def test_resume_token_of_another_job_fails_at_once(sim):
    """A token from job A given for job B raises InvalidResumeToken, sends nothing."""
    fake, client = sim
    fake.add_job("job-a", "plain")
    first = await anext(aiter(sw.watch("job-a", client=client, clock=fake.clock)))
    before = fake.statistics().total
    with pytest.raises(sw.InvalidResumeToken, match="another job"):
        sw.watch("job-b", client=client, resume=first.resume_token)
    assert before == fake.statistics().total
    resumed = sw.watch(
        "job-a", client=client, clock=fake.clock, resume=first.resume_token
    )
    assert not any(isinstance(e, sw.JobObserved) for e in await collect(resumed))


@pytest.mark.asyncio
async def test_overlong_name_fails_before_any_request(sim):
    """A name past SageMaker's 63 characters (hyphens count) is never sent."""
    fake, client = sim
    name = "a" + "-" * 40 + "b" * 40
    with pytest.raises(sw.InvalidJobName):
        await collect(sw.watch(name, client=client, clock=fake.clock))
    assert 0 == fake.statistics().total


@pytest.mark.asyncio
async def test_tight_schedule_is_refused_before_any_request(sim):
    """A schedule that would poll in a tight loop is refused before any watch."""
    fake, client = sim
    fake.add_job("job", "plain")
    for delay in (1e-300, 0.001, math.nan, math.inf):
        with pytest.raises(ValueError, match="PollSchedule"):
            sw.watch("job", client=client, schedule=sw.PollSchedule(min_delay=delay))
    assert 0 == fake.statistics().total


@pytest.mark.asyncio
async def test_non_finite_final_metrics_serialise_as_the_wire_strings(sim, hostile):
    """NaN and infinite final metrics become "NaN", "Infinity", "-Infinity" in JSON."""
    fake, _ = sim
    fake.add_job("job", "plain")
    values = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "ok": 0.5}

    def metrics(answer):
        listed = [{"MetricName": k, "Value": v} for k, v in values.items()]
        return {**answer, "FinalMetricDataList": listed}

    hostile.rule("DescribeTrainingJob", mutate=metrics)
    async with hostile.client() as client:
        events = await collect(sw.watch("job", client=client, clock=fake.clock))
    documents = [json.dumps(e.to_json(), allow_nan=False) for e in events]
    assert {"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity", "ok": 0.5} == (
        json.loads(documents[-1])["final_metrics"]
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("lifecycle", "wire", "expected"),
    [
        ("plain", "completed", sw.JobCompleted),
        ("failure", "failed", sw.JobFailed),
        ("user_stop", "stopped", sw.JobStopped),
    ],
)
async def test_unknown_terminal_primary_ends_by_its_outcome(
    sim, hostile, lifecycle, wire, expected
):
    """A lowercase terminal primary status ends the watch by the secondary outcome."""
    fake, _ = sim
    fake.add_job("job", lifecycle)

    def lowercase(answer):
        status = answer["TrainingJobStatus"]
        done = status in {"Completed", "Failed", "Stopped"}
        return {**answer, "TrainingJobStatus": wire if done else status}

    hostile.rule("DescribeTrainingJob", mutate=lowercase)
    async with hostile.client() as client:
        events = await collect(sw.watch("job", client=client, clock=fake.clock))
    assert [expected] == [type(e) for e in events if isinstance(e, sw.JobEnded)]
    assert wire == events[-1].snapshot.primary_status


@pytest.mark.asyncio
async def test_timeout_ends_the_iteration_with_wait_timeout_and_the_last_snapshot(sim):
    """watch(timeout=) yields what it saw, then raises WaitTimeout at the deadline."""
    fake, client = sim
    fake.add_job("long", plain(training=10 * 3600))
    start = fake.clock.monotonic()
    seen = []
    events = sw.watch("long", client=client, clock=fake.clock, timeout=1800)

    async def drain():
        async for event in events:
            seen.append(event)

    with pytest.raises(sw.WaitTimeout) as info:
        await drain()
    assert ["Starting", "Downloading", "Training"] == entered(seen)
    assert info.value.snapshot is events.last_snapshot
    assert sw.PrimaryStatus.IN_PROGRESS == info.value.snapshot.primary_status
    assert 1800 == pytest.approx(fake.clock.monotonic() - start, abs=1e-6)
    assert [] == await collect(events)


@pytest.mark.asyncio
async def test_timeout_leaves_a_job_that_ends_in_time_alone(sim):
    """A job that ends before the timeout is watched to its terminal event."""
    fake, client = sim
    fake.add_job("job", "plain")
    events = await collect(
        sw.watch("job", client=client, clock=fake.clock, timeout=10 * 3600)
    )
    assert isinstance(events[-1], sw.JobCompleted)


@pytest.mark.asyncio
async def test_timeout_cuts_a_hanging_request_on_the_real_clock():
    """On the system clock, watch(timeout=) also cuts a request hanging past it."""
    async with FakeSageMaker(speed=1.0) as fake, fake.client() as client:
        fake.add_job("job", "plain")
        fake.inject(Fault.slow(5.0))
        with anyio.fail_after(3), pytest.raises(sw.WaitTimeout) as info:
            async with sw.watch("job", client=client, timeout=0.2) as events:
                await collect(events)
    assert info.value.snapshot is None


@pytest.mark.parametrize("timeout", [-1, math.nan])
def test_bad_timeout_is_refused_at_once(timeout):
    """A negative or NaN timeout is a ValueError when the watch is made."""
    with pytest.raises(ValueError, match="timeout"):
        sw.watch("job", timeout=timeout)
