"""Tests for SharedFleets: one fleet per key and loop, per-job subscriptions."""

from __future__ import annotations

import asyncio
import contextlib

import anyio
import pytest

import sagemaker_watch as sw
from sagemaker_watch._drivers.fleet import FleetWatcher
from sagemaker_watch._drivers.shared_fleets import OpenedFleet, SharedFleets
from sagemaker_watch.testing import TIMELINES, FakeSageMaker, plain


def opener(fake, client, log, **options):
    """Return an ``open_fleet`` on *client* that notes each open and close in *log*."""

    @contextlib.asynccontextmanager
    async def open_fleet():
        async with FleetWatcher(
            client=client, clock=fake.clock, max_in_flight=1, seed=7, **options
        ) as fleet:
            log.append("open")
            yield OpenedFleet(fleet=fleet, client=client, clock=fake.clock)
        log.append("closed")

    return open_fleet


def transitions(events):
    """The (kind, status) of each event: what a subscriber logs."""
    return [(e.kind, str(getattr(e, "status", ""))) for e in events]


def entered(events):
    """The statuses entered and the end: what any watcher of the job must agree on."""
    kept = (sw.StatusEntered, sw.JobEnded)
    return transitions(e for e in events if isinstance(e, kept))


async def collect(shared, key, open_fleet, name, *, resume=None, into=None):
    """Subscribe to *name* and return all its events."""
    events = [] if into is None else into
    async with shared.subscribe(key, open_fleet, name, resume=resume) as stream:
        async for event in stream:
            events.append(event)
    return events


@pytest.mark.asyncio
async def test_waiters_with_one_key_share_one_fleet_and_each_gets_its_jobs_events(
    sim,
):
    """Three jobs, one key: one fleet opened once, each job's events as watch()'s."""
    fake, client = sim
    for name in ("a", "b", "c"):
        fake.add_job(name, TIMELINES["spot_interrupted_once"]())
    shared, log, got = SharedFleets(), [], {}
    open_fleet = opener(fake, client, log)
    seen_fleets = []

    async def one(name):
        got[name] = await collect(shared, "k", open_fleet, name)
        seen_fleets.append(len(shared.fleets()))

    async with anyio.create_task_group() as tg:
        for name in ("a", "b", "c"):
            tg.start_soon(one, name)
    watched = [e async for e in sw.watch("a", client=client, clock=fake.clock)]

    assert ["open", "closed"] == log
    assert {} == shared.fleets()
    assert 1 == max(seen_fleets)
    for name in ("a", "b", "c"):
        assert entered(watched) == entered(got[name])
        assert isinstance(got[name][-1], sw.JobCompleted)


@pytest.mark.asyncio
async def test_a_second_subscriber_of_a_job_gets_every_event_once(sim):
    """Joining a watched job mid-way: what was said is replayed, then live, once."""
    fake, client = sim
    fake.add_job("j", plain(training=3600))
    shared, log = SharedFleets(), []
    open_fleet = opener(fake, client, log)
    first, second = [], []
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: collect(shared, "k", open_fleet, "j", into=first))
        await fake.clock.sleep(600)  # well into Training
        assert any(isinstance(e, sw.StatusEntered) for e in first)
        tg.start_soon(lambda: collect(shared, "k", open_fleet, "j", into=second))
    assert transitions(first) == transitions(second)
    assert [e.resume_token for e in first] == [e.resume_token for e in second]
    assert ["open", "closed"] == log


@pytest.mark.asyncio
async def test_a_resume_token_in_the_history_gets_what_followed_it(sim):
    """A subscriber resuming from a kept event gets exactly the events after it."""
    fake, client = sim
    fake.add_job("j", plain(training=3600))
    shared, log = SharedFleets(), []
    open_fleet = opener(fake, client, log)
    first, second = [], []
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: collect(shared, "k", open_fleet, "j", into=first))
        await fake.clock.sleep(600)
        token = first[1].resume_token
        tg.start_soon(
            lambda: collect(shared, "k", open_fleet, "j", resume=token, into=second)
        )
    assert transitions(first[2:]) == transitions(second)


@pytest.mark.asyncio
async def test_a_resume_token_the_history_lacks_gets_a_watch_of_its_own(sim):
    """A token from another process's watcher: served apart, still exactly once."""
    fake, client = sim
    fake.add_job("j", plain(training=3600))
    elsewhere = [e async for e in sw.watch("j", client=client, clock=fake.clock)]
    shared, log = SharedFleets(), []
    open_fleet = opener(fake, client, log)
    first, second = [], []
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: collect(shared, "k", open_fleet, "j", into=first))
        await fake.clock.sleep(1)
        token = elsewhere[2].resume_token
        assert token not in [e.resume_token for e in first]
        tg.start_soon(
            lambda: collect(shared, "k", open_fleet, "j", resume=token, into=second)
        )
    assert entered(elsewhere[3:]) == entered(second)
    assert entered(elsewhere) == entered(first)


@pytest.mark.asyncio
async def test_a_job_no_one_waits_for_is_removed_and_the_last_leaver_closes(sim):
    """Leaving before the end: the fleet forgets the job, then closes."""
    fake, client = sim
    fake.add_job("long", plain(training=36000))
    fake.add_job("short", plain(training=60))
    shared, log = SharedFleets(), []
    open_fleet = opener(fake, client, log)
    async with shared.subscribe("k", open_fleet, "long") as long_events:
        fleet = shared.fleets()["k"]
        async with shared.subscribe("k", open_fleet, "short") as short_events:
            assert isinstance([e async for e in short_events][-1], sw.JobCompleted)
        assert "short" not in fleet
        assert "long" in fleet
        first = await anext(aiter(long_events))
        assert isinstance(first, sw.JobObserved)
    assert "long" not in fleet
    assert ["open", "closed"] == log
    assert {} == shared.fleets()


@pytest.mark.asyncio
async def test_different_keys_get_different_fleets(sim):
    """Two connection settings, two fleets, each closed when its users leave."""
    fake, client = sim
    fake.add_job("j", plain(training=60))
    shared, log_a, log_b = SharedFleets(), [], []
    async with (
        shared.subscribe("a", opener(fake, client, log_a), "j"),
        shared.subscribe("b", opener(fake, client, log_b), "j"),
    ):
        assert {"a", "b"} == set(shared.fleets())
    assert ["open", "closed"] == log_a == log_b


@pytest.mark.asyncio
async def test_a_fleet_that_cannot_start_fails_every_subscriber_then_retries(sim):
    """The opener's error reaches each waiting subscriber; the next one starts anew."""
    fake, client = sim
    fake.add_job("j", plain(training=60))
    shared, calls = SharedFleets(), []

    @contextlib.asynccontextmanager
    async def broken():
        calls.append("try")
        await fake.clock.sleep(1)
        raise ConnectionRefusedError("no fleet here")
        yield  # pragma: no cover - never reached

    errors = []

    async def one():
        with pytest.raises(ConnectionRefusedError) as caught:
            await collect(shared, "k", broken, "j")
        errors.append(caught.value)

    async with anyio.create_task_group() as tg:
        tg.start_soon(one)
        tg.start_soon(one)
    assert 2 == len(errors)
    assert ["try"] == calls
    log = []
    events = await collect(shared, "k", opener(fake, client, log), "j")
    assert isinstance(events[-1], sw.JobCompleted)


@pytest.mark.asyncio
async def test_a_fleet_belongs_to_its_event_loop():
    """asyncio.run per waiter (as dag.test() does): each loop opens its own fleet."""
    logs = []

    async def once():
        async with FakeSageMaker(speed=10_000) as fake, fake.client() as client:
            fake.add_job("j", plain(training=1))
            log = []
            logs.append(log)
            await collect(SHARED, "k", opener(fake, client, log), "j")

    await asyncio.to_thread(asyncio.run, once())
    await asyncio.to_thread(asyncio.run, once())
    assert [["open", "closed"], ["open", "closed"]] == logs


SHARED = SharedFleets()


@pytest.mark.asyncio
async def test_an_invalid_name_fails_before_any_fleet_opens(sim):
    """A name SageMaker would reject raises at once; nothing is opened."""
    fake, client = sim
    shared, log = SharedFleets(), []
    with pytest.raises(sw.InvalidJobName):
        async with shared.subscribe("k", opener(fake, client, log), "bad name"):
            pass  # pragma: no cover - never entered
    assert [] == log
    assert 0 == fake.request_count()


@pytest.mark.asyncio
async def test_an_arn_is_the_job_and_one_of_another_region_is_refused(sim):
    """A job's ARN subscribes to the job; an ARN of another region fails at once."""
    fake, client = sim
    fake.add_job("j", plain(training=60))
    shared, log = SharedFleets(), []
    region = client.meta.region_name
    arn = f"arn:aws:sagemaker:{region}:123456789012:training-job/j"
    events = await collect(shared, "k", opener(fake, client, log), arn)
    assert {"j"} == {event.job_name for event in events}
    elsewhere = "arn:aws:sagemaker:ap-south-2:123456789012:training-job/j"
    before = fake.request_count("DescribeTrainingJob")
    with pytest.raises(sw.InvalidJobName, match="ap-south-2"):
        await collect(shared, "k", opener(fake, client, log), elsewhere)
    assert before == fake.request_count("DescribeTrainingJob")


@pytest.mark.asyncio
async def test_a_fleet_that_stops_under_its_subscribers_ends_them_with_an_error(sim):
    """The fleet's stream ends early: each subscriber's stream raises, none hangs."""
    fake, client = sim
    fake.add_job("j", plain(training=36000))
    shared, log = SharedFleets(), []
    with anyio.fail_after(60):
        async with shared.subscribe("k", opener(fake, client, log), "j") as events:
            first = await anext(aiter(events))
            shared.fleets()["k"]._stream.close()  # its stream ends under them
            with pytest.raises(sw.UsageError, match="closed while its job"):
                async for _ in events:
                    pass
    assert isinstance(first, sw.JobObserved)
    assert ["open", "closed"] == log
