"""FleetWatcher(logs=...): every job's log lines in the fleet's stream, on one budget.

Over real HTTP against the fake, on a hand-driven clock: what the fleet hands
out for each job is compared with what the fake says the job's hosts wrote
(``fake.written_lines``), and the requests the fake counted with the budget.
"""

from __future__ import annotations

import collections
import dataclasses

import pytest
import pytest_asyncio
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch.testing import (
    FakeSageMaker,
    Fault,
    LogScript,
    ManualClock,
    failure,
    plain,
    spot_interrupted_once,
)

#: Several hosts, bursts of equal timestamps and equal lines.
HOSTS = LogScript(hosts=2, burst=2, interval=20.0)

#: One job of each kind: plain, failed with a traceback, restarted after a spot.
LIFECYCLES = {
    "plain": lambda: plain(training=600),
    "failure": lambda: failure(training=400),
    "spot": lambda: spot_interrupted_once(training=500, interrupted=300),
}

CANARY = "canary-7d2a-secret-in-a-fleet-log-line"


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A fake on a hand-driven clock."""
    async with FakeSageMaker(clock=ManualClock(), seed=11) as fake:
        yield fake


def add_jobs(fake, script=HOSTS, lifecycles=LIFECYCLES):
    """One job per lifecycle, writing *script*; return their names."""
    for name, make in lifecycles.items():
        fake.add_job(name, dataclasses.replace(make(), logs=script))
    return sorted(lifecycles)


def written(fake, name):
    """What the job's hosts wrote, as (stream, ms, message), sorted."""
    return sorted(
        (line.stream, line.timestamp, line.message) for line in fake.written_lines(name)
    )


def key(line):
    """A LogLine as (stream, ms, message)."""
    return (line.stream, round(line.timestamp.timestamp() * 1000), line.message)


def by_job(items):
    """The stream's items, per job, in stream order."""
    jobs = collections.defaultdict(list)
    for item in items:
        jobs[item.job_name].append(item)
    return jobs


def lines_of(items):
    """The log lines among *items*."""
    return [item for item in items if isinstance(item, sw.LogLine)]


async def run(fake, names, *, settings=None, errors=None, **options):
    """Everything a fleet with logs hands out for *names* (caller-owned clients).

    *errors*, a dict, gets each job's ``logs_error`` at the end.
    """
    async with fake.client() as client, fake.logs_client() as logs_client:
        settings = dataclasses.replace(
            settings or sw.CloudWatchLogs(), client=logs_client
        )
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, seed=3, logs=settings, **options
        ) as fleet:
            for name in names:
                fleet.add(name)
            items = [item async for item in fleet]
            stats = fleet.statistics()
            if errors is not None:
                errors.update((name, fleet.logs_error(name)) for name in names)
    return items, stats


def assert_all_lines_then_the_end(fake, name, items, *, in_order=True):
    """Every line once (in time order), and the job's terminal event after them.

    Under faults a line read later than the reordering window comes late but
    once (``logs()``'s guarantee): *in_order* False checks only once.
    """
    lines = lines_of(items)
    assert written(fake, name) == sorted(map(key, lines))
    if in_order:
        timestamps = [line.timestamp for line in lines]
        assert timestamps == sorted(timestamps)
    assert isinstance(items[-1], sw.JobEnded)
    history = [
        t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]
    ]
    assert history == [str(e.status) for e in items if isinstance(e, sw.StatusEntered)]


@pytest.mark.asyncio
@pytest.mark.parametrize("max_in_flight", [1, 4])
async def test_every_line_of_every_job_once_each_end_after_its_lines(
    fake, max_in_flight
):
    """Plain, failed, restarted jobs in a fleet: each job's lines once, in order."""
    names = add_jobs(fake)
    items, stats = await run(fake, names, max_in_flight=max_in_flight)
    jobs = by_job(items)
    assert set(names) == set(jobs)
    for name in names:
        assert_all_lines_then_the_end(fake, name, jobs[name])
    streams = {line.stream for line in lines_of(jobs["spot"])}
    assert 4 == len(streams)  # two hosts, two container starts
    traceback = [line.message for line in lines_of(jobs["failure"])][-4:]
    assert jobs["failure"][-1].failure_reason.splitlines() == traceback
    assert sum(len(fake.written_lines(name)) for name in names) == stats.logs.lines
    assert 0 == stats.logs.following


@pytest.mark.asyncio
async def test_the_stream_ends_only_once_the_last_job_is_drained(fake):
    """The fleet's stream does not end while an ended job's last lines are read."""
    fake.add_job("job", dataclasses.replace(failure(training=300), logs=HOSTS))
    items, _ = await run(fake, ["job"], settings=sw.CloudWatchLogs(drain=120.0))
    assert_all_lines_then_the_end(fake, "job", items)


@pytest.mark.asyncio
async def test_one_budget_for_every_jobs_log_calls(fake):
    """Ten jobs stay within the settings' read and list rates, in all."""
    names = [f"job-{i}" for i in range(10)]
    for name in names:
        fake.add_job(name, dataclasses.replace(plain(training=600), logs=HOSTS))
    started = fake.clock.monotonic()
    settings = sw.CloudWatchLogs(read_rate=2.0, list_rate=0.5)
    items, stats = await run(fake, names, settings=settings)
    elapsed = fake.clock.monotonic() - started
    jobs = by_job(items)
    for name in names:
        assert written(fake, name) == sorted(map(key, lines_of(jobs[name])))
    reads = fake.request_count("GetLogEvents")
    assert reads <= 2.0 * elapsed + 2, (reads, elapsed)
    assert fake.request_count("DescribeLogStreams") <= 0.5 * elapsed + 2
    assert reads + fake.request_count("DescribeLogStreams") == stats.logs.calls
    assert {"GetLogEvents": 2.0, "DescribeLogStreams": 0.5} == dict(stats.logs.rates)


@pytest.mark.asyncio
async def test_log_calls_never_hold_up_the_describes(fake):
    """With a starved log budget, status events come as they would without logs."""
    names = add_jobs(fake, lifecycles={"plain": LIFECYCLES["plain"]})
    async with (
        fake.client() as client,
        sw.FleetWatcher(client=client, clock=fake.clock, seed=3) as fleet,
    ):
        fleet.add("plain")
        plain_events = [event async for event in fleet]
    async with FakeSageMaker(clock=ManualClock(), seed=11) as again:
        add_jobs(again, lifecycles={"plain": LIFECYCLES["plain"]})
        slow = sw.CloudWatchLogs(read_rate=0.05, list_rate=0.05)
        items, _ = await run(again, names, settings=slow)
    events = [item for item in items if isinstance(item, sw.Event)]
    running = [e.at for e in events if not isinstance(e, sw.JobEnded)]
    assert [e.at for e in plain_events if not isinstance(e, sw.JobEnded)] == running
    assert isinstance(items[-1], sw.JobEnded)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([Fault.logs_throttle(probability=0.3)], id="throttled"),
        pytest.param([Fault.logs_server_error(probability=0.3)], id="5xx"),
    ],
)
async def test_throttles_and_5xx_on_logs_are_ridden_out(fake, faults):
    """Throttled and failing log calls: every line of every job still comes once."""
    names = add_jobs(fake)
    fake.inject(*faults)
    items, stats = await run(fake, names)
    jobs = by_job(items)
    for name in names:
        assert_all_lines_then_the_end(fake, name, jobs[name], in_order=False)
    assert stats.logs.throttles or stats.logs.errors
    assert 0 == stats.logs.stopped


@pytest.mark.asyncio
async def test_a_removed_job_makes_no_more_log_calls(fake):
    """Removing a job stops its follower; the other job's lines all come."""
    fake.add_job("gone", dataclasses.replace(plain(training=3600), logs=HOSTS))
    fake.add_job("kept", dataclasses.replace(plain(training=900), logs=HOSTS))
    kept = []
    async with fake.client() as client, fake.logs_client() as logs_client:
        settings = sw.CloudWatchLogs(client=logs_client)
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, seed=3, logs=settings
        ) as fleet:
            fleet.add("gone")
            fleet.add("kept")
            async for item in fleet:
                if item.job_name == "kept":
                    kept.append(item)
                elif isinstance(item, sw.LogLine) and "gone" in fleet:
                    fleet.remove("gone")
                    calls = fake.request_count(job_name="gone") - fake.request_count(
                        "DescribeTrainingJob", "gone"
                    )
            assert fleet.logs_resume_token("gone") is None
    after = fake.request_count(job_name="gone") - fake.request_count(
        "DescribeTrainingJob", "gone"
    )
    assert after <= calls + 1  # at most the call in flight
    assert_all_lines_then_the_end(fake, "kept", kept)


@pytest.mark.asyncio
async def test_a_lost_job_stops_its_logs_and_not_the_others(fake):
    """A job the fleet loses: its follower stops, the other jobs' lines all come."""
    names = add_jobs(fake)
    fake.add_job("lost", dataclasses.replace(plain(training=3600), logs=HOSTS))
    fake.inject(
        Fault.error(
            "AccessDeniedException",
            "User is not authorized",
            operation="DescribeTrainingJob",
            job_name="lost",
        )
    )
    items, stats = await run(fake, [*names, "lost"])
    jobs = by_job(items)
    for name in names:
        assert_all_lines_then_the_end(fake, name, jobs[name])
    assert isinstance(jobs["lost"][-1], sw.JobLost)
    assert 1 == stats.lost
    assert 0 == fake.request_count("GetLogEvents", "lost")


@pytest.mark.asyncio
async def test_logs_refused_for_one_job_leave_its_events_and_the_others(fake):
    """AccessDenied on one job's logs: a warning; its events and others' lines go on."""
    names = add_jobs(fake)
    fake.inject(
        Fault.error(
            "AccessDeniedException",
            f"User is not authorized {CANARY}",
            job_name="plain",
            service="logs",
        )
    )
    errors = {}
    with capture_logs() as logs:
        items, stats = await run(fake, names, errors=errors)
    assert isinstance(errors.pop("plain"), sw.AccessDenied)
    assert {"failure": None, "spot": None} == errors
    jobs = by_job(items)
    for name in set(names) - {"plain"}:
        assert_all_lines_then_the_end(fake, name, jobs[name])
    assert not lines_of(jobs["plain"])
    assert isinstance(jobs["plain"][-1], sw.JobCompleted)
    assert 1 == stats.logs.stopped
    stopped = [e for e in logs if e.get("follower") == "stopped"]
    assert [("plain", "warning")] == [(e["job_name"], e["log_level"]) for e in stopped]
    assert not [entry for entry in logs if CANARY in repr(entry)]


@pytest.mark.asyncio
async def test_no_log_line_reaches_the_librarys_own_logs(fake):
    """A secret in a line goes to the stream only, never to the library's logger."""
    fake.add_job(
        "job", failure(training=300, failure_reason=f"AlgorithmError: {CANARY}")
    )
    fake.add_job("other", dataclasses.replace(plain(training=300), logs=HOSTS))
    fake.inject(Fault.logs_server_error(probability=0.3))
    with capture_logs() as logs:
        items, _ = await run(fake, ["job", "other"])
    assert any(CANARY in line.message for line in lines_of(items))
    assert logs
    assert not [entry for entry in logs if CANARY in repr(entry)]


@pytest.mark.asyncio
async def test_resume_per_job_hands_out_exactly_the_lines_that_followed(fake):
    """A fleet given each job's tokens hands out exactly the rest of its lines."""
    names = add_jobs(fake)
    head = collections.defaultdict(list)
    async with fake.client() as client, fake.logs_client() as logs_client:
        settings = sw.CloudWatchLogs(client=logs_client)
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, seed=3, logs=settings
        ) as fleet:
            for name in names:
                fleet.add(name)
            async for item in fleet:
                head[item.job_name].append(item)
                if len(lines_of(head["spot"])) == 30:
                    break
            tokens = {
                name: (
                    [e for e in head[name] if isinstance(e, sw.Event)][-1].resume_token
                    if any(isinstance(e, sw.Event) for e in head[name])
                    else None,
                    fleet.logs_resume_token(name),
                )
                for name in names
            }
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, seed=3, logs=settings
        ) as fleet:
            for name, (resume, logs_resume) in tokens.items():
                fleet.add(name, resume=resume, logs_resume=logs_resume)
            tail = by_job([item async for item in fleet])
    for name in names:
        lines = lines_of(head[name]) + lines_of(tail[name])
        assert written(fake, name) == sorted(map(key, lines))
        events = [e for e in head[name] + tail[name] if isinstance(e, sw.Event)]
        assert 1 == sum(isinstance(e, sw.JobEnded) for e in events)
        assert isinstance(tail[name][-1], sw.JobEnded)


@pytest.mark.asyncio
async def test_the_fleet_opens_its_own_logs_client_from_the_environment(
    fake, monkeypatch
):
    """Without a logs client, entering the fleet opens one (closed on exit)."""
    for name, value in fake.environ().items():
        monkeypatch.setenv(name, value)
    fake.add_job("job", dataclasses.replace(plain(training=300), logs=HOSTS))
    async with sw.FleetWatcher(clock=fake.clock, logs=sw.CloudWatchLogs()) as fleet:
        fleet.add("job")
        items = [item async for item in fleet]
    assert_all_lines_then_the_end(fake, "job", items)


@pytest.mark.asyncio
async def test_without_logs_nothing_changes(fake):
    """A fleet without logs= makes no log call and has no log statistics."""
    fake.add_job("job", dataclasses.replace(plain(training=300), logs=HOSTS))
    async with (
        fake.client() as client,
        sw.FleetWatcher(client=client, clock=fake.clock) as fleet,
    ):
        fleet.add("job")
        items = [item async for item in fleet]
        assert fleet.statistics().logs is None
        assert fleet.logs_resume_token("job") is None
        with pytest.raises(sw.UsageError):
            fleet.add("other", logs_resume="x")
    assert all(isinstance(item, sw.Event) for item in items)
    assert 0 == fake.request_count("GetLogEvents")


def test_logs_need_the_stream():
    """logs= with stream=False is refused: lines come out through the stream."""
    with pytest.raises(ValueError, match="stream"):
        sw.FleetWatcher(logs=sw.CloudWatchLogs(), stream=False)


def test_a_bad_logs_resume_token_fails_at_once():
    """An unreadable or another job's logs token raises InvalidResumeToken on add."""
    fleet = sw.FleetWatcher(logs=sw.CloudWatchLogs())
    with pytest.raises(sw.InvalidResumeToken):
        fleet.add("job", logs_resume="garbage")
    assert "job" not in fleet


@pytest.mark.asyncio
async def test_a_job_added_again_while_its_logs_drain_keeps_its_end(fake):
    """Re-adding a job that ended, before its drain is over, loses no terminal event."""
    fake.add_job("job", dataclasses.replace(plain(training=300), logs=HOSTS))
    items = []
    async with fake.client() as client, fake.logs_client() as logs_client:
        settings = sw.CloudWatchLogs(client=logs_client, drain=60.0)
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, seed=3, logs=settings
        ) as fleet:
            fleet.add("job")
            added_again = False
            async for item in fleet:
                items.append(item)
                if not added_again and "job" not in fleet:
                    added_again = True
                    fleet.add("job")
    assert added_again
    assert 2 == sum(isinstance(item, sw.JobEnded) for item in items)
    assert isinstance(items[-1], sw.JobEnded)


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", [1])
async def test_a_jobs_end_comes_once_drained_not_at_its_next_listing(seed):
    """Once a job's last held lines are out, its end goes too (not 10 s later)."""
    async with FakeSageMaker(clock=ManualClock(), seed=seed) as fake:
        names = add_jobs(fake)
        # Quick reads and no extra drain: the end is handed out a listing, two
        # empty reads and a window after the describe that showed it, far
        # sooner than the next listing (10 s after the end's).
        settings = sw.CloudWatchLogs(window=2.0, active=1.0, drain=0.0)
        waits = {}
        async with (
            fake.client() as client,
            fake.logs_client() as logs_client,
            sw.FleetWatcher(
                client=client,
                clock=fake.clock,
                seed=seed,
                logs=dataclasses.replace(settings, client=logs_client),
            ) as fleet,
        ):
            for name in names:
                fleet.add(name)
            async for item in fleet:
                if isinstance(item, sw.JobEnded):
                    # From the describe that showed the end to its hand-out.
                    wait = fake.clock.now() - item.at
                    waits[item.job_name] = wait.total_seconds()
    bound = settings.window + 2 * settings.active + 1.0
    assert all(wait <= bound for wait in waits.values()), waits
