"""``sagemaker-watch logs`` and ``watch --logs``, as real processes against the fake.

The fake SageMaker writes each job's CloudWatch Logs and says what was written
(``written_lines``): what the command prints is compared with it. Timelines
are short and the fake runs 200 simulated seconds per real second.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re

import anyio
import pytest
import pytest_asyncio
from rich.console import Console

import sagemaker_watch as sw
from sagemaker_watch.cli._problems import logs_refused
from sagemaker_watch.cli._render import LiveRenderer
from sagemaker_watch.cli._text import safe
from sagemaker_watch.testing import (
    FakeSageMaker,
    Fault,
    LogScript,
    failure,
    plain,
    spot_interrupted_once,
    unknown_status,
)
from test_cli import FAST, child_env, run

#: Fast log reads for the child process, which sleeps in real time.
LOGS_FAST = (
    *("--log-poll", "0.1", "--log-window", "0.1"),
    *("--log-rate", "20", "--log-drain", "0"),
)
#: ``2024-05-06T09:37:59.006Z algo-1 | message``
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) \| (.*)$")
#: ``2024-05-06T09:37:59Z job job_observed ...``: an event's plain line.
LINE_EVENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S+ [a-z_]+( .*)?$")
#: A reason that clears the screen if printed raw; the traceback ends with it.
HOSTILE = "AlgorithmError: boom \x1b[2J\x1b]0;owned\x07 done"
LINE_KEYS = [
    "event",
    "job_name",
    "stream",
    "host",
    "timestamp",
    "ingested_at",
    "message",
]


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A fake SageMaker on compressed time (200 simulated seconds per second)."""
    async with FakeSageMaker(speed=200) as fake:
        yield fake


def hosts(timeline, **script):
    """*timeline* writing two hosts' lines every 5 s, in bursts of equal times."""
    logs = LogScript(hosts=2, burst=2, interval=5.0, **script)
    return dataclasses.replace(timeline, logs=logs)


def short_plain():
    """A completed job of 60 simulated seconds, two hosts writing."""
    return hosts(plain(starting=5, downloading=5, training=45, uploading=5))


def short_failure(reason=HOSTILE):
    """A failed job of 50 simulated seconds; its traceback ends with *reason*."""
    return hosts(failure(starting=5, downloading=5, training=40, failure_reason=reason))


def stamp(ms):
    """Epoch milliseconds as the CLI prints them."""
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def millis(iso):
    """An ISO 8601 time from JSON, as the plain output prints it."""
    moment = dt.datetime.fromisoformat(iso)
    return stamp(round(moment.timestamp() * 1000))


def host(stream):
    """``job/algo-1-1700000000`` -> ``algo-1``."""
    return stream.split("/", 1)[1].rsplit("-", 1)[0]


def expected(fake, name):
    """What the fake's hosts wrote, as (time, host, message), in the merge's order."""
    lines = sorted(
        fake.written_lines(name), key=lambda line: (line.timestamp, line.stream)
    )
    return [(stamp(line.timestamp), host(line.stream), line.message) for line in lines]


def printed(out):
    """The log lines of a plain output, as (time, host, message)."""
    return [
        match.groups() for line in out.splitlines() if (match := LOG_LINE.match(line))
    ]


async def ended(fake, name):
    """Wait (real time) until the fake says *name* has ended."""
    with anyio.fail_after(10):
        while True:
            async with fake.client() as client:
                answer = await client.describe_training_job(TrainingJobName=name)
            if answer["TrainingJobStatus"] in {"Completed", "Failed", "Stopped"}:
                return
            await anyio.sleep(0.1)


@pytest.mark.asyncio
async def test_logs_follow_prints_every_written_line_once_in_order(fake):
    """`logs --follow`: each line of both hosts once, in time order, then exit 0."""
    fake.add_job("job", short_plain())
    done = await run("logs", "job", "--follow", *FAST, *LOGS_FAST, env=child_env(fake))
    assert (0, "") == (done.code, done.err)
    assert expected(fake, "job") == printed(done.out)
    assert len(done.out.splitlines()) == len(printed(done.out))


@pytest.mark.asyncio
async def test_logs_json_of_an_ended_job_is_one_object_per_written_line(fake):
    """`logs --json` without --follow: an ended job's lines as JSON objects, exit 0."""
    fake.add_job("job", short_plain())
    await ended(fake, "job")
    done = await run("logs", "job", "--json", *FAST, *LOGS_FAST, env=child_env(fake))
    assert (0, "") == (done.code, done.err)
    objects = [json.loads(line) for line in done.out.splitlines()]
    assert {tuple(LINE_KEYS)} == {tuple(item) for item in objects}
    assert {"log_line"} == {item["event"] for item in objects}
    assert expected(fake, "job") == [
        (millis(item["timestamp"]), item["host"], item["message"]) for item in objects
    ]


@pytest.mark.asyncio
async def test_logs_of_a_failed_job_end_with_its_traceback_escaped_and_exit_1(fake):
    """A failed job's traceback comes last, its escape sequences shown, not sent."""
    fake.add_job("job", short_failure())
    done = await run("logs", "job", "--follow", *FAST, *LOGS_FAST, env=child_env(fake))
    assert 1 == done.code
    assert "\x1b" not in done.out + done.err
    assert "\x07" not in done.out + done.err
    last = printed(done.out)[-1]
    assert ("algo-1", r"AlgorithmError: boom \x1b[2J\x1b]0;owned\x07 done") == last[1:]
    assert len(expected(fake, "job")) == len(printed(done.out))


@pytest.mark.asyncio
async def test_watch_logs_puts_the_last_lines_right_before_the_failure_line(fake):
    """`watch --logs --plain`: events and lines, the traceback, then job_failed."""
    fake.add_job("job", short_failure())
    done = await run(
        "watch", "job", "--logs", "--plain", *FAST, *LOGS_FAST, env=child_env(fake)
    )
    assert 1 == done.code
    assert "\x1b" not in done.out + done.err
    lines = done.out.splitlines()
    assert " job job_failed Failed " in lines[-1]
    assert r"\u001b[2J" in lines[-1]
    tail = [message for _, _, message in printed("\n".join(lines[-4:-1]))]
    assert 3 == len(tail)
    assert tail[-1].endswith(r"boom \x1b[2J\x1b]0;owned\x07 done")
    assert " job job_observed " in lines[0]
    assert len(expected(fake, "job")) == len(printed(done.out))


@pytest.mark.asyncio
async def test_watch_logs_json_interleaves_events_and_verbatim_lines(fake):
    """`watch --logs --json`: JSON only, lines verbatim (escaped), the failure last."""
    fake.add_job("job", short_failure())
    done = await run(
        "watch", "job", "--logs", "--json", *FAST, *LOGS_FAST, env=child_env(fake)
    )
    assert 1 == done.code
    assert "\x1b" not in done.out
    objects = [json.loads(line) for line in done.out.splitlines()]
    assert "job_failed" == objects[-1]["event"]
    assert HOSTILE == objects[-1]["failure_reason"]
    assert "log_line" == objects[-2]["event"]
    assert objects[-2]["message"].endswith(HOSTILE)
    lines = [item for item in objects if item["event"] == "log_line"]
    assert [line.message for line in fake.written_lines("job")] == sorted(
        (item["message"] for item in lines),
        key=[line.message for line in fake.written_lines("job")].index,
    )
    assert len(fake.written_lines("job")) == len(lines)


#: What `logs JOB` without --follow says on stderr of a job still running.
SO_FAR = (
    "sagemaker-watch: job is still running ({status}): these are its lines so "
    "far; pass --follow to follow them until it ends"
)


def interrupted():
    """A spot job of two hosts writing, interrupted after 30 s for hours."""
    timeline = spot_interrupted_once(
        starting=5, downloading=5, training=20, interrupted=36000
    )
    return hosts(timeline)


async def ingested(fake, name, *, at_least=8, every=False):
    """Wait (real time) for *at_least* (or *every*) line of *name* to be ingested.

    Returns:
        The lines ingested by then, as (time, host, message), in merge order.
    """
    with anyio.fail_after(10):
        while True:
            now = round(fake.clock.now().timestamp() * 1000)
            written = fake.written_lines(name)
            lines = [line for line in written if line.ingestion_time <= now]
            if len(lines) >= at_least and (not every or len(lines) == len(written)):
                break
            await anyio.sleep(0.05)
    lines.sort(key=lambda line: (line.timestamp, line.stream))
    return [(stamp(line.timestamp), host(line.stream), line.message) for line in lines]


def in_order_once(shown, fake, name):
    """Whether *shown* holds lines *name* wrote, each once, in the merge's order."""
    kept = set(shown)
    return len(kept) == len(shown) and shown == [
        line for line in expected(fake, name) if line in kept
    ]


@pytest.mark.asyncio
async def test_logs_without_follow_on_a_running_job_prints_its_lines_so_far(fake):
    """A running job without --follow: every line so far, once, a note, exit 0."""
    fake.add_job("job", interrupted())
    so_far = await ingested(fake, "job", every=True)
    done = await run("logs", "job", *FAST, *LOGS_FAST, env=child_env(fake))
    assert 0 == done.code
    assert [SO_FAR.format(status="InProgress/Interrupted")] == done.err.splitlines()
    assert so_far == printed(done.out)
    assert len(done.out.splitlines()) == len(so_far)


@pytest.mark.asyncio
async def test_logs_json_without_follow_on_a_running_job_is_json_only(fake):
    """`logs --json` of a running job: an object per line so far, a note on stderr."""
    fake.add_job("job", interrupted())
    so_far = await ingested(fake, "job", every=True)
    done = await run("logs", "job", "--json", *FAST, *LOGS_FAST, env=child_env(fake))
    assert 0 == done.code
    assert [SO_FAR.format(status="InProgress/Interrupted")] == done.err.splitlines()
    objects = [json.loads(line) for line in done.out.splitlines()]
    assert {tuple(LINE_KEYS)} == {tuple(item) for item in objects}
    assert {"log_line"} == {item["event"] for item in objects}
    assert so_far == [
        (millis(item["timestamp"]), item["host"], item["message"]) for item in objects
    ]


@pytest_asyncio.fixture(name="slow")
async def _slow():
    """A fake SageMaker at 20 simulated seconds per second: lines come 1 s apart."""
    async with FakeSageMaker(speed=20) as fake:
        yield fake


def quiet_between(timeline):
    """*timeline* writing two hosts' lines every 20 s, so reads find the end."""
    return dataclasses.replace(timeline, logs=LogScript(hosts=2, burst=2))


@pytest.mark.asyncio
async def test_logs_without_follow_on_a_training_job_stops_at_its_lines_so_far(slow):
    """A job writing as it trains: the lines written before, each once, in order."""
    slow.add_job("job", quiet_between(plain(starting=5, downloading=5, training=36000)))
    before = await ingested(slow, "job", at_least=4)
    done = await run("logs", "job", *FAST, *LOGS_FAST, env=child_env(slow))
    assert 0 == done.code
    assert [SO_FAR.format(status="InProgress/Training")] == done.err.splitlines()
    shown = printed(done.out)
    assert len(done.out.splitlines()) == len(shown)
    assert set(before) <= set(shown)
    assert in_order_once(shown, slow, "job")


@pytest.mark.asyncio
async def test_logs_without_follow_escapes_a_running_job_s_status_in_its_note(slow):
    """A status of escape sequences is shown escaped in the note, not sent."""
    status = "Warming\x1b[2J\x1b]0;owned\x07"
    timeline = unknown_status(starting=5, unknown=36000, status=status)
    slow.add_job("job", quiet_between(timeline))
    await ingested(slow, "job", at_least=2)
    done = await run("logs", "job", *FAST, *LOGS_FAST, env=child_env(slow))
    assert 0 == done.code
    assert "\x1b" not in done.out + done.err
    assert "\x07" not in done.out + done.err
    shown = r"InProgress/Warming\x1b[2J\x1b]0;owned\x07"
    assert [SO_FAR.format(status=shown)] == done.err.splitlines()
    assert in_order_once(printed(done.out), slow, "job")


@pytest.mark.asyncio
async def test_logs_without_follow_of_a_failed_job_prints_all_and_exits_1(fake):
    """An ended failed job without --follow: every line, escaped, exit 1 as `wait`."""
    fake.add_job("job", short_failure())
    await ended(fake, "job")
    done = await run("logs", "job", *FAST, *LOGS_FAST, env=child_env(fake))
    assert (1, "") == (done.code, done.err)
    assert "\x1b" not in done.out
    assert [
        (at, where, safe(message)) for at, where, message in expected(fake, "job")
    ] == printed(done.out)
    assert printed(done.out)[-1][2].endswith(r"boom \x1b[2J\x1b]0;owned\x07 done")


#: ``2024-05-06T09:37:59.006Z job algo-1 | message``: a line of one of several jobs.
JOB_LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) \| (.*)$"
)


#: Fast log reads for several jobs, whose reads share one budget: lines read up
#: to half a second apart still come out in time order (the window).
SEVERAL = (*LOGS_FAST, "--log-window", "0.5")


def jobs_printed(out):
    """The log lines of several jobs' plain output, as (job, time, host, message)."""
    return [
        (match[2], match[1], match[3], match[4])
        for line in out.splitlines()
        if (match := JOB_LOG_LINE.match(line))
    ]


@pytest.mark.asyncio
async def test_watch_logs_of_several_jobs_prefixes_each_line_by_its_job(fake):
    """`watch A B --logs --plain`: both jobs' lines, each once, each job's end last."""
    fake.add_job("ok", hosts(plain(starting=5, downloading=5, training=500)))
    fake.add_job("bad", short_failure())
    done = await run(
        "watch",
        "ok",
        "bad",
        "--logs",
        "--plain",
        *FAST,
        *SEVERAL,
        env=child_env(fake),
    )
    assert 1 == done.code
    assert "\x1b" not in done.out + done.err
    lines = done.out.splitlines()
    shown = jobs_printed(done.out)
    assert len(lines) == len(shown) + len([x for x in lines if LINE_EVENT.match(x)])
    for name in ("ok", "bad"):
        assert [
            (at, where, safe(message)) for at, where, message in expected(fake, name)
        ] == [line[1:] for line in shown if line[0] == name]
        mine = [line for line in lines if line.split(" ", 2)[1] == name]
        assert JOB_LOG_LINE.match(mine[-2])
        assert re.search(rf"^\S+ {name} job_(completed|failed) ", mine[-1])


@pytest.mark.asyncio
async def test_watch_logs_json_of_several_jobs_names_each_line_s_job(fake):
    """`watch A B --logs --json`: each job's lines once, in order, before its end."""
    fake.add_job("ok", short_plain())
    fake.add_job("bad", short_failure())
    done = await run(
        "watch", "ok", "bad", "--logs", "--json", *FAST, *SEVERAL, env=child_env(fake)
    )
    assert 1 == done.code
    objects = [json.loads(line) for line in done.out.splitlines()]
    for name in ("ok", "bad"):
        mine = [item for item in objects if item["job_name"] == name]
        lines = [item for item in mine if item["event"] == "log_line"]
        assert {tuple(LINE_KEYS)} == {tuple(item) for item in lines}
        assert expected(fake, name) == [
            (millis(item["timestamp"]), item["host"], item["message"]) for item in lines
        ]
        assert mine[-1]["event"] in {"job_completed", "job_failed"}
        assert "log_line" == mine[-2]["event"]


@pytest.mark.asyncio
async def test_watch_logs_of_several_jobs_goes_on_without_a_refused_job_s_lines(fake):
    """AccessDenied on one job's logs: one line on stderr; both jobs watched on."""
    fake.add_job("ok", short_plain())
    fake.add_job("bad", short_failure())
    fake.inject(
        Fault.error(
            "AccessDeniedException",
            "User is not authorized",
            job_name="ok",
            service="logs",
        )
    )
    done = await run(
        "watch", "ok", "bad", "--logs", "--plain", *FAST, *SEVERAL, env=child_env(fake)
    )
    assert 1 == done.code
    shown = jobs_printed(done.out)
    assert [] == [line for line in shown if line[0] == "ok"]
    assert len(expected(fake, "bad")) == len([x for x in shown if x[0] == "bad"])
    events = [x for x in done.out.splitlines() if LINE_EVENT.match(x)]
    assert any(re.search(r"^\S+ ok job_completed ", x) for x in events)
    (line,) = done.err.splitlines()
    assert line.startswith(
        "sagemaker-watch: ok: training logs not read, watched without them: "
    )
    assert re.search(
        r"; the credentials need logs:(GetLogEvents|DescribeLogStreams)$", line
    )


@pytest.mark.asyncio
async def test_logs_of_a_job_that_does_not_exist_exit_4_with_one_line(fake):
    """`logs` of an unknown job: nothing on stdout, one line on stderr, exit 4."""
    done = await run("logs", "nope", "--grace", "0.3", *FAST, env=child_env(fake))
    assert (4, "") == (done.code, done.out)
    expected = (
        "sagemaker-watch: nope: no such training job in us-east-1; check "
        "the name, --region and --profile"
    )
    assert [expected] == done.err.splitlines()


def test_jobs_whose_logs_were_refused_alike_share_one_line():
    """Fifty jobs refused alike are one line; another refusal has its own."""
    refused = {
        "a": sw.AccessDenied(operation="GetLogEvents", job_name="a"),
        "b": sw.AccessDenied(operation="GetLogEvents", job_name="b"),
        "c": sw.AccessDenied(operation="DescribeLogStreams", job_name="c"),
    }
    said = "training logs not read, watched without them: access denied to"
    assert [
        f"a, b: {said} GetLogEvents; the credentials need logs:GetLogEvents",
        f"c: {said} DescribeLogStreams; the credentials need logs:DescribeLogStreams",
    ] == logs_refused(refused)


@pytest.mark.parametrize(
    ("jobs", "shown"),
    [
        (["job"], r"2024-05-06T09:37:59.006Z algo-1 | boom \x1b[2J"),
        (["job", "other"], r"2024-05-06T09:37:59.006Z job algo-1 | boom \x1b[2J"),
    ],
)
def test_the_live_view_names_a_line_s_job_when_it_shows_several(jobs, shown):
    """Above the live table a log line names its job only among several, escaped."""
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    at = dt.datetime(2024, 5, 6, 9, 37, 59, 6000, tzinfo=dt.UTC)
    line = sw.LogLine(
        job_name="job",
        stream="job/algo-1-1714988000",
        host="algo-1",
        timestamp=at,
        ingested_at=at,
        message="boom \x1b[2J",
    )
    view = LiveRenderer(console, jobs, now=lambda: at, err=io.StringIO())
    view.line(line)
    assert [shown] == console.file.getvalue().splitlines()
