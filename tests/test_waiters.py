"""Tests for the waiters, over real HTTP against the fake SageMaker."""

from __future__ import annotations

import inspect

import anyio
import pytest

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker, Fault, plain


@pytest.mark.asyncio
async def test_wait_until_complete_returns_the_final_snapshot(sim):
    """A Completed job returns its final snapshot, with the whole history."""
    fake, client = sim
    fake.add_job("job", "plain")
    snapshot = await sw.wait_until_complete("job", client=client, clock=fake.clock)
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status
    assert "job" == snapshot.job_name
    assert ["Starting", "Downloading", "Training", "Uploading", "Completed"] == [
        str(t.status) for t in snapshot.transitions
    ]


@pytest.mark.asyncio
async def test_wait_until_complete_raises_failed_with_the_reason(sim):
    """A Failed job raises TrainingJobFailed with failure_reason and snapshot."""
    fake, client = sim
    fake.add_job("bad", "failure")
    with pytest.raises(sw.TrainingJobFailed) as info:
        await sw.wait_until_complete("bad", client=client, clock=fake.clock)
    reason = fake.describe_job("bad")["FailureReason"]
    assert reason == info.value.failure_reason
    assert "bad" == info.value.job_name
    assert sw.PrimaryStatus.FAILED == info.value.snapshot.primary_status
    assert reason in str(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("lifecycle", "reason"),
    [
        ("max_runtime", "MaxRuntimeExceeded"),
        ("spot_interrupted_twice_max_wait", "MaxWaitTimeExceeded"),
        ("spot_capacity_never", "MaxWaitTimeExceeded"),
        ("user_stop", "Stopped"),
    ],
)
async def test_wait_until_complete_raises_stopped_with_the_reason(
    sim, lifecycle, reason
):
    """A Stopped job raises TrainingJobStopped whose reason says what stopped it."""
    fake, client = sim
    fake.add_job("stopped", lifecycle)
    with pytest.raises(sw.TrainingJobStopped) as info:
        await sw.wait_until_complete("stopped", client=client, clock=fake.clock)
    assert reason == info.value.reason
    assert sw.PrimaryStatus.STOPPED == info.value.snapshot.primary_status


@pytest.mark.asyncio
async def test_stop_over_the_api_mid_training_is_reported_as_stopped(sim):
    """StopTrainingJob while the waiter runs ends it with reason Stopped."""
    fake, client = sim
    fake.add_job("job", plain(training=7200))
    await sw.wait_for_status("job", "Training", client=client, clock=fake.clock)
    await client.stop_training_job(TrainingJobName="job")
    with pytest.raises(sw.TrainingJobStopped) as info:
        await sw.wait_until_complete("job", client=client, clock=fake.clock)
    assert "Stopped" == info.value.reason


@pytest.mark.asyncio
@pytest.mark.parametrize("lifecycle", ["plain", "failure", "max_runtime"])
async def test_wait_until_terminal_never_raises_on_the_outcome(sim, lifecycle):
    """wait_until_terminal returns the final snapshot whatever the outcome."""
    fake, client = sim
    fake.add_job("job", lifecycle)
    snapshot = await sw.wait_until_terminal("job", client=client, clock=fake.clock)
    assert snapshot.is_terminal
    assert fake.describe_job("job")["TrainingJobStatus"] == snapshot.primary_status


@pytest.mark.asyncio
async def test_wait_for_status_returns_when_training_starts(sim):
    """wait_for_status(TRAINING) returns while the job trains, not at its end."""
    fake, client = sim
    fake.add_job("job", plain(training=3600))
    snapshot = await sw.wait_for_status(
        "job", sw.SecondaryStatus.TRAINING, client=client, clock=fake.clock
    )
    assert sw.PrimaryStatus.IN_PROGRESS == snapshot.primary_status
    assert "Training" == snapshot.transitions[-1].status


@pytest.mark.asyncio
async def test_wait_for_status_counts_a_status_already_in_the_history(sim):
    """A status the job already passed through returns on the first poll."""
    fake, client = sim
    fake.add_job("job", "plain")
    fake.advance(400)
    await sw.wait_for_status("job", "Downloading", client=client, clock=fake.clock)
    assert 1 == fake.request_count("DescribeTrainingJob")


@pytest.mark.asyncio
async def test_wait_for_status_raises_when_the_job_fails_first(sim):
    """A job that fails before entering the status raises TrainingJobFailed."""
    fake, client = sim
    fake.add_job("job", "failure")
    with pytest.raises(sw.TrainingJobFailed):
        await sw.wait_for_status("job", "Uploading", client=client, clock=fake.clock)


@pytest.mark.asyncio
async def test_wait_for_status_raises_when_completed_without_it(sim):
    """A job that completes without entering the status raises StatusNotReached."""
    fake, client = sim
    fake.add_job("job", "plain")
    with pytest.raises(sw.StatusNotReached) as info:
        await sw.wait_for_status("job", "Interrupted", client=client, clock=fake.clock)
    assert ("Interrupted",) == info.value.wanted


@pytest.mark.asyncio
async def test_timeout_raises_wait_timeout_with_the_last_snapshot(sim):
    """timeout= on the injected clock raises WaitTimeout carrying the last snapshot."""
    fake, client = sim
    fake.add_job("long", plain(training=10 * 3600))
    start = fake.clock.monotonic()
    with pytest.raises(sw.WaitTimeout) as info:
        await sw.wait_until_complete(
            "long", client=client, clock=fake.clock, timeout=1800
        )
    assert info.value.snapshot is not None
    assert sw.PrimaryStatus.IN_PROGRESS == info.value.snapshot.primary_status
    assert 1800 == pytest.approx(fake.clock.monotonic() - start, abs=1e-6)
    assert isinstance(info.value, TimeoutError)


@pytest.mark.asyncio
async def test_timeout_cuts_a_hanging_request_on_the_real_clock():
    """On the system clock, timeout= also cuts a request that hangs past it."""
    async with FakeSageMaker(speed=1.0) as fake, fake.client() as client:
        fake.add_job("job", "plain")
        fake.inject(Fault.slow(5.0))
        with pytest.raises(sw.WaitTimeout) as info:
            await sw.wait_until_complete("job", client=client, timeout=0.2)
    assert info.value.snapshot is None
    assert "never observed" in str(info.value)


@pytest.mark.asyncio
async def test_negative_timeout_is_rejected(sim):
    """A negative timeout is a ValueError, raised before any request."""
    fake, client = sim
    with pytest.raises(ValueError, match="timeout"):
        await sw.wait_until_complete("job", client=client, timeout=-1)
    assert 0 == fake.statistics().total


@pytest.mark.asyncio
async def test_invalid_name_fails_before_any_request(sim):
    """Each waiter rejects an invalid name before sending anything."""
    fake, client = sim
    for waiter in (sw.wait_until_complete, sw.wait_until_terminal):
        with pytest.raises(sw.InvalidJobName):
            await waiter("bad name!", client=client)
    with pytest.raises(sw.InvalidJobName):
        await sw.wait_for_status("bad name!", "Training", client=client)
    assert 0 == fake.statistics().total


@pytest.mark.asyncio
async def test_waiter_without_client_uses_the_environment(fake_sagemaker, monkeypatch):
    """Without client=, AWS_ENDPOINT_URL_SAGEMAKER and AWS_REGION are honoured."""
    fake = fake_sagemaker
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    fake.add_job("job", "plain")
    snapshot = await sw.wait_until_complete("job", clock=fake.clock)
    assert snapshot.job_arn.startswith("arn:aws:sagemaker:us-east-1:")
    assert fake.request_count("DescribeTrainingJob") >= 1


@pytest.mark.asyncio
async def test_wait_for_no_status_is_rejected_before_any_request(sim):
    """An empty status set would wait for the whole job: ValueError, nothing sent."""
    fake, client = sim
    fake.add_job("job", "plain")
    for nothing in ([], (), set()):
        with pytest.raises(ValueError, match="status"):
            await sw.wait_for_status("job", nothing, client=client, clock=fake.clock)
    assert 0 == fake.statistics().total


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("lifecycle", "wire", "error"),
    [
        ("plain", "completed", None),
        ("failure", "failed", sw.TrainingJobFailed),
        ("user_stop", "stopped", sw.TrainingJobStopped),
    ],
)
async def test_waiters_read_the_outcome_of_an_unknown_terminal_primary(
    sim, hostile, lifecycle, wire, error
):
    """wait_until_complete judges a lowercase terminal primary by its outcome."""
    fake, _ = sim
    fake.add_job("job", lifecycle)

    def lowercase(answer):
        status = answer["TrainingJobStatus"]
        done = status in {"Completed", "Failed", "Stopped"}
        return {**answer, "TrainingJobStatus": wire if done else status}

    hostile.rule("DescribeTrainingJob", mutate=lowercase)
    async with hostile.client() as client:
        if error is None:
            snapshot = await sw.wait_until_complete(
                "job", client=client, clock=fake.clock
            )
            assert sw.PrimaryStatus.COMPLETED == snapshot.outcome
        else:
            with pytest.raises(error):
                await sw.wait_until_complete("job", client=client, clock=fake.clock)


#: The keywords every way into one job takes, with what each defaults to.
KEYWORDS = {
    "client": None,
    "region": None,
    "profile": None,
    "endpoint_url": None,
    "schedule": None,
    "retry": None,
    "clock": None,
    "seed": None,
    "timeout": None,
    "resume": None,
    "hints": None,
}


@pytest.mark.parametrize(
    "way_in",
    [
        sw.watch,
        sw.Watch,
        sw.wait_until_terminal,
        sw.wait_until_complete,
        sw.wait_for_status,
    ],
    ids=lambda way_in: way_in.__name__,
)
def test_every_way_in_takes_the_same_keywords(way_in):
    """watch(), Watch and the three waiters take one keyword set, all optional."""
    keywords = {
        name: parameter.default
        for name, parameter in inspect.signature(way_in).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert KEYWORDS == keywords


@pytest.mark.asyncio
@pytest.mark.parametrize("via", ["region", "profile"])
async def test_waiter_opens_and_closes_its_own_client_from_the_keywords(
    fake_sagemaker, monkeypatch, tmp_path, via
):
    """region=/profile= and endpoint_url= give a waiter its own client, closed after."""
    fake = fake_sagemaker
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = tmp_path / "profiles"
    config.write_text(
        f"[profile watcher]\nregion = {fake.region}\n"
        "aws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    where = {"region": fake.region} if via == "region" else {"profile": "watcher"}
    fake.add_job("job", "plain")
    snapshot = await sw.wait_until_complete(
        "job", endpoint_url=fake.endpoint_url, clock=fake.clock, **where
    )
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status
    for _ in range(5):
        await anyio.sleep(0.01)
    assert 0 == len(fake._runner.server.connections)


@pytest.mark.asyncio
async def test_waiters_resumed_after_the_end_answer_from_the_last_poll(sim):
    """Resumed from the terminal event's token, the waiters answer from one poll."""
    fake, client = sim
    fake.add_job("job", "plain")
    async with sw.watch("job", client=client, clock=fake.clock) as events:
        tokens = [event.resume_token async for event in events]
    before = fake.request_count("DescribeTrainingJob")
    options = {"client": client, "clock": fake.clock, "resume": tokens[-1]}
    terminal = await sw.wait_until_terminal("job", **options)
    complete = await sw.wait_until_complete("job", **options)
    with pytest.raises(sw.StatusNotReached):
        await sw.wait_for_status("job", "Training", **options)
    assert sw.PrimaryStatus.COMPLETED == terminal.primary_status == complete.outcome
    assert 3 == fake.request_count("DescribeTrainingJob") - before


@pytest.mark.asyncio
async def test_wait_for_status_after_a_resume_token_counts_what_came_after(sim):
    """With resume=, a status entered after the token's event is waited for."""
    fake, client = sim
    fake.add_job("job", "plain")
    async with sw.watch("job", client=client, clock=fake.clock) as events:
        first = await anext(events)
    snapshot = await sw.wait_for_status(
        "job", "Uploading", client=client, clock=fake.clock, resume=first.resume_token
    )
    assert "Uploading" in [t.status for t in snapshot.transitions]
