"""Cancelling a watch at any await point leaves no task, client or socket behind.

A watch waits in three kinds of places: opening a client, a request in flight, and a
sleep (between polls, or between retries). Each test cuts the watch at the k-th
place of one kind, for k in turn, and then checks that every connection the library
opened is closed, no task is left over, and a caller's client still works. A watch
that opens its own client is only iterated inside ``async with``; iterated plainly
it refuses at once, and the "plain" cases check that this too leaves nothing.
"""

from __future__ import annotations

import asyncio

import anyio
import pytest

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker, Fault, ManualClock


class CuttingClock:
    """Delegates to *inner*, but cancels *scope* on the *cut_at*-th sleep."""

    def __init__(self, inner, cut_at):
        self.inner = inner
        self.cut_at = cut_at
        self.sleeps = 0
        self.scope = anyio.CancelScope()

    def now(self):
        return self.inner.now()

    def monotonic(self):
        return self.inner.monotonic()

    async def sleep(self, seconds):
        self.sleeps += 1
        if self.sleeps == self.cut_at:
            self.scope.cancel()
        await self.inner.sleep(seconds)


def _open_connections(fake):
    """Connections the fake's HTTP server holds open right now."""
    return len(fake._runner.server.connections)


async def _settle():
    """Let the server notice closed connections.

    No garbage collection: a leaked client must not be rescued by its finaliser
    before we look.
    """
    for _ in range(5):
        await asyncio.sleep(0.005)


async def _run(events, *, in_block):
    """Drain *events* inside async with, or plainly (an error without client=)."""
    if in_block:
        async with events:
            return [event async for event in events]
    if events._client is None:
        # A watch that opens its own client must be entered: plain iteration
        # is refused before anything is opened or sent.
        with pytest.raises(RuntimeError, match="async with"):
            await anext(aiter(events))
        return []
    return [event async for event in events]


@pytest.fixture(name="env_for")
def _env_for(monkeypatch):
    """Point the default credential chain at a fake."""

    def point(fake):
        for key, value in fake.environ().items():
            monkeypatch.setenv(key, value)

    return point


@pytest.mark.asyncio
@pytest.mark.parametrize("in_block", [False, True], ids=["plain", "async_with"])
async def test_cut_at_each_sleep_leaves_nothing(env_for, in_block):
    """Cancelled in its k-th sleep (poll or retry), a watch closes what it opened."""
    async with FakeSageMaker(clock=ManualClock()) as fake:
        env_for(fake)
        fake.inject(Fault.throttle(probability=0.3))
        tasks_before = asyncio.all_tasks()
        for k in range(1, 25, 2):
            fake.add_job(f"job-{k}", "spot_interrupted_once")
            clock = CuttingClock(fake.clock, cut_at=k)
            events = sw.watch(f"job-{k}", clock=clock, seed=k)
            with clock.scope:
                await _run(events, in_block=in_block)
            assert in_block == clock.scope.cancel_called
            await _settle()
            assert (k, 0) == (k, _open_connections(fake))
            assert tasks_before == asyncio.all_tasks()


@pytest.mark.asyncio
@pytest.mark.parametrize("in_block", [False, True], ids=["plain", "async_with"])
async def test_cut_during_each_request_leaves_nothing(env_for, in_block):
    """Cancelled while its k-th request is in flight, a watch closes its client."""
    async with FakeSageMaker(clock=ManualClock()) as fake:
        env_for(fake)
        fake.inject(Fault.slow(0.05))
        tasks_before = asyncio.all_tasks()
        for k in range(1, 5):
            fake.reset_statistics()
            fake.add_job(f"job-{k}", "plain")
            events = sw.watch(f"job-{k}", clock=fake.clock)
            async with anyio.create_task_group() as tg:

                async def cut_at_request(k=k, scope=tg.cancel_scope):
                    while fake.request_count("DescribeTrainingJob") < k:  # noqa: ASYNC110 - the fake has no event to wait on
                        await asyncio.sleep(0.001)
                    await asyncio.sleep(0.01)  # the answer is 50 ms away
                    scope.cancel()

                if in_block:
                    tg.start_soon(cut_at_request)
                await _run(events, in_block=in_block)
            assert (k if in_block else 0) == fake.request_count("DescribeTrainingJob")
            await asyncio.sleep(0.06)  # the server's slow handler ends
            await _settle()
            assert (k, 0) == (k, _open_connections(fake))
            assert tasks_before == asyncio.all_tasks()


@pytest.mark.asyncio
async def test_cut_anywhere_leaves_a_caller_client_usable():
    """Cancellation at any sleep leaves a caller-owned client open and working."""
    async with FakeSageMaker(clock=ManualClock()) as fake, fake.client() as client:
        fake.inject(Fault.drop_connection(probability=0.2))
        for k in range(1, 20):
            fake.add_job(f"job-{k}", "plain")
            clock = CuttingClock(fake.clock, cut_at=k)
            with clock.scope:
                await _run(
                    sw.watch(f"job-{k}", client=client, clock=clock), in_block=True
                )
            assert clock.scope.cancel_called
        fake.clear_faults()
        answer = await client.describe_training_job(TrainingJobName="job-1")
        assert "job-1" == answer["TrainingJobName"]


@pytest.mark.asyncio
async def test_asyncio_timeout_cancels_a_waiter_cleanly(env_for):
    """asyncio.timeout around a waiter raises TimeoutError and leaves nothing open."""
    async with FakeSageMaker(speed=1.0) as fake:
        env_for(fake)
        fake.add_job("job", "plain")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await sw.wait_until_complete("job", clock=fake.clock)
        await _settle()
        assert 0 == _open_connections(fake)
