"""FleetWatcher with push hints, over real HTTP: the fake's SageMaker and SQS queue."""

from __future__ import annotations

import collections
import functools

import anyio
import pytest
import pytest_asyncio
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch.testing import (
    TIMELINES,
    FakeSageMaker,
    Fault,
    ManualClock,
    Phase,
    Timeline,
    plain,
)

#: Every ready-made lifecycle, shortened where it would only add idle hours.
LIFECYCLES = {
    name: factory() for name, factory in TIMELINES.items() if name != "plain"
} | {"plain": plain(training=900)}


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A fake on a hand-driven clock, publishing events into queue "events"."""
    async with FakeSageMaker(
        clock=ManualClock(), quotas={}, events_queue="events", seed=5
    ) as fake:
        yield fake


@pytest_asyncio.fixture(name="clients")
async def _clients(fake):
    """A SageMaker client and an SQS client for the fake."""
    async with fake.client() as sagemaker, fake.sqs_client() as sqs:
        yield sagemaker, sqs


def add_jobs(fake, count):
    """Create *count* jobs cycling through the lifecycles; return their names."""
    names = []
    for i, lifecycle in zip(range(count), sorted(LIFECYCLES) * count, strict=False):
        name = f"job-{i:03d}"
        fake.add_job(name, LIFECYCLES[lifecycle])
        names.append(name)
    return names


async def run_fleet(fake, sagemaker, names, *, hints=None, samples=None, **options):
    """Watch *names* on one fleet to the end; return events per job and statistics."""
    options = {"max_in_flight": 1, "seed": 7, "sweep_interval": None} | options
    by_job = collections.defaultdict(list)
    async with sw.FleetWatcher(
        client=sagemaker, clock=fake.clock, hints=hints, **options
    ) as fleet:
        for name in names:
            fleet.add(name)
        async for event in fleet:
            by_job[event.job_name].append((event, fake.clock.now()))
            if samples is not None:
                samples.append(fleet.statistics())
        return by_job, fleet.statistics()


def assert_every_change_once(fake, by_job):
    """Each job's statuses entered are its history, once, and it ended once."""
    for name, items in by_job.items():
        events = [event for event, _ in items]
        history = [
            t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]
        ]
        assert history == [
            str(e.status) for e in events if isinstance(e, sw.StatusEntered)
        ], name
        assert 1 == sum(isinstance(e, sw.JobEnded) for e in events), name
        assert len(events) == len({e.resume_token for e in events}), name


@pytest.mark.asyncio
async def test_hints_cut_describes_and_bring_changes_at_once(fake, clients):
    """Per-job schedules against hints, on the same lifecycles at the same time."""
    sagemaker, sqs = clients
    names = add_jobs(fake, 9)
    polled = [f"polled-{name}" for name in names]
    for i, copy in enumerate(polled):
        fake.add_job(copy, LIFECYCLES[sorted(LIFECYCLES)[i % len(LIFECYCLES)]])
    hints = sw.SqsHints(fake.queue_url("events"), client=sqs)
    runs = {}

    async def run(key, jobs, **options):
        runs[key] = await run_fleet(fake, sagemaker, jobs, **options)

    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(run, "hinted", names, hints=hints))
        tg.start_soon(run, "polled", polled)
    by_job, statistics = runs["hinted"]
    assert_every_change_once(fake, by_job)
    assert_every_change_once(fake, runs["polled"][0])
    for name, items in by_job.items():
        transitions = fake.describe_job(name)["SecondaryStatusTransitions"]
        entered = [(e, seen) for e, seen in items if isinstance(e, sw.StatusEntered)]
        for (_, seen), transition in list(zip(entered, transitions, strict=True))[1:]:
            assert seen.timestamp() - transition["StartTime"] <= 1.0, name
    assert statistics.hints.flowing
    assert 0 == statistics.hints.missed
    assert statistics.hints.unwatched > 0  # the polled jobs' events
    hinted = sum(fake.request_count("DescribeTrainingJob", n) for n in names)
    per_job = sum(fake.request_count("DescribeTrainingJob", n) for n in polled)
    assert hinted * 3 < per_job


@pytest.mark.asyncio
async def test_a_failing_queue_falls_back_to_schedules_and_back(fake, clients):
    """Receives failing: per-job schedules, logged once; a success: hints again."""
    sagemaker, sqs = clients
    names = add_jobs(fake, 5)
    hints = sw.SqsHints(fake.queue_url("events"), client=sqs)
    by_job = collections.defaultdict(list)
    armed = False
    with capture_logs() as logs:
        async with sw.FleetWatcher(
            client=sagemaker, clock=fake.clock, hints=hints, sweep_interval=None
        ) as fleet:
            for name in names:
                fleet.add(name)
            async for event in fleet:
                by_job[event.job_name].append((event, None))
                if not armed and fleet.statistics().hints.flowing:
                    armed = True
                    fake.inject(
                        Fault.sqs_server_error(500, operation="ReceiveMessage", times=6)
                    )
            statistics = fleet.statistics()
    assert_every_change_once(fake, by_job)
    changes = [e.get("reason", "flowing") for e in logs if "hints_f" in e["event"]]
    assert ["flowing", "queue_failed", "flowing"] == changes
    assert (1, 6, True) == (
        statistics.hints.fallbacks,
        statistics.hints.errors,
        statistics.hints.flowing,
    )


@pytest.mark.asyncio
async def test_receives_failing_from_the_start_poll_until_one_succeeds(fake, clients):
    """A queue failing at once: schedules from the start, then hints (no fallback)."""
    sagemaker, sqs = clients
    names = add_jobs(fake, 3)
    fake.inject(Fault.sqs_throttle(operation="ReceiveMessage", times=3))
    hints = sw.SqsHints(fake.queue_url("events"), client=sqs)
    with capture_logs() as logs:
        by_job, statistics = await run_fleet(fake, sagemaker, names, hints=hints)
    assert_every_change_once(fake, by_job)
    states = [e.get("reason", "flowing") for e in logs if "hints_f" in e["event"]]
    assert ["queue_failed", "flowing"] == states
    throttled = [e for e in logs if "hints_receive_failed" in e["event"]]
    assert {"debug"} == {e["log_level"] for e in throttled}  # a throttle is no news
    assert (0, 3) == (statistics.hints.fallbacks, statistics.hints.throttles)


@pytest.mark.asyncio
async def test_staleness_counts_a_drained_queue_as_a_look(fake, clients):
    """While hints flow, knowledge is as fresh as the last drained receive."""
    sagemaker, sqs = clients
    names = add_jobs(fake, 6)
    hints = sw.SqsHints(fake.queue_url("events"), client=sqs, ceiling=3600.0)
    samples = []
    async with sw.FleetWatcher(
        client=sagemaker, clock=fake.clock, hints=hints, sweep_interval=None
    ) as fleet:
        for name in names:
            fleet.add(name)
        while fleet.statistics().watching:
            await fake.clock.sleep(7.0)
            samples.append(fleet.statistics())
    flowing = [s for s in samples if s.hints.flowing and s.watching]
    assert len(flowing) > 100
    # A receive long-polls 20 s and comes back drained; then 2 s of pace.
    assert max(s.staleness_p95 for s in flowing) <= 22.0 + 1e-6


@pytest.mark.asyncio
async def test_hints_about_a_removed_job_are_not_offered(fake, clients):
    """Once removed, a job's hints are counted as unwatched and deleted."""
    sagemaker, sqs = clients
    fake.add_job("kept", LIFECYCLES["plain"])
    fake.add_job("removed", LIFECYCLES["plain"])
    hints = sw.SqsHints(fake.queue_url("events"), client=sqs)
    async with sw.FleetWatcher(
        client=sagemaker, clock=fake.clock, hints=hints, sweep_interval=None
    ) as fleet:
        fleet.add("kept")
        fleet.add("removed")
        await fleet.wait_for_status("removed", "Downloading")
        fleet.remove("removed")
        await fleet.wait_until_complete("kept")
        statistics = fleet.statistics().hints
    assert statistics.unwatched >= 3  # Training, Uploading, Completed of "removed"
    assert 0 == statistics.missed


@pytest.mark.asyncio
async def test_the_fleet_opens_its_own_sqs_client(fake, monkeypatch):
    """SqsHints without a client: the fleet opens one for the queue URL."""
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    fake.add_job("job", LIFECYCLES["plain"])
    hints = sw.SqsHints(fake.queue_url("events"))
    async with sw.FleetWatcher(clock=fake.clock, hints=hints) as fleet:
        fleet.add("job")
        snapshot = await fleet.wait_until_complete("job")
        assert fleet.statistics().hints.hints > 0
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status


@pytest.mark.asyncio
async def test_a_queue_url_that_cannot_work_fails_entering_cleanly(fake, clients):
    """A queue URL that is not http(s): a typed error on entering, nothing left open."""
    sagemaker, _ = clients
    hints = sw.SqsHints("ftp://example.invalid/queue")
    with pytest.raises(sw.InvalidEndpoint):
        async with sw.FleetWatcher(client=sagemaker, clock=fake.clock, hints=hints):
            pass
    assert 0 == fake.request_count()


@pytest.mark.asyncio
async def test_without_hints_the_statistics_say_none(fake, clients):
    """A fleet without hints has no hint statistics."""
    sagemaker, _ = clients
    async with sw.FleetWatcher(client=sagemaker, clock=fake.clock) as fleet:
        assert fleet.statistics().hints is None


@pytest.mark.asyncio
async def test_with_sweeps_and_hints_the_longer_safety_recheck_applies(fake, clients):
    """Two sources of changes: a job is re-checked at the longer of their intervals."""
    sagemaker, sqs = clients
    names = [f"long-{i}" for i in range(2)]
    for name in names:
        fake.add_job(name, plain(training=3600))
    hints = sw.SqsHints(fake.queue_url("events"), client=sqs, ceiling=120.0)
    by_job, statistics = await run_fleet(
        fake,
        sagemaker,
        names,
        hints=hints,
        sweep_interval=5.0,
        list_min_jobs=1,
        recheck_interval=1800.0,
    )
    assert_every_change_once(fake, by_job)
    assert statistics.hints.flowing
    for name in names:
        # About 1 h / (1800 s x 3/4) re-checks and one describe per change; at
        # the hints' 120 s it would be about 40.
        assert fake.request_count("DescribeTrainingJob", name) <= 12, name


@pytest.mark.asyncio
async def test_while_hints_flow_a_new_status_message_alone_costs_no_describe(
    fake, clients
):
    """The list shows each new message; only statuses (which events announce) call.

    An hour of Training whose message changes every 300 s: a sweep that sees
    only a later time with the same statuses leaves the job to its safety
    re-check, where it used to describe it at once, 11 times in the hour.
    """
    sagemaker, sqs = clients
    chatty = Timeline(
        name="chatty",
        phases=(
            Phase(status="Starting", duration=60),
            Phase(status="Downloading", duration=60),
            Phase(
                status="Training",
                duration=3600,
                messages=tuple(f"Epoch {i} of 12" for i in range(1, 13)),
            ),
            Phase(status="Uploading", duration=30),
        ),
    )
    names = [f"chatty-{i}" for i in range(2)]
    for name in names:
        fake.add_job(name, chatty)
    hints = sw.SqsHints(fake.queue_url("events"), client=sqs)
    by_job, statistics = await run_fleet(
        fake,
        sagemaker,
        names,
        hints=hints,
        sweep_interval=5.0,
        list_min_jobs=1,
        recheck_interval=1800.0,
    )
    assert_every_change_once(fake, by_job)
    assert statistics.hints.flowing
    for name in names:
        transitions = len(fake.describe_job(name)["SecondaryStatusTransitions"])
        # A first look, one per change, and the hour's re-checks (1800-3600 s).
        assert fake.request_count("DescribeTrainingJob", name) <= (
            1 + transitions + 2
        ), name


@pytest.mark.asyncio
async def test_hinted_describes_count_describes_sent(fake, clients):
    """hinted_describes counts requests sent because of hints, never more."""
    sagemaker, sqs = clients
    names = add_jobs(fake, 9)
    fake.inject(Fault.duplicate_event(probability=0.5))
    hints = sw.SqsHints(fake.queue_url("events"), client=sqs, window=0.0)
    # A describe budget so small that hinted jobs wait for it, while hints
    # about them keep coming: each is still one describe.
    _, statistics = await run_fleet(
        fake, sagemaker, names, hints=hints, describe_rate=0.05
    )
    sent = fake.request_count("DescribeTrainingJob")
    assert 0 < statistics.hints.hinted_describes <= sent
