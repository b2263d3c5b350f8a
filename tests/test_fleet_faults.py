"""The fleet's rows of the fault matrix: every fault, through FleetWatcher, over HTTP.

For each fault of ``test_fault_matrix`` a fleet watching a mix of lifecycles must
reach each job's right outcome with every transition exactly once and in order, one
terminal event last, no ``JobLost``, no crash and no hang, listing or not.
"""

from __future__ import annotations

import collections
import zlib

import anyio
import pytest
from aiobotocore.config import AioConfig

import sagemaker_watch as sw
from sagemaker_watch.testing import (
    FAULT_SCENARIOS,
    FakeSageMaker,
    Fault,
    ManualClock,
    plain,
    spot_interrupted_once,
)

FAULTS = FAULT_SCENARIOS

#: Each lifecycle (shortened where length only adds polls) and its outcome.
LIFECYCLES = {
    "spot_interrupted_once": (
        lambda: spot_interrupted_once(training=600, interrupted=300),
        "Completed",
        None,
    ),
    "failure": ("failure", "Failed", None),
    "spot_interrupted_twice_max_wait": (
        "spot_interrupted_twice_max_wait",
        "Stopped",
        "MaxWaitTimeExceeded",
    ),
    "unknown_status": ("unknown_status", "Completed", None),
    "plain": (lambda: plain(training=600), "Completed", None),
}

#: Short read timeouts so a slow answer trips them in a fraction of a second.
FAST_TIMEOUTS = AioConfig(read_timeout=0.1, connect_timeout=0.5)

#: Change detection by list sweeps (kept on to the last job), or per-job schedules.
MODES = {
    "listing": {"sweep_interval": 5.0, "list_min_jobs": 1},
    "per-job": {"sweep_interval": None},
}

#: One job per lifecycle: five jobs sharing one client and one budget.
COPIES = 1


def _timeline(lifecycle):
    made = LIFECYCLES[lifecycle][0]
    return made if isinstance(made, str) else made()


def _add_jobs(fake):
    """Create COPIES jobs of every lifecycle; return {name: lifecycle}."""
    jobs = {}
    for copy in range(COPIES):
        for lifecycle in sorted(LIFECYCLES):
            name = f"{lifecycle.replace('_', '-')}-{copy}"
            fake.add_job(name, _timeline(lifecycle))
            jobs[name] = lifecycle
    return jobs


def _history(fake, name):
    return [t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]]


def _outcome(event):
    """The terminal event as (kind, primary status, reason or failure reason)."""
    detail = None
    if isinstance(event, sw.JobFailed):
        detail = event.failure_reason
    elif isinstance(event, sw.JobStopped):
        detail = str(event.reason)
    return type(event).__name__, str(event.snapshot.primary_status), detail


def _expected_outcome(fake, name):
    """The terminal event the fake's final state calls for."""
    final = fake.describe_job(name)
    primary = final["TrainingJobStatus"]
    kind = {"Completed": "JobCompleted", "Failed": "JobFailed"}.get(
        primary, "JobStopped"
    )
    detail = {
        "Completed": None,
        "Failed": final.get("FailureReason"),
        "Stopped": final["SecondaryStatus"],
    }[primary]
    return kind, primary, detail


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_fleet_under_fault(fault, mode):
    """Each job's transitions arrive once, in order, then its right terminal event."""
    with anyio.fail_after(60):
        async with (
            FakeSageMaker(clock=ManualClock(), seed=zlib.crc32(fault.encode())) as fake,
            fake.client(config=FAST_TIMEOUTS) as client,
        ):
            jobs = _add_jobs(fake)
            fake.inject(*FAULTS[fault])
            by_job = collections.defaultdict(list)
            async with sw.FleetWatcher(
                client=client,
                clock=fake.clock,
                max_in_flight=1,
                seed=7,
                **MODES[mode],
            ) as fleet:
                for name in jobs:
                    fleet.add(name)
                async for item in fleet:
                    by_job[item.job_name].append(item)
                stats = fleet.statistics()
    assert sorted(jobs) == sorted(by_job)
    assert [] == [
        i for items in by_job.values() for i in items if isinstance(i, sw.JobLost)
    ]
    assert (0, len(jobs)) == (stats.lost, stats.finished)
    assert (mode == "listing") == (stats.sweeps > 0)
    for name, lifecycle in jobs.items():
        items = by_job[name]
        ends = [e for e in items if isinstance(e, sw.JobEnded)]
        entered = [str(e.status) for e in items if isinstance(e, sw.StatusEntered)]
        assert (name, _history(fake, name)) == (name, entered)
        assert (name, [items[-1]]) == (name, ends)
        assert _expected_outcome(fake, name) == _outcome(ends[0])
        _, primary, reason = LIFECYCLES[lifecycle]
        assert primary == ends[0].snapshot.primary_status
        if reason is not None:
            assert reason == ends[0].reason
        assert sorted(e.at for e in items) == [e.at for e in items]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "fault", ["5xx_burst", "dropped_connections", "cut_json", "throttling_storm"]
)
async def test_fleet_waiters_under_fault(fault):
    """The fleet's waiters reach each outcome through the fault; errors are typed."""
    with anyio.fail_after(60):
        async with (
            FakeSageMaker(clock=ManualClock(), seed=zlib.crc32(fault.encode())) as fake,
            fake.client(config=FAST_TIMEOUTS) as client,
        ):
            fake.inject(*FAULTS[fault])
            fake.add_job("ok", _timeline("spot_interrupted_once"))
            fake.add_job("bad", "failure")
            fake.add_job("spot", "spot_interrupted_twice_max_wait")
            async with sw.FleetWatcher(
                client=client, clock=fake.clock, max_in_flight=1, seed=7, stream=False
            ) as fleet:
                completed = await fleet.wait_until_complete("ok")
                with pytest.raises(sw.TrainingJobFailed) as failed:
                    await fleet.wait_until_complete("bad")
                with pytest.raises(sw.TrainingJobStopped) as stopped:
                    await fleet.wait_until_complete("spot")
                fake.add_job("later", _timeline("plain"))
                with pytest.raises(sw.WaitTimeout) as timed_out:
                    await fleet.wait_until_complete("later", timeout=60)
                stats = fleet.statistics()
    assert "Completed" == completed.primary_status
    assert fake.describe_job("bad")["FailureReason"] == failed.value.failure_reason
    assert "MaxWaitTimeExceeded" == stopped.value.reason
    assert timed_out.value.snapshot is not None
    assert 0 == stats.lost


async def _describes_for_plain_jobs(faults):
    """Describes a listing fleet makes for 12 plain jobs under *faults*."""
    async with (
        FakeSageMaker(clock=ManualClock(), seed=3) as fake,
        fake.client(config=FAST_TIMEOUTS) as client,
    ):
        for i in range(12):
            fake.add_job(f"job-{i:02d}", plain(training=2 * 3600))
        fake.inject(*faults)
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, max_in_flight=1, seed=7, stream=False
        ) as fleet:
            for i in range(12):
                fleet.add(f"job-{i:02d}")
            for i in range(12):
                await fleet.wait_until_complete(f"job-{i:02d}")
        return fake.request_count("DescribeTrainingJob")


@pytest.mark.asyncio
async def test_sparse_list_throttling_does_not_multiply_describes():
    """5 % of sweeps throttled costs at most half again the describes of none."""
    # A guard against a hang, not a speed check: two runs of 12 jobs through two
    # simulated hours each take 10-25 s of real time, more on a loaded machine.
    with anyio.fail_after(240):
        clean = await _describes_for_plain_jobs([])
        throttled = await _describes_for_plain_jobs(
            [Fault.throttle(operation="ListTrainingJobs", probability=0.05)]
        )
    assert throttled <= 1.5 * clean, (clean, throttled)


@pytest.mark.asyncio
async def test_a_throttle_storm_longer_than_the_retry_policy_loses_no_job():
    """Throttles far past max_attempts and max_elapsed are ridden out by the fleet."""
    policy = sw.RetryPolicy(max_attempts=2, max_elapsed=5.0, max_delay=4.0)
    with anyio.fail_after(60):
        async with (
            FakeSageMaker(clock=ManualClock()) as fake,
            fake.client() as client,
            sw.FleetWatcher(
                client=client, clock=fake.clock, retry=policy, sweep_interval=None
            ) as fleet,
        ):
            fake.add_job("job", plain(training=600))
            fake.inject(Fault.throttle(operation="DescribeTrainingJob", times=60))
            fleet.add("job")
            items = [item async for item in fleet]
            stats = fleet.statistics()
    assert isinstance(items[-1], sw.JobCompleted)
    assert (0, 1) == (stats.lost, stats.finished)
    assert 60 == stats.throttles["DescribeTrainingJob"]
    assert _history(fake, "job") == [
        str(e.status) for e in items if isinstance(e, sw.StatusEntered)
    ]


@pytest.mark.asyncio
async def test_unseen_max_elapsed_loses_a_job_never_seen_but_not_one_seen_once():
    """An unreachable job is lost within unseen_max_elapsed; a seen one rides out."""
    policy = sw.RetryPolicy(
        max_attempts=None, max_elapsed=600.0, unseen_max_elapsed=20.0, max_delay=4.0
    )
    outage = 60.0
    with anyio.fail_after(60):
        async with (
            FakeSageMaker(clock=ManualClock()) as fake,
            fake.client() as client,
            sw.FleetWatcher(
                client=client, clock=fake.clock, retry=policy, sweep_interval=None
            ) as fleet,
        ):

            async def outage_of_seen():
                fake.inject(Fault.server_error(job_name="seen"))
                await fake.clock.sleep(outage)
                fake.clear_faults()

            for name in ("never", "seen"):
                fake.add_job(name, plain(training=600))
            fake.inject(Fault.server_error(job_name="never"))
            fleet.add("never")
            fleet.add("seen")
            by_job = collections.defaultdict(list)
            async with anyio.create_task_group() as tg:
                async for item in fleet:
                    by_job[item.job_name].append((fake.clock.monotonic(), item))
                    if item.job_name == "seen" and isinstance(item, sw.JobObserved):
                        tg.start_soon(outage_of_seen)
    ((lost_at, lost),) = by_job["never"]
    assert isinstance(lost, sw.JobLost)
    assert isinstance(lost.error, sw.RetriesExhausted)
    assert 20.0 <= lost_at <= 20.0 + 2 * policy.max_delay
    seen = [item for _, item in by_job["seen"]]
    assert isinstance(seen[-1], sw.JobCompleted)
    assert not [item for item in seen if isinstance(item, sw.JobLost)]
    assert _history(fake, "seen") == [
        str(e.status) for e in seen if isinstance(e, sw.StatusEntered)
    ]
