"""Tests for the clocks: sleepers wake at absolute deadlines; deadline_remaining()."""

from __future__ import annotations

import math

import anyio
import pytest

import sagemaker_watch as sw
from sagemaker_watch._io.clock import SystemClock
from sagemaker_watch.testing import (
    TIMELINES,
    FakeSageMaker,
    Fault,
    ManualClock,
    ScaledClock,
    plain,
    spot_interrupted_once,
)


async def _sleep_and_note(clock, seconds, name, woke):
    """Sleep *seconds* on *clock*, then note *name* and the clock's reading."""
    await clock.sleep(seconds)
    woke.append((name, clock.monotonic()))


async def _concurrent_sleepers():
    """Start three sleepers at once on a fresh ManualClock; return who woke when."""
    clock = ManualClock()
    woke = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_sleep_and_note, clock, 7, "seven", woke)
            tg.start_soon(_sleep_and_note, clock, 5, "five", woke)
            tg.start_soon(_sleep_and_note, clock, 5.5, "five and a half", woke)
    return woke, clock.monotonic()


@pytest.mark.asyncio
async def test_concurrent_sleepers_wake_at_their_own_deadlines_in_order():
    """Sleepers of 7, 5 and 5.5 s started together end at t+5, t+5.5, t+7."""
    expected = [("five", 5.0), ("five and a half", 5.5), ("seven", 7.0)], 7.0
    assert expected == await _concurrent_sleepers()


def test_concurrent_sleepers_wake_at_their_deadlines_on_trio_too():
    """The autojump works on trio as well as on asyncio."""
    expected = [("five", 5.0), ("five and a half", 5.5), ("seven", 7.0)], 7.0
    assert expected == anyio.run(_concurrent_sleepers, backend="trio")


async def _wait_for(predicate):
    """Yield to the event loop until *predicate()* holds."""
    with anyio.fail_after(5):
        while not predicate():
            await anyio.lowlevel.checkpoint()


@pytest.mark.asyncio
async def test_advance_wakes_every_passed_deadline_in_deadline_order():
    """Without autojump, advance() wakes the sleepers it passed, earliest first."""
    clock = ManualClock(autojump_threshold=math.inf)
    woke = []
    async with anyio.create_task_group() as tg:
        for seconds, name in [(3, "c"), (1, "a"), (10, "d"), (2, "b")]:
            tg.start_soon(_sleep_and_note, clock, seconds, name, woke)
        await anyio.wait_all_tasks_blocked()
        assert [] == woke
        clock.advance(5)
        await _wait_for(lambda: len(woke) == 3)
        await anyio.wait_all_tasks_blocked()
        assert [("a", 5.0), ("b", 5.0), ("c", 5.0)] == woke
        clock.advance(5)
    assert [("a", 5.0), ("b", 5.0), ("c", 5.0), ("d", 10.0)] == woke


@pytest.mark.asyncio
async def test_a_cancelled_sleeper_leaves_no_deadline_behind():
    """A sleep cancelled midway neither moves the clock nor lingers as a deadline."""
    clock = ManualClock(autojump_threshold=math.inf)
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.sleep, 100)
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    clock.autojump_threshold = 0.0
    with anyio.fail_after(5):
        await clock.sleep(1)
    assert 1.0 == clock.monotonic()


@pytest.mark.asyncio
async def test_zero_and_negative_sleeps_do_not_move_the_clock():
    """sleep(0) and sleep(-1) are checkpoints that leave the clock where it is."""
    clock = ManualClock()
    await clock.sleep(0)
    await clock.sleep(-1)
    assert 0.0 == clock.monotonic()


def test_autojump_threshold_is_checked_and_readable():
    """The threshold defaults to a few ms at most; a negative one is refused."""
    assert 0 <= ManualClock().autojump_threshold <= 0.005
    assert math.inf == ManualClock(autojump_threshold=math.inf).autojump_threshold
    with pytest.raises(ValueError, match="autojump_threshold"):
        ManualClock(autojump_threshold=-1)


@pytest.mark.asyncio
async def test_the_clock_never_jumps_while_a_loopback_request_is_in_flight():
    """A sleeper's autojump waits for the requests of other tasks to finish."""
    async with FakeSageMaker(clock=ManualClock()) as fake, fake.client() as client:
        fake.add_job("job", TIMELINES["plain"]())
        jumped_midway = []

        async def ask() -> None:
            for _ in range(30):
                before = fake.clock.monotonic()
                await client.describe_training_job(TrainingJobName="job")
                jumped_midway.append(fake.clock.monotonic() - before)

        async def tick() -> None:
            while len(jumped_midway) < 30:
                await fake.clock.sleep(5)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(ask)
                tg.start_soon(tick)
    assert [0.0] * 30 == jumped_midway


#: Short lifecycles for the fleet runs, cycled over its jobs.
LIFECYCLES = (
    lambda: plain(training=120),
    lambda: spot_interrupted_once(training=120, interrupted=60),
    TIMELINES["failure"],
)


async def _fleet_run(max_in_flight):
    """Watch 4 jobs through faults on a fresh ManualClock; return what it saw."""
    async with FakeSageMaker(clock=ManualClock(), seed=11) as fake:
        async with fake.client() as client:
            jobs = [f"job-{i:02d}" for i in range(4)]
            for i, job in enumerate(jobs):
                fake.add_job(job, LIFECYCLES[i % len(LIFECYCLES)]())
            fake.inject(
                Fault.throttle(probability=0.2),
                Fault.server_error(503, probability=0.1),
            )
            with anyio.fail_after(60):
                async with sw.FleetWatcher(
                    client=client,
                    clock=fake.clock,
                    max_in_flight=max_in_flight,
                    seed=7,
                ) as fleet:
                    for job in jobs:
                        fleet.add(job)
                    events = [event async for event in fleet]
        requests = fake.statistics()
    by_job = {job: [e for e in events if e.job_name == job] for job in jobs}
    return by_job, requests, fake.clock.monotonic()


@pytest.mark.asyncio
async def test_the_fleet_is_deterministic_on_a_manual_clock_with_concurrency():
    """Fleet runs with max_in_flight=4 repeat exactly, and match max_in_flight=1."""
    one_at_a_time = await _fleet_run(1)
    first = await _fleet_run(4)
    second = await _fleet_run(4)
    assert first == second
    assert one_at_a_time == first


@pytest.mark.asyncio
async def test_system_clock_deadline_remaining_follows_the_callers_cancel_scope():
    """SystemClock reports the caller's anyio deadline, and infinity without one."""
    clock = SystemClock()
    assert math.inf == clock.deadline_remaining()
    with anyio.fail_after(10):
        remaining = clock.deadline_remaining()
        with anyio.move_on_after(3):
            inner = clock.deadline_remaining()
            await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()
    assert 9 < remaining <= 10
    assert 2 < inner <= 3


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "clock", [ManualClock(), ScaledClock(speed=100)], ids=["manual", "scaled"]
)
async def test_simulated_clocks_ignore_real_time_cancel_scopes(clock):
    """A real-time cancel scope says nothing about simulated time: infinity."""
    assert isinstance(clock, sw.Clock)
    assert math.inf == clock.deadline_remaining()
    with anyio.fail_after(10):
        assert math.inf == clock.deadline_remaining()
        await anyio.lowlevel.checkpoint()


@pytest.mark.asyncio
async def test_a_task_polling_in_real_time_does_not_hold_the_clock_back():
    """Another task waking every real millisecond still lets the clock jump."""
    clock = ManualClock()
    done = []

    async def poll() -> None:
        while not done:  # noqa: ASYNC110 - a real-time poller is the point
            await anyio.sleep(0.001)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(poll)
            for _ in range(20):
                await clock.sleep(60)
            done.append(True)
    assert 1200.0 == clock.monotonic()


@pytest.mark.asyncio
async def test_a_positive_threshold_still_wakes_sleepers_at_their_deadlines():
    """With a 2 ms threshold, concurrent sleepers still end at their deadlines."""
    clock = ManualClock(autojump_threshold=0.002)
    woke = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_sleep_and_note, clock, 2, "two", woke)
            tg.start_soon(_sleep_and_note, clock, 1, "one", woke)
    assert [("one", 1.0), ("two", 2.0)] == woke
