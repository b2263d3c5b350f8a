"""The fault matrix: every fault, through watch() and every waiter, over real HTTP.

For each fault the job must reach the right outcome with every event exactly once and
in order: no crash, no hang. Where the right outcome is an error, it is typed.
"""

from __future__ import annotations

import datetime as dt
import zlib

import pytest
from aiobotocore.config import AioConfig

import sagemaker_watch as sw
from sagemaker_watch.testing import FAULT_SCENARIOS, FakeSageMaker, Fault, ManualClock

FAULTS = FAULT_SCENARIOS

LIFECYCLES = {
    "spot_interrupted_once": ("Completed", None),
    "failure": ("Failed", None),
    "spot_interrupted_twice_max_wait": ("Stopped", "MaxWaitTimeExceeded"),
    "unknown_status": ("Completed", None),
}

#: Short read timeouts so a slow answer trips them in a fraction of a second.
FAST_TIMEOUTS = AioConfig(read_timeout=0.1, connect_timeout=0.5)


def _statuses(events):
    return [str(e.status) for e in events if isinstance(e, sw.StatusEntered)]


def _history(fake, name):
    return [t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]]


@pytest.mark.asyncio
@pytest.mark.parametrize("lifecycle", sorted(LIFECYCLES))
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_watch_under_fault(fault, lifecycle):
    """watch() yields each transition once, in order, and the right terminal event."""
    async with (
        FakeSageMaker(clock=ManualClock(), seed=zlib.crc32(fault.encode())) as fake,
        fake.client(config=FAST_TIMEOUTS) as client,
    ):
        fake.add_job("job", lifecycle)
        fake.inject(*FAULTS[fault])
        events = [e async for e in sw.watch("job", client=client, clock=fake.clock)]
    primary, reason = LIFECYCLES[lifecycle]
    assert _history(fake, "job") == _statuses(events)
    ended = [e for e in events if isinstance(e, sw.JobEnded)]
    assert [events[-1]] == ended
    assert primary == ended[0].snapshot.primary_status
    if reason is not None:
        assert reason == ended[0].reason
    assert [] == [e for e in events if e.job_name != "job"]


@pytest.mark.asyncio
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_every_waiter_under_fault(fault):
    """Each waiter reaches its outcome through the fault, typed where it is an error."""
    async with (
        FakeSageMaker(clock=ManualClock()) as fake,
        fake.client(config=FAST_TIMEOUTS) as client,
    ):
        fake.inject(*FAULTS[fault])
        options = {"client": client, "clock": fake.clock}
        fake.add_job("ok", "spot_interrupted_once")
        fake.add_job("bad", "failure")
        fake.add_job("spot", "spot_capacity_never")
        assert (
            "Completed"
            == (await sw.wait_until_complete("ok", **options)).primary_status
        )
        with pytest.raises(sw.TrainingJobFailed) as failed:
            await sw.wait_until_complete("bad", **options)
        assert failed.value.failure_reason
        stopped = await sw.wait_until_terminal("spot", **options)
        assert "MaxWaitTimeExceeded" == stopped.stop_reason
        fake.add_job("later", "plain")
        training = await sw.wait_for_status("later", "Training", **options)
        assert "Training" == training.transitions[-1].status
        with pytest.raises(sw.WaitTimeout) as timeout:
            await sw.wait_until_complete("later", **options, timeout=60)
        assert timeout.value.snapshot is not None


@pytest.mark.asyncio
async def test_name_that_never_existed_is_not_found_after_the_grace_period():
    """A name that never existed: TrainingJobNotFound, after retrying for the grace."""
    async with FakeSageMaker(clock=ManualClock()) as fake, fake.client() as client:
        fake.inject(Fault.server_error(503, probability=0.3))
        with pytest.raises(sw.TrainingJobNotFound):
            await sw.wait_until_complete("no-such-job", client=client, clock=fake.clock)
        assert fake.request_count("DescribeTrainingJob") > 2


class SkewedClock:
    """The fake's clock, but our wall time runs *skew* ahead of the service's."""

    def __init__(self, inner, skew):
        self.inner = inner
        self.skew = skew

    def now(self):
        return self.inner.now() + self.skew

    def monotonic(self):
        return self.inner.monotonic()

    async def sleep(self, seconds):
        await self.inner.sleep(seconds)


@pytest.mark.asyncio
@pytest.mark.parametrize("hours", [-26, 3])
async def test_clock_skew_between_service_and_us_changes_nothing(hours):
    """Service timestamps hours away from ours: same events, same outcome."""
    async with FakeSageMaker(clock=ManualClock()) as fake, fake.client() as client:
        fake.add_job("job", "spot_interrupted_once")
        clock = SkewedClock(fake.clock, dt.timedelta(hours=hours))
        events = [e async for e in sw.watch("job", client=client, clock=clock)]
    assert _history(fake, "job") == _statuses(events)
    assert isinstance(events[-1], sw.JobCompleted)
    first = events[0]
    assert hours * 3600 == pytest.approx(
        (first.at - first.snapshot.raw["LastModifiedTime"]).total_seconds(), abs=5
    )
