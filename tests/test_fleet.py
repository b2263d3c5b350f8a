"""Tests for FleetWatcher: many jobs over real HTTP against the fake, simulated time."""

from __future__ import annotations

import asyncio
import collections

import anyio
import pytest
import pytest_asyncio
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch._drivers.fleet import FleetWatcher, JobLost, JobRemoved
from sagemaker_watch.testing import (
    TIMELINES,
    FakeSageMaker,
    Fault,
    ScaledClock,
    plain,
)

#: Every ready-made lifecycle, shortened where it would only add idle hours.
LIFECYCLES = {
    name: factory() for name, factory in TIMELINES.items() if name != "plain"
} | {"plain": plain(training=900)}


def deterministic(**options):
    """Fleet options for a hand-driven clock: one request at a time."""
    return {"max_in_flight": 1, "seed": 7, **options}


ALL = tuple(sorted(LIFECYCLES))


def add_jobs(fake, count, lifecycles=ALL):
    """Create *count* jobs cycling through *lifecycles*; return their names."""
    names = []
    for i in range(count):
        name = f"job-{i:03d}"
        fake.add_job(name, LIFECYCLES[lifecycles[i % len(lifecycles)]])
        names.append(name)
    return names


async def drain(fleet, *, watch_stats=None):
    """Collect the fleet's stream per job; optionally sample statistics per item."""
    by_job = collections.defaultdict(list)
    async for item in fleet:
        by_job[item.job_name].append(item)
        if watch_stats is not None:
            watch_stats.append(fleet.statistics())
    return by_job


def assert_like_watch(fake, name, items):
    """The job's items hold its whole history once, in order, and one end last."""
    history = [
        t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]
    ]
    entered = [str(e.status) for e in items if isinstance(e, sw.StatusEntered)]
    ends = [e for e in items if isinstance(e, sw.JobEnded)]
    assert history == entered
    assert isinstance(items[0], sw.JobObserved)
    assert 1 == len(ends)
    assert ends[0] is items[-1]
    assert [e.at for e in items] == sorted(e.at for e in items)


@pytest_asyncio.fixture(name="sim")
async def _sim(fake_sagemaker):
    """The fake SageMaker (hand-driven clock) with a client for it."""
    async with fake_sagemaker.client() as client:
        yield fake_sagemaker, client


@pytest.mark.asyncio
@pytest.mark.parametrize("sweep_interval", [5.0, None], ids=["listing", "per-job"])
async def test_each_job_gets_exactly_the_events_watch_would_give(sim, sweep_interval):
    """Every job's transitions arrive once, in order, then one terminal event."""
    fake, client = sim
    names = add_jobs(fake, 2 * len(ALL))
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic(sweep_interval=sweep_interval)
    ) as fleet:
        for name in names:
            fleet.add(name)
        by_job = await drain(fleet)
        stats = fleet.statistics()
    assert set(names) == set(by_job)
    for name in names:
        assert_like_watch(fake, name, by_job[name])
    assert len(names) == stats.finished
    assert 0 == stats.lost


@pytest.mark.asyncio
async def test_the_fleet_and_watch_agree_event_for_event_on_transitions(sim):
    """For one job, the fleet's StatusEntered and end events equal watch()'s."""
    fake, client = sim
    fake.add_job("solo", LIFECYCLES["spot_interrupted_once"])
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        fleet.add("solo")
        fleet_events = (await drain(fleet))["solo"]
    watched = [e async for e in sw.watch("solo", client=client, clock=fake.clock)]

    def key(events):
        return [
            (type(e).__name__, getattr(e, "status", None))
            for e in events
            if isinstance(e, sw.StatusEntered | sw.JobEnded)
        ]

    assert key(watched) == key(fleet_events)


@pytest.mark.asyncio
async def test_listing_makes_cost_grow_with_changes_not_with_polls(sim):
    """While listing, describes per job stay near its number of changes."""
    fake, client = sim
    names = add_jobs(fake, 30, ("plain",))
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        for name in names:
            fleet.add(name)
        await drain(fleet)
        stats = fleet.statistics()
    # plain: 7 changes of status or message, plus a first look and a re-check.
    describes = fake.request_count("DescribeTrainingJob")
    assert describes <= 30 * 10
    assert stats.sweeps >= 1
    per_job = FleetWatcher(client=client, clock=fake.clock, sweep_interval=None)
    assert per_job.statistics().calls == {}


@pytest.mark.asyncio
async def test_budgets_are_never_exceeded_as_the_fake_counts(sim):
    """With the fake enforcing exactly our budget, it never has to throttle us."""
    fake, client = sim
    fake.set_quota("DescribeTrainingJob", per_second=2.0, burst=1.0)
    fake.set_quota("ListTrainingJobs", per_second=0.5, burst=1.0)
    names = add_jobs(fake, 24)
    async with FleetWatcher(
        client=client,
        clock=fake.clock,
        **deterministic(describe_rate=2.0, list_rate=0.5),
    ) as fleet:
        for name in names:
            fleet.add(name)
        by_job = await drain(fleet)
    assert {} == dict(fake.statistics().throttled)
    for name in names:
        assert_like_watch(fake, name, by_job[name])


@pytest.mark.asyncio
async def test_no_job_starves_under_a_tight_budget(sim):
    """With more demand than budget, the most overdue goes first: none waits long."""
    fake, client = sim
    names = add_jobs(fake, 40, ("plain", "failure", "max_runtime"))
    samples = []
    async with FleetWatcher(
        client=client,
        clock=fake.clock,
        **deterministic(describe_rate=0.5, sweep_interval=None),
    ) as fleet:
        for name in names:
            fleet.add(name)
        by_job = await drain(fleet, watch_stats=samples)
    # 40 jobs at 0.5 describe/s: each is polled at least every 80 s, plus its delay.
    assert max(s.staleness_max for s in samples) <= 40 / 0.5 + 60 + 5
    for name in names:
        assert_like_watch(fake, name, by_job[name])


def edit_pages(fleet, edit):
    """Pass every list page's summaries through *edit* (a list that lies)."""
    listed = fleet._source.list_changed

    async def edited(**kwargs):
        page = await listed(**kwargs)
        if isinstance(page, sw._io.source.ListPage):
            page = sw._io.source.ListPage(
                summaries=tuple(edit(page.summaries)), next_token=page.next_token
            )
        return page

    fleet._source.list_changed = edited


def blind_to_job_000(summaries):
    """The list never shows job-000."""
    return (s for s in summaries if s.job_name != "job-000")


def frozen_job_000():
    """The list shows job-000 as it first saw it, forever."""
    first = {}
    return lambda summaries: (
        first.setdefault(s.job_name, s) if s.job_name == "job-000" else s
        for s in summaries
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "lie", [lambda: blind_to_job_000, frozen_job_000], ids=["omitted", "frozen"]
)
async def test_a_change_the_list_misses_is_caught_by_the_safety_recheck(sim, lie):
    """A job the list never reports, or shows stuck on an old state, is seen to its end.

    The re-checks catch it: a census that omits a job does not vouch for it,
    and one showing it frozen vouches for four intervals of silence at most.
    """
    fake, client = sim
    names = add_jobs(fake, 12, ("plain",))
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic(recheck_interval=300)
    ) as fleet:
        edit_pages(fleet, lie())
        for name in names:
            fleet.add(name)
        by_job = await drain(fleet)
    for name in names:
        assert_like_watch(fake, name, by_job[name])
    assert fake.request_count("DescribeTrainingJob", "job-000") <= 2100 / 300 + 2


@pytest.mark.asyncio
async def test_a_census_vouching_for_a_job_stands_in_for_its_safety_rechecks(sim):
    """A sweep that lists every watched job unchanged saves their re-checks.

    Twelve jobs train for an hour: without the census each would be re-checked
    every 150-300 s (about 16 times); with it, only the backstop remains (at
    most every four intervals, 600-1200 s, of silence).
    """
    fake, client = sim
    names = [f"long-{i:02d}" for i in range(12)]
    for name in names:
        fake.add_job(name, plain(training=3600))
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic(recheck_interval=300)
    ) as fleet:
        for name in names:
            fleet.add(name)
        by_job = await drain(fleet)
        stats = fleet.statistics()
    for name in names:
        assert_like_watch(fake, name, by_job[name])
        transitions = len(fake.describe_job(name)["SecondaryStatusTransitions"])
        # A first look, one describe per change, and at most one backstop per
        # 600 s of the hour's silence (and one for a change seen late).
        assert fake.request_count("DescribeTrainingJob", name) <= (
            1 + transitions + 3600 // 600 + 1
        )
    assert stats.censuses >= 3600 // 300


@pytest.mark.asyncio
async def test_throttling_storms_never_surface(sim):
    """Random throttling of both operations is ridden out: every job ends normally."""
    fake, client = sim
    fake.inject(
        Fault.throttle(operation="DescribeTrainingJob", probability=0.3),
        Fault.throttle(operation="ListTrainingJobs", probability=0.5),
    )
    names = add_jobs(fake, 15)
    with capture_logs() as logs:
        async with FleetWatcher(
            client=client, clock=fake.clock, **deterministic()
        ) as fleet:
            for name in names:
                fleet.add(name)
            by_job = await drain(fleet)
            stats = fleet.statistics()
    assert 0 == stats.lost
    assert not [log for log in logs if log["event"] == "sagemaker_watch.fleet_job_lost"]
    for name in names:
        assert_like_watch(fake, name, by_job[name])
    throttled = fake.statistics().throttled
    assert throttled["DescribeTrainingJob"] == stats.throttles["DescribeTrainingJob"]
    assert throttled["ListTrainingJobs"] == stats.throttles["ListTrainingJobs"]


@pytest.mark.asyncio
async def test_throttles_shrink_the_budget(sim):
    """A throttle halves the describe rate the fleet allows itself."""
    fake, client = sim
    fake.inject(Fault.throttle(operation="DescribeTrainingJob", times=1))
    fake.add_job("one", "plain")
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        fleet.add("one")
        async for _ in fleet:
            if fleet.statistics().throttles.get("DescribeTrainingJob", 0):
                break
        rate = fleet.statistics().rates["DescribeTrainingJob"]
    # Halved to 5/s, then climbing back by about 0.16/s per clean second.
    assert 5.0 <= rate < 6.0


@pytest.mark.asyncio
async def test_statistics_match_what_the_fake_received(sim):
    """Calls per operation, statuses and staleness agree with the fake's view."""
    fake, client = sim
    names = add_jobs(fake, 12, ("plain", "failure", "user_stop"))
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        for name in names:
            fleet.add(name)
        fleet.add("never-created")
        assert {"Unobserved": 13} == dict(fleet.statistics().jobs_by_status)
        await drain(fleet)
        stats = fleet.statistics()
    assert {"Completed": 4, "Failed": 4, "Stopped": 4, "Lost": 1} == dict(
        stats.jobs_by_status
    )
    assert dict(fake.statistics().requests) == dict(stats.calls)
    assert (0, 12, 1) == (stats.watching, stats.finished, stats.lost)
    assert (0.0, 0.0, 0.0) == (
        stats.staleness_p50,
        stats.staleness_p95,
        stats.staleness_max,
    )


@pytest.mark.asyncio
async def test_staleness_is_time_since_each_jobs_last_observation(sim):
    """Staleness percentiles are now minus each job's last observation."""
    fake, client = sim
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic(sweep_interval=None)
    ) as fleet:
        fake.add_job("b", "plain")
        fleet.add("b")
        async for event in fleet:
            if isinstance(event, sw.StatusEntered):
                break
        fake.advance(42)
        stats = fleet.statistics()
        observed = fleet.snapshot("b").observed_at
    assert (fake.clock.now() - observed).total_seconds() == pytest.approx(
        stats.staleness_max
    )
    assert stats.staleness_max >= 42
    assert stats.staleness_p50 == stats.staleness_max


@pytest.mark.asyncio
async def test_add_and_remove_while_running(sim):
    """Jobs added mid-stream are watched; a removed job is polled no more."""
    fake, client = sim
    names = add_jobs(fake, 3, ("plain",))
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic(sweep_interval=None)
    ) as fleet:
        fleet.add(names[0])
        fleet.add(names[1])
        seen = collections.defaultdict(list)
        async for event in fleet:
            seen[event.job_name].append(event)
            if isinstance(event, sw.StatusEntered) and event.status == "Training":
                if names[2] not in fleet and names[2] not in seen:
                    fleet.add(names[2])
                if event.job_name == names[1]:
                    fleet.remove(names[1])
                    removed_at = fake.request_count(job_name=names[1])
        assert names[1] not in fleet
    assert removed_at == fake.request_count(job_name=names[1])
    assert_like_watch(fake, names[0], seen[names[0]])
    assert_like_watch(fake, names[2], seen[names[2]])
    assert not any(isinstance(e, sw.JobEnded) for e in seen[names[1]])


@pytest.mark.asyncio
async def test_removal_wakes_a_waiter_with_job_removed(sim):
    """A waiter on a job that is removed raises JobRemoved."""
    fake, client = sim
    fake.add_job("going", "plain")
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        fleet.add("going")
        async with anyio.create_task_group() as tg:

            async def remove_soon():
                await anyio.sleep(0.01)
                fleet.remove("going")

            tg.start_soon(remove_soon)
            with pytest.raises(JobRemoved):
                await fleet.wait_until_terminal("going")
    fleet.remove("unknown-is-fine")


@pytest.mark.asyncio
async def test_waiters_return_the_final_snapshot_or_raise_like_the_module_waiters(sim):
    """wait_until_complete returns a Completed snapshot and raises for a failure."""
    fake, client = sim
    fake.add_job("good", "plain")
    fake.add_job("bad", "failure")
    fake.add_job("halted", "user_stop")
    async with FleetWatcher(
        client=client, clock=fake.clock, stream=False, **deterministic()
    ) as fleet:
        snapshot = await fleet.wait_until_complete("good")
        with pytest.raises(sw.TrainingJobFailed) as failed:
            await fleet.wait_until_complete("bad")
        with pytest.raises(sw.TrainingJobStopped):
            await fleet.wait_until_complete("halted")
        again = await fleet.wait_until_terminal("good")
    assert "Completed" == snapshot.primary_status
    assert snapshot is again
    assert fake.describe_job("bad")["FailureReason"] == failed.value.failure_reason


@pytest.mark.asyncio
async def test_waiter_timeout_raises_with_the_last_snapshot(sim):
    """A timeout on the fleet's clock raises WaitTimeout with the last snapshot."""
    fake, client = sim
    fake.add_job("slow", "plain")
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        with pytest.raises(sw.WaitTimeout) as timed_out:
            await fleet.wait_until_terminal("slow", timeout=300)
        assert "Training" == timed_out.value.snapshot.secondary_status
        assert fleet.snapshot("slow") is timed_out.value.snapshot
        with pytest.raises(ValueError, match="timeout"):
            await fleet.wait_until_terminal("slow", timeout=-1)


@pytest.mark.asyncio
async def test_wait_for_status_resolves_like_the_module_waiter(sim):
    """The fleet's wait_for_status returns where the status was first seen or raises."""
    fake, client = sim
    fake.add_job("good", "plain")
    fake.add_job("bad", "failure")
    async with FleetWatcher(
        client=client, clock=fake.clock, stream=False, **deterministic()
    ) as fleet:
        training = await fleet.wait_for_status("good", "Training", timeout=3600)
        current = fleet.snapshot("good")
        again = await fleet.wait_for_status("good", [sw.SecondaryStatus.STARTING])
        with pytest.raises(sw.TrainingJobFailed):
            await fleet.wait_for_status("bad", "Uploading")
        done = await fleet.wait_until_terminal("good")
        with pytest.raises(sw.StatusNotReached):
            await fleet.wait_for_status("good", "Interrupted")
        with pytest.raises(ValueError, match="at least one status"):
            await fleet.wait_for_status("good", [])
    assert "Training" == training.secondary_status
    assert "Training" == training.transitions[-1].status
    assert current is again
    assert "Completed" == done.primary_status


@pytest.mark.asyncio
async def test_wait_for_status_times_out_with_the_last_snapshot(sim):
    """A status not reached in time raises WaitTimeout carrying the last snapshot."""
    fake, client = sim
    fake.add_job("slow", "plain")
    async with FleetWatcher(
        client=client, clock=fake.clock, stream=False, **deterministic()
    ) as fleet:
        with pytest.raises(sw.WaitTimeout) as timed_out:
            await fleet.wait_for_status("slow", "Uploading", timeout=300)
    assert "Training" == timed_out.value.snapshot.secondary_status


@pytest.mark.asyncio
async def test_job_lost_carries_the_token_of_the_last_reported_event(sim):
    """A replaced job's JobLost is an Event whose resume_token is the last one sent."""
    fake, client = sim
    fake.add_job("reborn", "plain")
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic(sweep_interval=None)
    ) as fleet:
        fleet.add("reborn")
        fleet.add("ghost")
        items = collections.defaultdict(list)
        async for item in fleet:
            items[item.job_name].append(item)
            if item.job_name == "reborn" and isinstance(item, sw.JobObserved):
                fake.delete_job("reborn")
                fake.advance(5)
                fake.add_job("reborn", "plain")
    reborn, ghost = items["reborn"], items["ghost"]
    assert isinstance(reborn[-1], sw.Event)
    assert reborn[-2].resume_token == reborn[-1].to_json()["resume_token"]
    assert [None] == [item.to_json()["resume_token"] for item in ghost]
    assert ghost[-1].snapshot is None


@pytest.mark.asyncio
async def test_per_job_errors_are_job_lost_items_and_the_fleet_goes_on(sim):
    """Not found, replaced and access denied each lose one job; the others finish."""
    fake, client = sim
    fake.add_job("fine", "plain")
    fake.add_job("denied", "plain")
    fake.add_job("reborn", "plain")
    fake.inject(
        Fault.error(
            "AccessDeniedException",
            "User is not authorized",
            operation="DescribeTrainingJob",
            job_name="denied",
        )
    )
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic(sweep_interval=None)
    ) as fleet:
        for name in ("fine", "denied", "reborn", "ghost"):
            fleet.add(name)
        by_job = collections.defaultdict(list)
        async for item in fleet:
            by_job[item.job_name].append(item)
            if item.job_name == "reborn" and isinstance(item, sw.JobObserved):
                fake.delete_job("reborn")
                fake.advance(5)
                fake.add_job("reborn", "plain")
        with pytest.raises(sw.TrainingJobNotFound):
            await fleet.wait_until_terminal("ghost")
        with pytest.raises(sw.ServiceError):
            await fleet.wait_until_terminal("denied")
    lost = {name: items[-1] for name, items in by_job.items() if name != "fine"}
    assert {"denied", "reborn", "ghost"} == set(lost)
    assert all(isinstance(item, JobLost) for item in lost.values())
    assert isinstance(lost["reborn"].error, sw.JobReplaced)
    assert isinstance(lost["ghost"].error, sw.TrainingJobNotFound)
    assert "AccessDeniedException" == lost["denied"].error.code
    assert "job_lost" == lost["ghost"].to_json()["event"]
    assert_like_watch(fake, "fine", by_job["fine"])


@pytest.mark.asyncio
async def test_forbidden_listing_falls_back_to_per_job_schedules(sim):
    """Without permission to list, the fleet polls each job on its own schedule."""
    fake, client = sim
    fake.inject(
        Fault.error(
            "AccessDeniedException", "not authorized", operation="ListTrainingJobs"
        )
    )
    names = add_jobs(fake, 12, ("plain",))
    with capture_logs() as logs:
        async with FleetWatcher(
            client=client, clock=fake.clock, **deterministic()
        ) as fleet:
            for name in names:
                fleet.add(name)
            by_job = await drain(fleet)
            stats = fleet.statistics()
    assert 1 == fake.request_count("ListTrainingJobs")
    assert not stats.listing
    assert ["sagemaker_watch.fleet_list_unavailable"] == [
        log["event"] for log in logs if "list" in log["event"]
    ]
    for name in names:
        assert_like_watch(fake, name, by_job[name])


@pytest.mark.asyncio
async def test_transient_list_errors_fall_back_then_listing_resumes(sim):
    """5xx answers to a sweep switch to per-job schedules until a sweep succeeds."""
    fake, client = sim
    fake.inject(Fault.server_error(operation="ListTrainingJobs", times=3))
    names = add_jobs(fake, 12, ("plain",))
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        for name in names:
            fleet.add(name)
        modes = []
        async for _ in fleet:
            modes.append(fleet.statistics().listing)
            if fleet.statistics().sweeps >= 2:
                break
    assert 3 == fleet.statistics().errors["ListTrainingJobs"]
    assert False in modes
    assert modes[-1]


@pytest.mark.asyncio
async def test_concurrent_requests_on_compressed_time():
    """With several requests in flight on a fast scaled clock, every job is right."""
    async with FakeSageMaker(clock=ScaledClock(speed=2000)) as fake:
        names = add_jobs(fake, 20, ("plain", "failure", "retry_restart"))
        async with (
            fake.client() as client,
            FleetWatcher(client=client, clock=fake.clock, max_in_flight=8) as fleet,
        ):
            for name in names:
                fleet.add(name)
            by_job = await drain(fleet)
        for name in names:
            assert_like_watch(fake, name, by_job[name])


@pytest.mark.asyncio
async def test_owned_client_is_closed_and_caller_client_left_open(
    fake_sagemaker, monkeypatch
):
    """A fleet closes a client it made; a caller's client stays usable."""
    fake = fake_sagemaker
    fake.add_job("mine", "plain")
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    async with FleetWatcher(clock=fake.clock, **deterministic()) as fleet:
        await fleet.wait_until_terminal("mine")
        assert 1 == len(fake._runner.server.connections)
    for _ in range(5):
        await anyio.sleep(0.01)
    assert 0 == len(fake._runner.server.connections)
    async with fake.client() as client:
        async with FleetWatcher(client=client, clock=fake.clock, **deterministic()):
            pass
        response = await client.describe_training_job(TrainingJobName="mine")
    assert "Completed" == response["TrainingJobStatus"]


@pytest.mark.asyncio
async def test_reentering_and_using_a_closed_fleet_raise(sim):
    """A fleet is entered once; after exit, add, events and waiters raise UsageError."""
    fake, client = sim
    fleet = FleetWatcher(client=client, clock=fake.clock)
    with pytest.raises(sw.UsageError):
        fleet.events()
    async with fleet:
        with pytest.raises(sw.UsageError):
            await fleet.__aenter__()
    with pytest.raises(sw.UsageError):
        fleet.add("late")
    with pytest.raises(sw.UsageError):
        await fleet.wait_until_terminal("late")
    assert "closed" in repr(fleet)


@pytest.mark.asyncio
async def test_exit_cancels_work_in_flight_and_wakes_waiters(sim):
    """Leaving the block mid-poll cancels the scheduler; a waiter learns it closed."""
    fake, client = sim
    fake.add_job("long", "plain")
    fake.inject(Fault.slow(0.2, operation="DescribeTrainingJob"))
    outcome = []
    fleet = FleetWatcher(client=client, clock=fake.clock)

    async def wait():
        try:
            await fleet.wait_until_terminal("long")
        except RuntimeError as error:
            outcome.append(str(error))

    async with anyio.create_task_group() as tg, fleet:
        fleet.add("long")
        tg.start_soon(wait)
        await anyio.sleep(0.05)
    assert ["the FleetWatcher was closed"] == outcome


def test_invalid_names_and_settings_fail_at_once():
    """Bad names, resume tokens and settings are rejected before any request."""
    fleet = FleetWatcher()
    with pytest.raises(sw.InvalidJobName):
        fleet.add("not_valid!")
    with pytest.raises(sw.InvalidResumeToken):
        fleet.add("job", resume="nope")
    with pytest.raises(ValueError, match="max_in_flight"):
        FleetWatcher(max_in_flight=0)
    with pytest.raises(ValueError, match="overlap"):
        FleetWatcher(overlap=-1)


@pytest.mark.asyncio
async def test_resume_emits_only_what_came_after_the_token(sim):
    """A job added with a resume token repeats none of the events before it."""
    fake, client = sim
    fake.add_job("again", "plain")
    first = [e async for e in sw.watch("again", client=client, clock=fake.clock)]
    token = first[3].resume_token
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        fleet.add("again", resume=token)
        resumed = (await drain(fleet))["again"]

    def key(events):
        return [
            (type(e).__name__, getattr(e, "status", None))
            for e in events
            if isinstance(e, sw.StatusEntered | sw.JobEnded)
        ]

    assert key(first[4:]) == key(resumed)
    assert not isinstance(resumed[0], sw.JobObserved)


@pytest.mark.asyncio
async def test_a_resume_token_for_another_job_is_refused_at_once(sim):
    """add() raises InvalidResumeToken for a token from another job, before a call."""
    fake, client = sim
    fake.add_job("job-a", "plain")
    fake.add_job("job-b", "plain")
    first = [e async for e in sw.watch("job-a", client=client, clock=fake.clock)]
    token = first[2].resume_token
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        calls = fake.request_count()
        with pytest.raises(sw.InvalidResumeToken):
            fleet.add("job-b", resume=token)
        assert "job-b" not in fleet
        fleet.add("job-a", resume=token)
        assert "job-a" in fleet
        assert calls == fake.request_count()


@pytest.mark.asyncio
async def test_leaving_right_after_add_closes_cleanly(sim):
    """A fleet left before its scheduler ever ran exits without an error."""
    fake, client = sim
    fake.add_job("quick", "plain")
    async with FleetWatcher(client=client, clock=fake.clock) as fleet:
        fleet.add("quick")
    assert 0 == fake.request_count()


@pytest.mark.asyncio
async def test_sweeps_complete_among_thousands_of_jobs_nobody_watches(sim):
    """A window of 6,000 unwatched finished jobs, paged then filtered, is swept.

    The service pages before it filters: every job created since the oldest
    watched one costs a sweep its share of a page (61 pages here, more than the
    50 a sweep of 3 watched jobs once allowed). Sweeps must still complete,
    the first one cut short at most, and listing go on.
    """
    fake, client = sim
    names = add_jobs(fake, 3, ("plain",))
    quick = plain(starting=1, downloading=1, training=1, uploading=1)
    for i in range(6000):
        fake.add_job(f"other-{i:04d}", quick)
    fake.advance(60)
    async with FleetWatcher(
        client=client, clock=fake.clock, list_min_jobs=1, **deterministic()
    ) as fleet:
        for name in names:
            fleet.add(name)
        async for _ in fleet:
            if fleet.statistics().sweeps >= 2:
                break
        stats = fleet.statistics()
    assert 2 <= stats.sweeps
    assert 1 >= stats.errors.get("ListTrainingJobs", 0)
    assert stats.listing


@pytest.mark.asyncio
async def test_a_wait_from_another_event_loop_is_refused_not_hung(sim):
    """A waiter on another loop (thread) would never be woken: UsageError at once."""
    fake, client = sim
    fake.add_job("j", plain(training=60))
    async with FleetWatcher(
        client=client, clock=fake.clock, **deterministic()
    ) as fleet:
        fleet.add("j")

        async def elsewhere():
            with pytest.raises(sw.UsageError, match="another event loop"):
                await fleet.wait_until_terminal("j")
            with pytest.raises(sw.UsageError, match="another event loop"):
                fleet.events()

        await anyio.to_thread.run_sync(lambda: asyncio.run(elsewhere()))
        snapshot = await fleet.wait_until_terminal("j")
    assert "Completed" == snapshot.primary_status
